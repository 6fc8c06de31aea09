"""A logging filter that redacts personal data before a record is formatted.

Attach it to the handler (``handler.addFilter(PiiRedactingFilter())``), not to a
logger: a logger's filters do not see records propagated from its children. It
rewrites the record's message (arguments merged in, so ``record.args`` is emptied)
and the string values of its extra fields, also inside dicts, lists and tuples,
which ``agent.logs.JsonFormatter`` writes out as JSON. New containers replace the
caller's; nothing the caller passed is modified. Exception tracebacks are left as
they are.
"""

import logging

from agent.safety.pii import redact, redact_nested

_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
}
_MAX_DEPTH = 4


class PiiRedactingFilter(logging.Filter):
    """Redact e-mails, phones, cards, IBANs and national ids in each record; never drops one."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a bad format string: leave it for the handler to report
            message = None
        if message is not None:
            record.msg, record.args = redact(message), ()
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD and not key.startswith("_"):
                setattr(record, key, redact_nested(value, _MAX_DEPTH))
        return True
