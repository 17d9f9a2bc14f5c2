"""A burst of writes and reads at a running server: each waits its turn at the database, none fails.

Before requests took their turn on the event loop (api/store/admission.py), 80 registrations at once
on SQLite took every worker thread to wait for the write lock while the writer holding it needed
a thread to finish: after a 30 s stall, half the answers were 500 (connection pool exhausted)
or 503 (lock timeout).
"""

from collections import Counter
from typing import Any

from tests.system.conftest import LiveApi

BURST = 80


def test_a_burst_of_registrations_and_searches_is_answered_in_full(live_api: LiveApi) -> None:
    writes = [
        (
            "POST",
            "/v1/patients",
            {"mrn": f"BURST-{n:03d}", "given_name": "Maria", "family_name": "Keller", "date_of_birth": "1971-04-09"},
        )
        for n in range(BURST)
    ]
    reads: list[tuple[str, str, dict[str, Any]]] = [("GET", "/v1/patients?q=Keller", {}) for _ in range(BURST)]
    answers = live_api.race([request for pair in zip(writes, reads, strict=True) for request in pair])

    statuses = Counter((answer.request.method, answer.status_code) for answer in answers)
    assert statuses == {("POST", 201): BURST, ("GET", 200): BURST}, live_api.server.output()
    with live_api.client() as http:
        stored = http.get("/v1/patients", params={"q": "Keller", "limit": 500}).json()
    assert sorted(p["mrn"] for p in stored["items"]) == [f"BURST-{n:03d}" for n in range(BURST)]
