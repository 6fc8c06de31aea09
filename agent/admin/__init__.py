"""The operator admin's logic: plain async functions and classes over the stores, shared by
the admin API (agent/api/admin_*.py) and the web console."""
