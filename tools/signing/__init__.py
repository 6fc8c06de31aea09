"""Webhook signature schemes, shared by inbound verification and outbound signing."""
