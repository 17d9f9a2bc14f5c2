"""Admission: a request takes its turn at the database on the event loop, before it takes a thread or a connection.

Without it, a burst of writes on SQLite (80 patients registered at once, say) took every
worker thread to wait for the write lock, while the one writer holding it needed a thread
to finish: the server stalled for the 30 s lock timeout, then answered 500s as the
connection pool ran dry. Here, waiting costs a coroutine, not a thread: at most
`slots` requests use the database at once (the connection pool's steady size; its
overflow serves health checks, dispatch passes and the change watcher), and of those at
most `writers` write (one on SQLite, which writes one at a time anyway; half the slots on
PostgreSQL, so reads always get in). Writers are let in in the order they came, as are
readers. A request that waits longer than `wait_seconds` in all is answered 503 with
Retry-After, never left hanging. A turn ends when the route has its answer, before the
answer is sent: a client slow to read holds up nobody.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from sqlalchemy import Engine
from sqlalchemy.pool import QueuePool

DEFAULT_SLOTS = 10
WAIT_SECONDS = 30.0
_SPARE_THREADS = 8  # for routes that touch no database (healthz) and the overflow's users


class AdmissionTimeout(Exception):
    """The database was busy for longer than a request may wait for its turn."""

    def __init__(self, waited_seconds: float) -> None:
        super().__init__(f"no turn at the database within {waited_seconds:g} s")
        self.waited_seconds = waited_seconds


class Admission:
    """Turns at the database for one application (one event loop)."""

    def __init__(self, *, slots: int, writers: int, wait_seconds: float = WAIT_SECONDS) -> None:
        if not 1 <= writers <= slots:
            raise ValueError("need 1 <= writers <= slots")
        self.slots, self.writers, self.wait_seconds = slots, writers, wait_seconds
        self._slots = asyncio.Semaphore(slots)
        self._writers = asyncio.Semaphore(writers)

    @classmethod
    def for_engine(cls, engine: Engine, *, wait_seconds: float = WAIT_SECONDS) -> "Admission":
        """As many slots as the engine's pool keeps connections; one writer on SQLite."""
        pool = engine.pool
        slots = pool.size() if isinstance(pool, QueuePool) else DEFAULT_SLOTS
        writers = 1 if engine.dialect.name == "sqlite" else max(1, slots // 2)
        return cls(slots=slots, writers=writers, wait_seconds=wait_seconds)

    def fit_thread_limiter(self) -> None:
        """Let every admitted request have a worker thread (anyio's default is 40); call on the event loop."""
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = max(limiter.total_tokens, self.slots + _SPARE_THREADS)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[None]:
        """A turn to read."""
        async with self._turn(self._slots):
            yield

    @asynccontextmanager
    async def write(self) -> AsyncIterator[None]:
        """A writer's turn: queue among writers first, so waiting writers never hold readers' slots."""
        async with self._turn(self._writers, self._slots):
            yield

    @asynccontextmanager
    async def _turn(self, *semaphores: asyncio.Semaphore) -> AsyncIterator[None]:
        taken: list[asyncio.Semaphore] = []
        try:
            async with asyncio.timeout(self.wait_seconds):  # one deadline for the whole turn
                for semaphore in semaphores:
                    await semaphore.acquire()
                    taken.append(semaphore)
            yield
        except TimeoutError:
            if len(taken) == len(semaphores):
                raise  # not ours: raised by the request itself
            raise AdmissionTimeout(self.wait_seconds) from None
        finally:
            for semaphore in reversed(taken):
                semaphore.release()
