"""The store, below the use cases: the database, admission, the answer cache, the audit trail,
idempotency, row locks and the store's errors. It imports neither `api.services` nor `api.web`."""
