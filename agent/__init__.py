"""deskhand's agent: the graph, the web app, the runtime and the CLI."""

__version__ = "0.1.0"
