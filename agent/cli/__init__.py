"""The ``deskhand`` command line: one module per command group."""
