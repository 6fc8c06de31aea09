"""Hypothesis strategies for the channel adapters' robustness properties: arbitrary JSON
values, and a fixture with random fields deleted or replaced by arbitrary values; and
``delivery_or_refusal``, the outcome those properties assert on."""

import copy
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from agent.channels.base import ChannelError, Delivery

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a dict entry or list item inside ``value``."""
    found: list[tuple[Any, ...]] = []
    if not isinstance(value, dict | list):
        return found
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, child in items:
        found.append((*prefix, key))
        found.extend(paths(child, (*prefix, key)))
    return found


@st.composite
def mutated(draw: st.DrawFn, fixture: Any) -> Any:
    """``fixture`` with one to three fields deleted or replaced by an arbitrary JSON value."""
    data = copy.deepcopy(fixture)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        candidates = paths(data)
        if not candidates:
            break
        path = draw(st.sampled_from(candidates))
        parent = data
        for key in path[:-1]:
            parent = parent[key]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(JSON_VALUES)
    return data


def delivery_or_refusal(accept: Callable[[], Delivery]) -> Delivery | ChannelError:
    """What an adapter made of a fuzzed delivery: the Delivery, or the ChannelError it raised
    (the 4xx the sender gets). Any other exception escapes: the 500 the property forbids."""
    try:
        return accept()
    except ChannelError as refusal:
        return refusal
