"""Ticketing: one interface (``TicketingBackend``), the built-in store and a client per helpdesk.

The helpdesk clients are also what the channels use to post replies and hand off.
"""
