"""Helpers shared by the test suites: a throwaway Redis, servers on real ports."""
