"""Tag arithmetic for platforms whose tags are a set and whose priority is a tag.

Intercom (2.x), Help Scout and Front have no writable priority field: the priority lives in
the tag ``priority_tag(p)`` (``supports_priority = False``), is read back from it, and a
new priority replaces the old priority tag.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from tools.ticketing.base import TicketPriority, priority_tag

_PRIORITY_TAGS = {priority_tag(p): p for p in TicketPriority}


@dataclass(frozen=True)
class TagChanges:
    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.add or self.remove)

    def result(self, current: Iterable[str]) -> tuple[str, ...]:
        """The tag set once applied, in a stable order (current first, then added)."""
        kept = [tag for tag in current if tag not in self.remove]
        return tuple(dict.fromkeys([*kept, *self.add]))


def tag_changes(
    current: Iterable[str],
    add: Iterable[str] = (),
    remove: Iterable[str] = (),
    priority: TicketPriority | None = None,
) -> TagChanges:
    """What to add and remove so the set has ``add`` (and the priority tag), not ``remove``.

    A tag both added and removed is removed; tags already in place are not sent again.
    """
    have = list(dict.fromkeys(current))
    wanted = [tag for tag in add if tag]
    unwanted = {tag for tag in remove if tag}
    if priority is not None:
        keep = priority_tag(priority)
        wanted.append(keep)
        unwanted |= {tag for tag in have if tag in _PRIORITY_TAGS and tag != keep}
    to_add = tuple(t for t in dict.fromkeys(wanted) if t not in have and t not in unwanted)
    to_remove = tuple(t for t in have if t in unwanted)
    return TagChanges(to_add, to_remove)


def priority_from_tags(tags: Iterable[str]) -> TicketPriority | None:
    found = [_PRIORITY_TAGS[tag] for tag in tags if tag in _PRIORITY_TAGS]
    return found[-1] if found else None
