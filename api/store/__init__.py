"""The store, below the use cases: the database, admission, the answer cache, the audit trail,
idempotency, the actors, secret tokens' hashes, the unit of work (audited writes, dry runs) with its
row locks (`locks.py`), and the store's errors. It imports neither `api.services` nor `api.web`."""
