"""Prolo's shell: the HTTP API, its use cases, the database and the `prolo` command."""
