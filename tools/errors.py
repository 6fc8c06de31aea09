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


class TicketingError(ToolsError):
    """Base class of ticketing errors (the built-in store and every helpdesk client)."""


class TicketNotFound(TicketingError):
    """The ticket or conversation does not exist (or is not visible to these credentials)."""


class HelpdeskAuthError(TicketingError):
    """The helpdesk refused the credentials (401/403). Never retried; check the settings."""


class HelpdeskRejected(TicketingError):
    """The helpdesk refused the request as invalid or conflicting (409/422 and other 4xx)."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(f"helpdesk answered {status_code}: {message}")
        self.status_code = status_code


class HelpdeskUnavailable(TicketingError):
    """The helpdesk did not answer usefully after the retries allowed (5xx, 429, timeouts)."""


class HelpdeskResponseInvalid(TicketingError):
    """The helpdesk answered 2xx with a body that is not what its API documents."""


class HelpdeskConfigError(TicketingError):
    """Settings a ticketing backend cannot be built from (an unknown platform, a field
    missing, unknown or invalid). The message names the field, never a secret's value."""
