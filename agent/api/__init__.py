"""The FastAPI app: webhooks, the conversations API, health and metrics."""
