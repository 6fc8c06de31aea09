"""The root of every error raised by the agent package.

Errors that reach the web layer are mapped to HTTP codes in one place
(``agent.api.errors``); nothing else decides a status code.
"""


class DeskhandError(Exception):
    """Base class of every error the agent package raises on purpose."""


class ConfigError(DeskhandError):
    """Settings or a bot file are invalid; the message names the field and the file."""


class DependencyUnavailable(DeskhandError):
    """A configured dependency (Redis, Chroma, the model endpoint) cannot be reached."""
