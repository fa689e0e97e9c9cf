"""The abuse suite: each class of hostile-tenant input or load has its own test file here, run on
every database under test (the `db_url` / `store` fixtures of tests/conftest.py). Cases that take
more than a few seconds carry the `slow` marker and are kept short."""
