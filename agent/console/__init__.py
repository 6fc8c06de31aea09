"""The operator's web console at /admin: server-rendered pages over the /admin/v1 API."""
