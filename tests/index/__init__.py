"""The engine's tests (a package: its test_meaning.py and tests/test_meaning.py both load)."""
