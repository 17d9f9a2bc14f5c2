"""Use cases: the only code that touches both `models/` and `scheduling/`.

Each owns its transaction and commits once.
"""
