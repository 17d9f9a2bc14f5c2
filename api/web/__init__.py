"""The HTTP side, above the use cases: the app, its dependencies, routes, problem details, the input
guard, logs, the transaction runner and ETags. It calls `api.services` and `api.store`; neither calls it."""
