"""The audit trail and the sync feed (SPEC S7).

Every change writes one event per row it changed, in the same transaction: who (the
API key, or the command line), what (the route's or command's action), which row,
and the row as it was before the transaction and as it is at its commit (a row a use
case touches in several steps is still one event). Nothing can forget it:

- rows changed through the ORM are recorded when the transaction flushes them
  (:func:`gather_flushed`, with their values before the flush);
- rows written with Core statements for speed (a booking's course and sessions,
  reminders, the dispatcher's results) are recorded by the unit of work's bulk
  writes, through :func:`record`.

The hooks are registered on Prolo's own sessionmaker (api/store/unit_of_work.py), the
only way use cases reach the database; no hook is registered on SQLAlchemy's classes.

Both gather the transaction's events; they are written just before it commits, and
forgotten if it rolls back.

Events are append-only: the database refuses to change or delete one (migration 0005).
Secrets (key and feed-URL hashes) never enter an event, nor a reminder's text and
address (its template and the patient's row make them), nor a patient's SMS text (its
row keeps it, for staff only: R34). Two writes are bookkeeping, not
changes anyone made, and write none: a dispatcher renewing the lease on what it holds,
and the minute an API key was last used. `before` and `after` hold
clinical data and never reach a log.

**The sync feed.** Front-desk software follows ``?after=CURSOR`` and must never miss an
event. On SQLite writers take turns (``BEGIN IMMEDIATE``), so ids grow in commit order and
the feed is read in id order (``txid`` is always 0 there). On PostgreSQL they do not: a
transaction that took id 7 may commit after one that took id 8, and a reader that had
seen 8 would skip 7 for ever. So each event also records the id of the transaction that
wrote it (``txid``), the feed is ordered by ``(txid, id)``,
and it only hands out events of transactions older than the reader's visibility
horizon ``pg_snapshot_xmin(pg_current_snapshot())``: every transaction below it has
ended, so no event can appear behind the cursor later. Events of transactions still
running wait for the next poll; a long transaction delays the feed, never breaks it.

**Cursors name their database.** A cursor is ``TXID.ID.TAG``: the last event handed out,
and a tag that hashes that event (its txid, id, instant and row) with the identity of
the database that gave it out: on PostgreSQL the cluster's system identifier, the
database's oid and the schema, none of which a ``pg_dump`` carries to the copy it is
restored into (SQLite has none: a file and its backup are the same database). Every
``after`` is checked against the event it names, one read by primary key. A cursor is
refused (``invalid_cursor``) when that event is not there (past the end, or a backup
restored from before it), is another event (ids given out again after an older backup
was restored), or the tag was made by another database (a dump restored elsewhere,
whose new transaction ids may lie below the cursor's). The follower then starts again
from the beginning, and never silently skips what the restored database writes. A
cursor of the earlier ``TXID.ID`` form names no database, so it is refused too (once,
after the upgrade); ``-1.0``, the beginning, is valid everywhere.
"""

import hashlib
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import cache
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, inspect, literal, literal_column, select, tuple_
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import UOWTransaction
from sqlmodel import SQLModel

from api.store.db import DbSession, insert_rows
from api.store.errors import InvalidCursor, KeyRevoked
from models import Actor, ApiKey, AuditEvent, AuditEventRead, AuditFeed, Role
from models.base import UTCDateTime, table_of

if TYPE_CHECKING:
    from api.store.unit_of_work import UnitOfWork

_AUDIT = table_of(AuditEvent)
_ACTOR, _ACTION, _NOW, _PENDING = "prolo_actor", "prolo_action", "prolo_now", "prolo_audit_pending"
WRITTEN = "prolo_audit_written"  # the events of the transaction committing, for what must know them once it has
# What the trail leaves out on purpose, listed once (tests/system/test_audit_complete.py reads it).
# Tables: the trail itself, stored answers to retries (their effects are recorded), and the links' secret.
UNAUDITED_TABLES = frozenset({"audit_event", "idempotency_record", "link_secret"})
# Columns no event holds: "*" in every table, the others in theirs. Secrets (the hashes of keys and
# feed URLs); a reminder's text and address, which its template and the patient's row make (a booking
# plans three dozen reminders: their texts would be most of its trail); and bookkeeping nobody changes
# by hand: a dispatcher's lease on what it is sending, the minute a key was last used.
NOT_RECORDED: dict[str, frozenset[str]] = {
    "*": frozenset({"key_hash", "token_hash"}),
    "reminder": frozenset({"body", "subject", "to_address", "lease_until", "leased_by"}),
    "inbound_message": frozenset({"body"}),  # a patient's own words: read where they are kept (R34), not copied
    "api_key": frozenset({"last_used_at"}),
}


