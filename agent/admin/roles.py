"""The admin roles, ordered: a role may do everything the roles below it may."""

from enum import IntEnum


class Role(IntEnum):
    """Ordered: a role may do everything the roles below it may."""

    VIEWER = 1  # read
    OPERATOR = 2  # act on conversations
    ADMIN = 3  # configuration, knowledge base, tokens

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value: str) -> "Role":
        try:
            return cls[value.upper()]
        except KeyError:
            names = ", ".join(role.label for role in cls)
            raise ValueError(f"unknown role {value!r}; one of {names}") from None
