"""Answers that stay valid until the database changes, and a cheap way to know when it has.

The day view is polled all day by every front-desk screen, and between two polls
nothing has usually changed. A change token is read before each answer: on SQLite
`PRAGMA data_version` on a connection of its own (it moves whenever any other
connection, in any process, commits); on PostgreSQL the text of
`pg_current_snapshot()` (it moves with every transaction that begins writing or
ends). An answer is served from memory only while the token it was made under
still holds, so no poll ever sees data older than its own request. The token is
read before the answer is computed: a change in between makes the next poll miss.
"""

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from sqlalchemy import Engine


class ChangeToken:
    """Reads the database's change token (one tiny query, no table touched)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._watcher: Any = None  # SQLite: a connection that never writes, so it sees every commit

    def read(self) -> str:
        if self._engine.dialect.name == "sqlite":
            with self._lock:
                if self._watcher is None:
                    self._watcher = self._engine.raw_connection()
                return str(self._watcher.cursor().execute("PRAGMA data_version").fetchone()[0])
        with self._engine.connect() as connection:
            return str(connection.exec_driver_sql("SELECT pg_current_snapshot()::text").scalar_one())

    def close(self) -> None:
        with self._lock:
            if self._watcher is not None:
                self._watcher.close()
                self._watcher = None


class AnswerCache:
    """The last answers by request, each kept with the change token it was made under."""

    def __init__(self, token: ChangeToken, size: int = 512) -> None:
        self._token = token
        self._size = size
        self._answers: OrderedDict[Hashable, tuple[str, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], bytes]) -> bytes:
        token = self._token.read()
        with self._lock:
            hit = self._answers.get(key)
            if hit is not None and hit[0] == token:
                self._answers.move_to_end(key)
                return hit[1]
        answer = compute()
        with self._lock:
            self._answers[key] = (token, answer)
            self._answers.move_to_end(key)
            while len(self._answers) > self._size:
                self._answers.popitem(last=False)
        return answer