def not_recorded(table: str) -> frozenset[str]:
    """The columns of `table` that no event records."""
    return NOT_RECORDED["*"] | NOT_RECORDED.get(table, frozenset())


_LEFT_OUT = {table: not_recorded(table) for table in NOT_RECORDED}


def begin(db: DbSession, *, actor: Actor, action: str, now: datetime | None = None) -> None:
    """Say who is changing things in this transaction, why (the route's or the command's action) and when."""
    db.info[_ACTOR] = actor
    db.info[_ACTION] = action
    if now is not None:
        db.info[_NOW] = now


_KEY_ROLES = frozenset(Role)


def key_still_valid(db: DbSession, actor: Actor) -> None:
    """S4: a change made with an API key checks, in its own transaction, that no process revoked the key
    since this one last checked it (its key cache serves reads only): one read by primary key."""
    if actor.id is None or actor.role not in _KEY_ROLES:
        return
    key = table_of(ApiKey).c
    if db.execute(select(key.id).where(key.id == actor.id, key.revoked_at.is_(None))).first() is None:
        raise KeyRevoked(actor.id)


def snapshot(table: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """A row's columns for an event, what is left out left out; the engine's JSON writer turns ids,
    instants and states into text as the API writes them (api/store/db.py), instants in UTC as the
    database keeps them (a use case may hand one over in the clinic's zone)."""
    left_out = _LEFT_OUT.get(table) or _LEFT_OUT["*"]
    values = {name: value for name, value in row.items() if name not in left_out}
    for name in _instants(table):
        value = values.get(name)
        if value is not None and value.utcoffset():
            values[name] = value.astimezone(UTC)
    return values


@cache
def _instants(table: str) -> tuple[str, ...]:
    """The table's instant columns."""
    found = SQLModel.metadata.tables.get(table)
    return tuple(str(c.name) for c in found.c if isinstance(c.type, UTCDateTime)) if found is not None else ()


def record(
    db: DbSession,
    entity_type: str,
    changes: Iterable[tuple[Any, Mapping[str, Any] | None, Mapping[str, Any] | None]],
) -> None:
    """Events for rows written with Core statements: (entity id, before, after) each; one INSERT for all."""
    pending = _pending(db)
    action = db.info.get(_ACTION, "change")
    for entity_id, before, after in changes:
        _gather(
            pending,
            entity_type,
            str(entity_id),
            None if before is None else snapshot(entity_type, before),
            None if after is None else snapshot(entity_type, after),
            action,
        )


def record_made(db: DbSession, entity_type: str, rows: Sequence[Mapping[str, Any]], same: Mapping[str, Any]) -> None:
    """Events for the rows one bulk INSERT made, keyed by their `id`: each row's own values (every row has the
    first one's columns, as the INSERT does) and `same`'s, which every row shares and are made ready once."""
    if not rows:
        return
    left_out = _LEFT_OUT.get(entity_type) or _LEFT_OUT["*"]
    names = tuple(name for name in rows[0] if name not in left_out and name not in same)
    shared = snapshot(entity_type, same)
    instants = [name for name in names if name in _instants(entity_type)]
    take = itemgetter(*names)
    one = len(names) == 1
    pending = _pending(db)
    action = db.info.get(_ACTION, "change")
    for row in rows:
        after = {names[0]: take(row)} if one else dict(zip(names, take(row), strict=True))
        for name in instants:
            value = after[name]
            if value is not None and value.utcoffset():
                after[name] = value.astimezone(UTC)
        after.update(shared)
        _gather(pending, entity_type, str(row["id"]), None, after, action)


def _pending(db: OrmSession) -> dict[tuple[str, str], dict[str, Any]]:
    """The transaction's events so far, by row."""
    pending: dict[tuple[str, str], dict[str, Any]] = db.info.setdefault(_PENDING, {})
    return pending


def _gather(
    pending: dict[tuple[str, str], dict[str, Any]],
    entity_type: str,
    entity_id: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    action: str,
) -> None:
    """Add a row's change to the transaction's events: its first `before` stays, its latest `after` wins."""
    known = pending.get((entity_type, entity_id))
    if known is None:
        pending[(entity_type, entity_id)] = {
            "entity_type": entity_type,
            "entity_id": entity_id,
            "before": before,
            "after": after,
            "action": action,
        }
    elif known["after"] is not None and after is not None and before is not None:
        known["after"] = {**known["after"], **after}  # a partial change (the dispatcher's) adds to what was known
    else:
        known["after"] = after


def write_gathered(db: OrmSession) -> None:
    """The transaction's events, written in it just before it commits (one INSERT).

    SQLAlchemy calls this before commit's own final flush: flush here first, so a change
    still pending in the session is gathered too, not stored without its event.
    """
    db.flush()
    pending: dict[tuple[str, str], dict[str, Any]] = db.info.pop(_PENDING, {})
    written = db.info[WRITTEN] = [e for e in pending.values() if e["before"] != e["after"]]
    _insert(db, written)


def forget_gathered(db: OrmSession, previous: Any) -> None:
    """The transaction rolled back: nothing of it was stored, nor are its events.

    Only the outermost transaction's end forgets them. Prolo's use cases open no savepoints;
    one that did would have to forget the events of what it rolled back itself.
    """
    if previous.parent is None:
        db.info.pop(_PENDING, None)
        db.info.pop(WRITTEN, None)


# PostgreSQL: the writing transaction's id, for the feed's visibility horizon (module docstring).
_TXID = {"postgresql": "pg_current_xact_id()::text::bigint", "sqlite": "0"}


def _insert(db: OrmSession, events: list[dict[str, Any]]) -> None:
    if not events:
        return
    actor: Actor | None = db.info.get(_ACTOR)
    if actor is None:  # never "someone": a change nobody claimed is not stored
        raise RuntimeError("changes made in a transaction that names no actor (api/store/unit_of_work.py)")
    connection = db.connection()
    common = {
        "at": db.info.get(_NOW) or datetime.now(UTC),
        "actor_id": actor.id,
        "actor_name": actor.name,
        "actor_role": actor.role,
    }
    insert_rows(connection, _AUDIT, events, same=common, sql={"txid": _TXID[connection.dialect.name]})


def _columns(state: Any) -> dict[str, Any]:
    return {column.key: state.attrs[column.key].value for column in state.mapper.column_attrs}


def _before(state: Any) -> dict[str, Any]:
    values = {}
    for column in state.mapper.column_attrs:
        history = state.attrs[column.key].history
        values[column.key] = history.deleted[0] if history.deleted else state.attrs[column.key].value
    return values


def gather_flushed(db: OrmSession, _flush: UOWTransaction) -> None:
    """Gather a change for every row this flush inserted, changed or deleted (the values before it are
    still readable here)."""
    for kind, rows in (("new", db.new), ("dirty", db.dirty), ("deleted", db.deleted)):
        for row in rows:
            state = inspect(row)
            table = _entity(state.mapper)
            if table is None or table in UNAUDITED_TABLES:
                continue
            if kind == "dirty" and not any(state.attrs[c.key].history.has_changes() for c in state.mapper.column_attrs):
                continue  # touched, not changed
            before = None if kind == "new" else snapshot(table, _before(state))
            after = None if kind == "deleted" else snapshot(table, _columns(state))
            key = state.identity[0] if state.identity else _columns(state).get(_key(state.mapper))
            _gather(_pending(db), table, str(key), before, after, db.info.get(_ACTION, "change"))


@cache
def _key(mapper: Any) -> str:
    """The column a mapped table's events name their row by: its primary key (`id`, or an opt-out's number)."""
    [column] = mapper.primary_key
    return str(column.key)


@cache
def _entity(mapper: Any) -> str | None:
    """A mapped table's name as events name it: plain text (a column-name type sqlite3 would probe per event)."""
    name = getattr(mapper.local_table, "name", None)
    return None if name is None else str(name)


def _event_read(row: AuditEvent) -> AuditEventRead:
    assert row.id is not None  # stored
    return AuditEventRead(
        id=row.id,
        at=row.at,
        actor=Actor(id=row.actor_id, name=row.actor_name, role=row.actor_role),
        action=row.action,
        entity_type=row.entity_type,
        entity_id=row.entity_id,
        before=row.before,
        after=row.after,
    )


_START = "-1.0"  # before every event: where a reader with no cursor starts, in any database
_NOT_A_CURSOR = "not a cursor this version of the feed gives out (next_cursor): start again without `after`"
_NOT_HERE = (
    "this database did not give out that cursor (it names no event here, another event, or another "
    "database: restored from a backup, or past the end): start again without `after`"
)
# PostgreSQL: what tells this database from a copy restored from its dump (module docstring)
_IDENTITY_SQL = (
    "SELECT (SELECT system_identifier FROM pg_control_system())::text || '/' || "
    "(SELECT oid FROM pg_database WHERE datname = current_database())::text || '/' || current_schema()"
)
_IDENTITY = "prolo_feed_identity"  # cached per connection: a connection never moves to another database


def _identity(db: DbSession) -> str:
    connection = db.connection()
    if connection.dialect.name != "postgresql":
        return ""
    identity: str | None = connection.info.get(_IDENTITY)
    if identity is None:
        identity = connection.info[_IDENTITY] = str(connection.exec_driver_sql(_IDENTITY_SQL).scalar_one())
    return identity


def _tag(identity: str, txid: int, event_id: int, at: datetime, entity_type: str, entity_id: str) -> str:
    named = "\x1f".join((identity, str(txid), str(event_id), at.astimezone(UTC).isoformat(), entity_type, entity_id))
    return hashlib.sha256(named.encode()).hexdigest()[:16]


def _cursor_of(row: AuditEvent, identity: str) -> str:
    assert row.id is not None  # stored
    return f"{row.txid}.{row.id}.{_tag(identity, row.txid, row.id, row.at, row.entity_type, row.entity_id)}"


def _position(db: DbSession, text: str, identity: str) -> tuple[int, int]:
    """Where a cursor points, (txid, id), once it is known to be one this database gave out (module docstring)."""
    if text == _START:
        return -1, 0
    try:
        txid_text, id_text, tag = text.split(".")
        txid, event_id = int(txid_text), int(id_text)
    except ValueError:
        raise InvalidCursor(_NOT_A_CURSOR, malformed=True) from None
    c = _AUDIT.c
    named = db.execute(select(c.txid, c.at, c.entity_type, c.entity_id).where(c.id == event_id)).first()
    if named is None or named.txid != txid or tag != _tag(identity, txid, event_id, *named[1:]):
        raise InvalidCursor(_NOT_HERE, malformed=False)
    return txid, event_id


def events(
    uow: "UnitOfWork",
    *,
    after: str | None,
    limit: int,
    entity_type: str | None = None,
    entity_id: str | None = None,
    actor: str | None = None,
    from_at: datetime | None = None,
    to_at: datetime | None = None,
) -> AuditFeed:
    """Events after the cursor, oldest first, filtered; only those no running transaction can precede."""
    db = uow.store_session
    dialect = db.connection().dialect.name
    identity = _identity(db)
    txid, event_id = _position(db, after or _START, identity)
    c = _AUDIT.c
    if dialect == "postgresql":
        query = select(AuditEvent).where(
            # a row comparison: where the (txid, id) index starts reading, not a filter over all before it
            tuple_(c.txid, c.id) > tuple_(literal(txid, BigInteger), literal(event_id, BigInteger)),
            c.txid < literal_column("pg_snapshot_xmin(pg_current_snapshot())::text::bigint", BigInteger),
        )
        order: tuple[Any, ...] = (c.txid, c.id)
    else:  # every txid is 0: id order is the feed's order, read along the table itself (migration 0006)
        query = select(AuditEvent).where(c.id > event_id)
        order = (c.id,)
    if entity_type is not None:
        query = query.where(c.entity_type == entity_type)
    if entity_id is not None:
        query = query.where(c.entity_id == entity_id)
    if actor is not None:
        query = query.where(_actor_matches(actor))
    if from_at is not None:
        query = query.where(c.at >= from_at)
    if to_at is not None:
        query = query.where(c.at < to_at)
    rows = list(db.execute(query.order_by(*order).limit(limit)).scalars())
    next_cursor = _cursor_of(rows[-1], identity) if rows else (after or _START)
    return AuditFeed(items=[_event_read(r) for r in rows], next_cursor=next_cursor, limit=limit)


def _actor_matches(actor: str) -> Any:
    """An API key's id, or an actor's name (a key's name, or the command line's)."""
    try:
        return _AUDIT.c.actor_id == uuid.UUID(actor)
    except ValueError:
        return _AUDIT.c.actor_name == actor
