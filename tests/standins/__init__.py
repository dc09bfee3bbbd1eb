"""Stand-ins and patches that only the tests use (the demo's live in pmdraft.sandbox)."""
