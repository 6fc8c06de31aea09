"""``deskhand bench NAME``: each benchmark prints one JSON line (baseline in the same run)."""
