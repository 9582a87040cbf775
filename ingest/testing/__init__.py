"""Stand-ins the tests and benchmarks both start (not used by the service itself)."""
