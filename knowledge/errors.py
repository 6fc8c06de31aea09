"""Errors of the knowledge package. Chroma and model errors are translated at the boundary."""


class KnowledgeError(Exception):
    """Base class of every error the knowledge package raises on purpose."""


class KnowledgeUnavailable(KnowledgeError):
    """The vector store cannot be opened or reached (bad path, server down, timeout)."""


class IngestError(KnowledgeError):
    """Documents cannot be ingested as asked (missing path, invalid tenant, bad input)."""
