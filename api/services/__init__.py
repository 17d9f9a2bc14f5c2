"""Use cases: the only code that touches both `models/` and `scheduling/`.

Each is a keyword-only function that gets a unit of work (api/store/unit_of_work.py) and
reads, locks and changes the database only through it; whoever opened the unit (the HTTP
runner, the command line, a dispatch pass) commits it once, or rolls a dry run back.
Use cases never import the HTTP side (tests/test_architecture.py).
"""
