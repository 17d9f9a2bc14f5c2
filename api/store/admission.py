"""How a request waits for the database: one story, one deadline.

A request that uses the database waits at most once in four places, in this order,
all against one :class:`Deadline` (``PROLO_DB_WAIT_SECONDS``, 30 s) started by the
request's first wait (checking its API key, else its transaction). Whatever is left
of it is all the next place may wait, so the worst case is the deadline, not a sum of
timeouts; past it the answer is 503 with ``Retry-After`` and nothing of the request
is stored.

1. **A turn, on the event loop** (:class:`Admission`). At most ``slots`` requests use
   the database at once (the pool's steady size; its overflow serves health checks,
   dispatch passes and the day view's change watcher), and of those at most
   ``writers`` write: one on SQLite, which writes one at a time anyway, half the
   slots on PostgreSQL, so reads always get in. Writers and readers are let in in
   the order they came. Waiting here costs a coroutine, not a thread: waiting in
   worker threads, a burst of writes can take every thread while the one writer
   holding the lock needs a thread to release it (bench/README.md).
2. **The process's writer gate** (SQLite only, :func:`api.store.db.write_session`). Request
   writers come through one at a time already; the gate lines them up with this
   process's writers that take no turn (dispatch passes, the CLI), so the next
   writer starts the moment the last one commits, instead of polling in SQLite's
   busy handler.
3. **The database's own lock.** SQLite's write lock (``BEGIN IMMEDIATE``), shared
   with other processes such as the reminder cron, waits up to the remaining time
   (its ``busy_timeout``); on PostgreSQL, each row lock waits up to the remaining time
   (``lock_timeout``, set again before each one by the unit of work's locks, api/store/locks.py:
   :func:`api.store.db.before_waiting`).
4. **Row locks, in one order** (PostgreSQL; :meth:`api.store.locks.RowLocks.lock_for_change`):
   practitioner, patient, course, then the course's sessions. Every writer that
   plans or moves sessions takes them in this order, so two writers never deadlock
   and a booking that loses the race for a practitioner waits, then plans around
   the winner (R11).

A turn ends when the route has its answer, before the answer is sent: a client slow
to read holds up nobody. Every route's whole transaction runs in one worker-thread
hop (:mod:`api.web.transaction`), so a writer's turn is never held across trips through
a busy event loop.
"""

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from sqlalchemy import Engine
from sqlalchemy.pool import QueuePool

DEFAULT_SLOTS = 10
WAIT_SECONDS = 30.0  # the one deadline: how long a request may wait for the database, in all
_SPARE_THREADS = 8  # for routes that touch no database (healthz) and the overflow's users


class Deadline:
    """The instant by which a request must have its place at the database."""

    __slots__ = ("_at", "seconds")

    def __init__(self, seconds: float = WAIT_SECONDS) -> None:
        self.seconds = seconds
        self._at = time.monotonic() + seconds

    def remaining(self) -> float:
        """Seconds left, never below zero."""
        return max(0.0, self._at - time.monotonic())


class AdmissionTimeout(Exception):
    """The database was busy for longer than a request may wait."""

    def __init__(self, waited_seconds: float) -> None:
        super().__init__(f"no turn at the database within {waited_seconds:g} s")
        self.waited_seconds = waited_seconds


class Admission:
    """Turns at the database for one application (one event loop)."""

    def __init__(self, *, slots: int, writers: int) -> None:
        if not 1 <= writers <= slots:
            raise ValueError("need 1 <= writers <= slots")
        self.slots = slots
        self._slots = asyncio.Semaphore(slots)
        self._writers = asyncio.Semaphore(writers)

    @classmethod
    def for_engine(cls, engine: Engine) -> "Admission":
        """As many slots as the engine's pool keeps connections; one writer on SQLite."""
        pool = engine.pool
        slots = pool.size() if isinstance(pool, QueuePool) else DEFAULT_SLOTS
        writers = 1 if engine.dialect.name == "sqlite" else max(1, slots // 2)
        return cls(slots=slots, writers=writers)

    def fit_thread_limiter(self) -> None:
        """Let every admitted request have a worker thread (anyio's default is 40); call on the event loop."""
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = max(limiter.total_tokens, self.slots + _SPARE_THREADS)

    @asynccontextmanager
    async def read(self, deadline: Deadline) -> AsyncIterator[None]:
        """A turn to read."""
        async with self._turn(deadline, self._slots):
            yield

    @asynccontextmanager
    async def write(self, deadline: Deadline) -> AsyncIterator[None]:
        """A writer's turn: queue among writers first, so waiting writers never hold readers' slots."""
        async with self._turn(deadline, self._writers, self._slots):
            yield

    @asynccontextmanager
    async def _turn(self, deadline: Deadline, *semaphores: asyncio.Semaphore) -> AsyncIterator[None]:
        taken: list[asyncio.Semaphore] = []
        try:
            async with asyncio.timeout(deadline.remaining()):
                for semaphore in semaphores:
                    await semaphore.acquire()
                    taken.append(semaphore)
            yield
        except TimeoutError:
            if len(taken) == len(semaphores):
                raise  # not ours: raised by the request itself
            raise AdmissionTimeout(deadline.seconds) from None
        finally:
            for semaphore in reversed(taken):
                semaphore.release()
