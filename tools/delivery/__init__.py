"""Outbound delivery of replies and hand-offs to the channel a conversation came from."""
