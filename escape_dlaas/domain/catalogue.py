"""What an instance offers: scopes, storage (RSEs) with their QoS class, targets, metadata keys.

Answers that rarely change are cached in the session with explicit freshness.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..config import InstanceConfig
from ..errors import InvalidInput, Refused
from ..rucio.client import TokenClient
from ..rucio.gateway import first_n
from .did import DID, did_chunks, row_key, row_name
from .session import RucioSession

NOTEBOOK_TARGET = "notebook"
SCOPES_MAX_AGE = 60.0
RSES_MAX_AGE = 300.0  # storage and metadata keys change rarely
METADATA_SAMPLE = 20  # collections per scope whose metadata keys the filter builder offers
SAMPLE_VALUES_PER_KEY = 200  # text values per key kept from that sample (for the hints of an empty search)


def notebook_rse(config: InstanceConfig) -> str | None:
    """The RSE the notebook reads directly, if the site has one."""
    return config.notebook_local.rse if config.notebook_local else None


async def scopes(session: RucioSession) -> list[str]:
    cached = session.cache.get("scopes", SCOPES_MAX_AGE)
    if cached is None:
        cached = sorted(await session.rucio(lambda c: list(c.list_scopes()), what="list scopes"))
        session.cache.put("scopes", cached)
    return list(cached)


async def rses(session: RucioSession) -> list[dict[str, Any]]:
    """RSEs with their attributes and QoS class; cached, since they rarely change."""
    cached = session.cache.get("rses", RSES_MAX_AGE)
    if cached is None:
        local = notebook_rse(session.config)

        def load(client: TokenClient) -> list[dict[str, Any]]:
            out = []
            for rse in client.list_rses():
                name = rse["rse"]
                attrs = client.list_rse_attributes(name)
                out.append(
                    {
                        "name": name,
                        "qos_class": attrs.get("QOS") or attrs.get("qos"),
                        "notebook_local": name == local,
                        "attributes": {k: v for k, v in attrs.items() if isinstance(v, (str, int, float, bool))},
                    }
                )
            return sorted(out, key=lambda r: r["name"])

        cached = await session.rucio(load, what="list storage elements")
        session.cache.put("rses", cached)
    return list(cached)


async def rse_names(session: RucioSession, expression: str) -> list[str]:
    """The RSEs an expression selects (none when Rucio refuses the expression)."""
    key = ("expr", expression)
    cached = session.cache.get(key, RSES_MAX_AGE)
    if cached is None:
        try:
            cached = await session.rucio(
                lambda c: sorted(r["rse"] for r in c.list_rses(expression)), what=f"resolve '{expression}'"
            )
        except Refused:
            cached = []
        session.cache.put(key, cached)
    return list(cached)


async def notebook_expressions(session: RucioSession) -> set[str]:
    """RSE expressions whose rules bring data to the notebook-local RSE."""
    local = session.config.notebook_local
    if local is None:
        return set()
    cached = session.cache.get("notebook_expressions", RSES_MAX_AGE)
    if cached is None:
        expressions = {local.rse}
        for expression in session.config.qos_classes.values():
            matched = await rse_names(session, expression)
            if local.rse in matched:
                expressions.add(expression)
        cached = expressions
        session.cache.put("notebook_expressions", cached)
    return set(cached)


def targets(config: InstanceConfig) -> list[dict[str, Any]]:
    """Where 'make available' may send data: the notebook RSE and each QoS class."""
    out = []
    if config.notebook_local:
        out.append(
            {
                "id": NOTEBOOK_TARGET,
                "label": "Notebook-local storage",
                "rse_expression": config.notebook_local.rse,
            }
        )
    for name, expression in sorted(config.qos_classes.items()):
        out.append({"id": name, "label": f"QoS class {name}", "rse_expression": expression})
    return out


def target_expression(config: InstanceConfig, target: Any) -> str:
    """The RSE expression of a target id (none or ``notebook``: the notebook-local RSE)."""
    if target in (None, "", NOTEBOOK_TARGET):
        if config.notebook_local is None:
            raise InvalidInput(
                "this site has no notebook-local storage; choose a QoS class as target",
                field="target",
                reason="invalid_target",
            )
        return config.notebook_local.rse
    if isinstance(target, str) and target in config.qos_classes:
        return config.qos_classes[target]
    valid = ([NOTEBOOK_TARGET] if config.notebook_local else []) + sorted(config.qos_classes)
    raise InvalidInput(
        f"unknown target {str(target)[:40]!r}; choose one of: {', '.join(valid) or 'none configured'}",
        field="target",
        reason="invalid_target",
    )


async def metadata_bulk(session: RucioSession, dids: list[DID], plugin: str = "ALL") -> dict[str, dict[str, Any]]:
    """Metadata rows of many DIDs by ``scope:name``: one Rucio request per chunk."""
    out: dict[str, dict[str, Any]] = {}
    for chunk in did_chunks(dids):
        rows = await session.rucio(
            lambda c, ch=chunk: list(c.get_metadata_bulk([d.as_dict() for d in ch], inherit=False, plugin=plugin)),  # type: ignore[misc]
            what="read metadata",
        )
        for row in rows:
            out[row_key(row)] = row
    return out


# What PostgreSQL reads as true/false (Rucio casts a stored value's text to compare it).
_BOOLEAN_TEXT = {"t", "true", "y", "yes", "on", "1", "f", "false", "n", "no", "off", "0"}
_DATE_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")


def castable_to(value: Any) -> set[str]:
    """The kinds Rucio can compare a stored metadata value as: its text cast to number, bool or date."""
    if isinstance(value, bool):
        return {"bool"}
    if isinstance(value, (int, float)):
        return {"number"}
    if not isinstance(value, str):
        return set()
    text, kinds = value.strip(), set()
    try:
        float(text.replace("_", "x"))  # PostgreSQL's float reads no digit separators
        kinds.add("number")
    except ValueError:
        pass
    if text.lower() in _BOOLEAN_TEXT:
        kinds.add("bool")
    if _DATE_TEXT.match(text):
        kinds.add("date")
    return kinds


@dataclass
class MetadataSample:
    """Metadata of a sample of each scope's collections: keys, text values, and what they compare as."""

    # {key: {text value: [scopes where it was seen]}}, at most SAMPLE_VALUES_PER_KEY values per key
    values: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    # {key: {kind: {scope: a value there that cannot be compared as that kind}}}
    not_comparable: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    def keys(self) -> list[str]:
        return sorted(self.values)

    def add(self, scope: str, key: str, value: Any) -> None:
        values = self.values.setdefault(key, {})
        if isinstance(value, str) and (value in values or len(values) < SAMPLE_VALUES_PER_KEY):
            seen_in = values.setdefault(value, [])
            if scope not in seen_in:
                seen_in.append(scope)
        castable = castable_to(value)
        for kind in ("number", "bool", "date"):
            if kind not in castable:
                self.not_comparable.setdefault(key, {}).setdefault(kind, {}).setdefault(scope, value)

    def not_comparable_as(self, key: str, kind: str, scopes: list[str]) -> Any | None:
        """A value of ``key`` in one of ``scopes`` that Rucio cannot compare as ``kind`` (None if none seen)."""
        found = self.not_comparable.get(key, {}).get(kind, {})
        return next((found[s] for s in scopes if s in found), None)


async def metadata_sample(session: RucioSession) -> MetadataSample:
    """The catalogue's :class:`MetadataSample` (cached): for the filter builder's keys, the checks
    of a filter's comparisons, and the hints of an empty search."""
    cached = session.cache.get("meta_sample", RSES_MAX_AGE)
    if cached is None:
        cached = MetadataSample()
        for scope in await scopes(session):
            names = await session.rucio(
                lambda c, s=scope: first_n(  # type: ignore[misc]
                    c.search_dids(s, [{"name": "*"}], "collection", METADATA_SAMPLE), METADATA_SAMPLE
                ),
                what=f"sample scope {scope}",
            )
            dids = [DID(scope, row_name(n)) for n in names]
            for meta in (await metadata_bulk(session, dids, plugin="JSON")).values() if dids else []:
                for key, value in meta.items():
                    if key not in ("scope", "name"):
                        cached.add(scope, key, value)
        session.cache.put("meta_sample", cached)
    sample: MetadataSample = cached
    return sample


async def metadata_keys(session: RucioSession) -> list[str]:
    """Metadata keys seen on a sample of each scope's collections (for the filter builder)."""
    return (await metadata_sample(session)).keys()
