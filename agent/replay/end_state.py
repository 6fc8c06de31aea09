"""The tool backends' state: seeded from a conversation's fixtures, compared at its end
(τ-bench style: the agent was right when the backend holds what it should)."""

from typing import Any

from agent.replay.expectations import Miss
from agent.replay.format import SHOP_COLLECTIONS, EndState, ShopFixture
from tools.demo_shop import ShopData, load_fixture


def shop_seed(fixture: ShopFixture) -> dict[str, Any]:
    """The demo shop's data for a conversation: the base, records upserted by id."""
    base = load_fixture().model_dump(mode="json") if fixture.base == "demo" else {}
    data: dict[str, Any] = {}
    for collection in SHOP_COLLECTIONS:
        records = {r["id"]: r for r in base.get(collection, [])}
        for record in getattr(fixture, collection):
            records[record.id] = record.model_dump(mode="json")
        data[collection] = list(records.values())
    return normalised(data)


def normalised(data: dict[str, Any]) -> dict[str, Any]:
    """As the shop's snapshot shows it: validated, records sorted by id."""
    shown = ShopData.model_validate(data).model_dump(mode="json")
    return {name: sorted(records, key=lambda r: r["id"]) for name, records in shown.items()}


def check_end_state(end: EndState, seeded: dict[str, Any], actual: dict[str, Any]) -> list[Miss]:
    misses = []
    for collection in SHOP_COLLECTIONS:
        now = actual.get(collection, [])
        if collection in end.shop:
            miss = _collection(collection, end.shop[collection], now)
        elif now != seeded.get(collection, []):
            miss = Miss(
                f"end_state.shop.{collection}",
                "unchanged",
                _changes(seeded.get(collection, []), now),
            )
        else:
            miss = None
        if miss is not None:
            misses.append(miss)
    return misses


def _collection(
    name: str, expected: list[dict[str, Any]], now: list[dict[str, Any]]
) -> Miss | None:
    where = f"end_state.shop.{name}"
    by_id = {record["id"]: record for record in now}
    wanted_ids = [str(record.get("id")) for record in expected]
    if sorted(wanted_ids) != sorted(by_id):
        return Miss(where, f"records {sorted(wanted_ids)}", f"records {sorted(by_id)}")
    for record in expected:
        held = by_id[str(record.get("id"))]
        wrong = {k: held.get(k) for k, v in record.items() if held.get(k) != v}
        if wrong:
            expected_fields = {k: record[k] for k in wrong}
            return Miss(
                where, f"{record['id']} with {expected_fields}", f"{record['id']} with {wrong}"
            )
    return None


def _changes(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> str:
    old = {r["id"]: r for r in before}
    new = {r["id"]: r for r in after}
    added = sorted(set(new) - set(old))
    removed = sorted(set(old) - set(new))
    changed = sorted(k for k in set(old) & set(new) if old[k] != new[k])
    parts = [
        f"{label} {ids}"
        for label, ids in (("added", added), ("removed", removed), ("changed", changed))
        if ids
    ]
    return ", ".join(parts)
