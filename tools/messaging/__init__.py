"""Outbound clients for messaging platforms that are not ticketing backends (Sunshine
Conversations): they send the bot's replies and hand-offs, nothing else."""
