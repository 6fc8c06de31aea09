"""The root of every error the tools package raises."""


class ToolsError(Exception):
    """Base class of the tools package's errors."""


class ToolNotFound(ToolsError):
    """A tool name that is not registered (or not enabled for the tenant)."""


class ToolExecutionError(ToolsError):
    """A system failure while running a tool (a backend down, a timeout): not the model's fault."""


class DeliveryError(ToolsError):
    """An outbound message could not be delivered after the retries allowed."""


class SignatureError(ToolsError):
    """A webhook signature is missing, malformed, stale or does not match."""
