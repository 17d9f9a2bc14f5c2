"""The store, below the use cases: the database, admission, the answer cache, the audit trail,
idempotency, the actors, secret tokens' hashes, the unit of work (row locks, audited writes, dry
runs) and the store's errors. It imports neither `api.services` nor `api.web`."""
