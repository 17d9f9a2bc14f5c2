"""The floor for bench/day_view.py: FastAPI answering the day view's bytes from memory. Never part of the product.

Served by uvicorn with exactly the flags of the real server; the body is the real
endpoint's answer, read once at start-up from the file named by PROLO_BENCH_BODY_FILE.
No database, no auth, no validation: what is left is the cost of uvicorn, Starlette
and FastAPI routing, which no day view can go below.
"""

import os
from pathlib import Path

from fastapi import FastAPI, Response

BODY = Path(os.environ["PROLO_BENCH_BODY_FILE"]).read_bytes()

app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    """Readiness, as the bench's server start polls it."""
    return {"status": "ok"}


@app.get("/v1/sessions")
async def day_view() -> Response:
    """The real day view's body, pre-serialised; the key header is sent but ignored."""
    return Response(BODY, media_type="application/json")
