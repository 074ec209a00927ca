"""The user's ESAP basket: its items read as they are, Rucio items resolved against the instance.

ESAP (the ESCAPE science platform) keeps what a scientist picked in a "shopping basket":
a list of items, each with an ``item_data`` (a JSON text, or an object) naming the
``archive`` it comes from. Items from the Rucio archive carry the DID and its metadata.
Every item is shown: Rucio items with their type, size, availability and embargo; items
of other archives as such; items that cannot be read with the reason, never dropped.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ..config import EsapConfig
from ..errors import InvalidInput, ServiceUnavailable
from ..esap import BasketSource, basket_source, read_basket
from ..esap.client import UNREADABLE
from .describe import MAX_DESCRIBED_DIDS, describe
from .did import DID, parse_did
from .embargo import embargo_in_force, today_utc
from .quota import did_size
from .session import RucioSession

RUCIO_ARCHIVE = "rucio"
MAX_BASKET_ITEMS = 2000  # a basket longer than this is cut, and says so
MAX_MEASURED = 50  # open collections sized one by one; beyond that their size stays unknown
MAX_RECORD_CHARS = 4000  # an item's own record is passed on only when small
_LABEL_KEYS = ("title", "name", "dataset_name", "obs_id", "target", "id")
RUCIO, OTHER, MALFORMED = "rucio", "other", "malformed"


@dataclass
class BasketItem:
    """One item as the basket holds it: ``kind`` is ``rucio``, ``other`` (another archive) or ``malformed``."""

    index: int
    kind: str
    archive: str | None = None
    did: DID | None = None
    label: str = ""
    problem: str | None = None
    record: dict[str, Any] | None = None
    resolved: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "kind": self.kind,
            "archive": self.archive,
            "did": str(self.did) if self.did else None,
            "label": self.label,
            "problem": self.problem,
            "record": self.record,
            **self.resolved,
        }


def basket_items(raw: Any) -> tuple[list[Any], bool]:
    """The items of a basket as ESAP's API (a page of user profiles), one profile, or a plain list give it.

    Returns the items (at most :data:`MAX_BASKET_ITEMS`) and whether the basket was cut.
    """
    if isinstance(raw, Mapping) and "results" in raw:
        results = raw["results"]
        if not isinstance(results, list):
            raise InvalidInput("the basket's 'results' is not a list of user profiles", field="basket")
        raw = results[0] if results else {"shopping_cart": []}  # no profile yet: nothing picked
    if isinstance(raw, Mapping):
        if "shopping_cart" not in raw:
            raise InvalidInput("the basket has no 'shopping_cart' (nor 'results')", field="basket")
        raw = raw["shopping_cart"]
        if raw is None:
            raw = []
    if not isinstance(raw, list):
        raise InvalidInput("the basket is not a list of items", field="basket")
    return raw[:MAX_BASKET_ITEMS], len(raw) > MAX_BASKET_ITEMS


def read_item(index: int, raw: Any) -> BasketItem:
    """One basket item, read as far as it can be; what cannot be read is said in ``problem``."""
    data = raw.get("item_data", raw) if isinstance(raw, Mapping) else raw
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError:
            return BasketItem(index, MALFORMED, label=_short(data), problem="its item_data is not JSON")
    if not isinstance(data, Mapping):
        return BasketItem(index, MALFORMED, label=_short(data), problem="it is not an object with an archive")
    archive = data.get("archive")
    record = data.get("record")
    record = record if isinstance(record, Mapping) else {}
    label = _label(record) or _label(data)
    if not isinstance(archive, str) or not archive.strip():
        return BasketItem(index, MALFORMED, label=label, problem="it names no archive", record=_small(data))
    archive = archive.strip()
    if archive.lower() != RUCIO_ARCHIVE:
        return BasketItem(index, OTHER, archive=archive, label=label, record=_small(record or data))
    try:
        did = _did_of(record, data)
    except InvalidInput as error:
        return BasketItem(index, MALFORMED, archive=archive, label=label, problem=error.message, record=_small(record))
    return BasketItem(index, RUCIO, archive=archive, did=did, label=label or did.name, record=_small(record))


def _did_of(record: Mapping[str, Any], data: Mapping[str, Any]) -> DID:
    """The DID of a Rucio item: ``did`` ("scope:name"), or ``scope`` and ``name``, in its record or beside it."""
    for holder in (record, data):
        if holder.get("did") is not None:
            return parse_did(holder["did"], "did")
        scope, name = holder.get("scope"), holder.get("name")
        if scope is not None or name is not None:
            if not isinstance(scope, str) or not isinstance(name, str):
                raise InvalidInput("its scope and name must both be text", field="did")
            return parse_did(f"{scope}:{name}", "did")
    raise InvalidInput("this Rucio item names no DID (no 'did', nor 'scope' and 'name')", field="did")


def _label(data: Mapping[str, Any]) -> str:
    for key in _LABEL_KEYS:
        value = data.get(key)
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
            return _short(value)
    return ""


def _short(value: Any, limit: int = 120) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _small(record: Mapping[str, Any]) -> dict[str, Any] | None:
    try:
        text = json.dumps(record, default=str)
    except (TypeError, ValueError):
        return None
    return json.loads(text) if record and len(text) <= MAX_RECORD_CHARS else None


def read_items(raw: Any) -> tuple[list[BasketItem], bool]:
    """Every item of the basket, read (:func:`read_item`), and whether the basket was cut."""
    items, cut = basket_items(raw)
    return [read_item(i, item) for i, item in enumerate(items)], cut


async def resolve(session: RucioSession, items: list[BasketItem], today: date | None = None) -> None:
    """Add type, size, metadata, availability and embargo to the Rucio items (bulk calls only)."""
    dids = list(dict.fromkeys(item.did for item in items if item.kind == RUCIO and item.did is not None))
    described: dict[str, dict[str, Any]] = {}
    for start in range(0, len(dids), MAX_DESCRIBED_DIDS):
        for row in await describe(session, dids[start : start + MAX_DESCRIBED_DIDS]):
            described[row["did"]] = row
    await _measure_open_collections(session, described)
    today = today or today_utc()
    for item in items:
        if item.kind != RUCIO or item.did is None:
            continue
        row = described.get(str(item.did), {})
        found = row.get("type") is not None
        metadata = row.get("metadata") or {}
        # The DID's own embargo; the make-available preview also looks at the collections around it.
        embargo = embargo_in_force([(str(item.did), metadata)], today) if found else None
        item.resolved = {
            "found": found,
            "type": row.get("type"),
            "bytes": row.get("bytes"),
            "length": row.get("length"),
            "metadata": metadata,
            "availability": row.get("availability"),
            "embargo": {"did": embargo.did, "until": embargo.value} if embargo else None,
        }
        if not found:
            item.problem = f"{session.config.label} does not know {item.did}"


async def _measure_open_collections(session: RucioSession, described: dict[str, dict[str, Any]]) -> None:
    """Sizes Rucio leaves empty in bulk answers (open datasets not yet counted): one request each, a bounded few."""
    unsized = [did for did, row in described.items() if row.get("type") and row.get("bytes") is None]
    unsized = unsized[:MAX_MEASURED]
    sizes = await asyncio.gather(*(did_size(session, parse_did(did)) for did in unsized))
    for did, size in zip(unsized, sizes, strict=True):
        described[did]["bytes"], described[did]["length"] = size.bytes, size.files


def bytes_to_move(item: BasketItem) -> int | None:
    """What making this item available would copy, at most (None: unknown): its size less what is there."""
    size = item.resolved.get("bytes")
    availability = item.resolved.get("availability") or {}
    at_notebook = (availability.get("bytes") or {}).get("at_notebook") or 0
    return max(0, size - at_notebook) if isinstance(size, int) else None


def summary(items: list[BasketItem]) -> dict[str, Any]:
    """Counts per kind, and the sizes behind "make all available" (embargoed and unknown DIDs left out)."""
    rucio = [i for i in items if i.kind == RUCIO and i.resolved.get("found")]
    movable = [i for i in rucio if not i.resolved.get("embargo")]
    sizes = [bytes_to_move(i) for i in movable]
    return {
        "counts": {kind: sum(1 for i in items if i.kind == kind) for kind in (RUCIO, OTHER, MALFORMED)},
        "total_bytes": sum(i.resolved["bytes"] for i in rucio if isinstance(i.resolved.get("bytes"), int)),
        "movable": len(movable),
        "bytes_to_move": sum(s for s in sizes if s is not None),
        "unknown_sizes": sum(1 for s in sizes if s is None),
    }


async def esap_token(session: RucioSession, config: EsapConfig) -> str | None:
    """The bearer token ESAP is sent, as configured (``esap.auth``); None for ``none``."""
    if config.auth == "none":
        return None
    if config.auth == "rucio-token":
        return (await session.tokens.rucio_credentials()).token
    return await session.tokens.user_token()


def switched_off() -> dict[str, Any]:
    """The answer where the site configured no basket (``c.DLaaS.esap`` off)."""
    return {"enabled": False, "source": None, "note": None, "items": [], **summary([])}


async def load_basket(
    session: RucioSession, config: EsapConfig, environ: Mapping[str, str], today: date | None = None
) -> dict[str, Any]:
    """The basket, its items read and its Rucio items resolved against ``session``'s instance."""
    if not config.enabled:
        return switched_off()
    source = basket_source(config, environ)
    if source is None:
        note = f"No basket was handed over at launch ({config.basket_env} is not set)."
        return {**switched_off(), "enabled": True, "instance": session.config.name, "note": note}
    raw = await fetch_basket(session, config, source)
    try:
        items, cut = read_items(raw)
    except InvalidInput as error:
        raise ServiceUnavailable(
            f"The basket from {source.location} cannot be read: {error.message}.",
            service=source.service,
            reason=UNREADABLE,
        ) from None
    await resolve(session, items, today)
    return {
        "enabled": True,
        "source": source.to_json(),
        "note": None,
        "instance": session.config.name,
        "truncated": cut,
        "items": [item.to_json() for item in items],
        **summary(items),
    }


async def fetch_basket(session: RucioSession, config: EsapConfig, source: BasketSource) -> Any:
    """The basket's raw JSON, read off the event loop within the request's deadline."""
    token = await esap_token(session, config) if source.kind == "esap" else None
    return await session.blocking(lambda: read_basket(config, source, token), service=source.service)
