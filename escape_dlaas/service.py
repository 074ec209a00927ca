"""The domain service: what the REST API offers, free of web-framework code.

Each configured Rucio instance gets an :class:`InstanceService` holding its token
manager, a :class:`RucioGateway` and small caches with explicit freshness. All
blocking work runs in one bounded thread pool with a timeout, never on the event loop.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import hashlib
import json
import logging
import math
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlparse

from .auth import RucioCredentials, TokenManager
from .availability import (
    AVAILABLE,
    Availability,
    RuleSummary,
    dataset_availability,
    did_availability,
    file_state,
    summarise_rule,
)
from .config import InstanceConfig
from .downloads import DownloadManager, embargo_refusal
from .errors import (
    ConfigurationError,
    Conflict,
    CredentialsExpired,
    DLaaSError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Refused,
    ServiceTimeout,
    ServiceUnavailable,
)
from .filters import Filter, check_name_pattern, to_rucio_filters
from .rucio_gateway import (
    RucioGateway,
    RucioUnauthorized,
    TokenClient,
    ensure_client_config,
    first_n,
    prime_rse_info,
    translate_rucio_error,
)

T = TypeVar("T")

DID_TYPES = ("all", "collection", "dataset", "container", "file")
NOTEBOOK_TARGET = "notebook"
SECONDS_PER_DAY = 86400
# Bulk calls are chunked so that one request body stays reasonable; the number of
# Rucio requests grows with len(dids)/CHUNK, not with len(dids).
BULK_CHUNK = 500
MAX_WATCHED_DIDS = 2000
MAX_SEARCH_ROUNDS = 10
MAX_DESCRIBED_DIDS = 1000
SEARCH_DETAILS = ("full", "names")
PING_MAX_AGE = 3.0  # seconds after which the status answer is checked again (in the background)
_SCOPE_RE_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")


@dataclass(frozen=True)
class DID:
    scope: str
    name: str

    def __str__(self) -> str:
        return f"{self.scope}:{self.name}"

    def as_dict(self) -> dict[str, str]:
        return {"scope": self.scope, "name": self.name}


def parse_did(text: Any, field: str = "did") -> DID:
    """``scope:name`` as typed by a person; a clear 400 otherwise."""
    if not isinstance(text, str) or ":" not in text:
        raise InvalidInput(
            f"'{str(text)[:80]}' is not a DID: write it as scope:name", field=field, reason="invalid_did"
        )
    scope, name = text.split(":", 1)
    scope, name = scope.strip(), name.strip()
    if not scope or not name or len(scope) > 25 or len(name) > 250 or set(scope) - _SCOPE_RE_CHARS:
        raise InvalidInput(f"'{text[:80]}' is not a valid DID (scope:name)", field=field, reason="invalid_did")
    if "*" in name or any(ord(c) < 32 for c in name):
        raise InvalidInput(f"'{text[:80]}' is not a single DID (no wildcards here)", field=field, reason="invalid_did")
    return DID(scope, name)


def check_scope(scope: Any) -> str | None:
    if scope is None or scope == "":
        return None
    if not isinstance(scope, str) or len(scope) > 25 or set(scope) - _SCOPE_RE_CHARS:
        raise InvalidInput(f"'{str(scope)[:40]}' is not a valid scope", field="scope", reason="invalid_scope")
    return scope


class _TTLCache:
    """A tiny cache whose entries say how old they may get (explicit freshness)."""

    def __init__(self) -> None:
        self._entries: dict[Any, tuple[float, Any]] = {}

    def get(self, key: Any, max_age: float) -> Any:
        """The value, or None when missing or older than ``max_age`` seconds."""
        entry = self._entries.get(key)
        if entry is None or time.monotonic() - entry[0] > max_age:
            return None
        return entry[1]

    def put(self, key: Any, value: Any) -> None:
        if len(self._entries) > 256:
            self._entries.clear()
        self._entries[key] = (time.monotonic(), value)

    def drop(self, predicate: Callable[[Any], bool]) -> None:
        self._entries = {k: v for k, v in self._entries.items() if not predicate(k)}


def encode_cursor(query_key: str, scope_index: int, offset: int) -> str:
    raw = json.dumps({"q": query_key, "s": scope_index, "o": offset}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, query_key: str) -> tuple[int, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        scope_index, offset = int(data["s"]), int(data["o"])
        same_query = data["q"] == query_key
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("the page cursor is not valid; start the search again", field="cursor") from None
    if not same_query or scope_index < 0 or offset < 0:
        raise InvalidInput("the page cursor belongs to another search; start the search again", field="cursor")
    return scope_index, offset


def _days(value: Any, field: str, maximum: float) -> float:
    try:
        days = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{field} must be a number of days, got {str(value)[:40]!r}", field=field) from None
    if not math.isfinite(days) or days <= 0:
        raise InvalidInput(f"{field} must be more than 0 days", field=field, reason="invalid_lifetime")
    if days > maximum:
        raise InvalidInput(
            f"{field} of {days:g} days is longer than this site allows ({maximum:g} days)",
            field=field,
            reason="invalid_lifetime",
        )
    return days


class InstanceService:
    """Everything the extension does with one Rucio instance."""

    def __init__(
        self,
        config: InstanceConfig,
        executor: ThreadPoolExecutor,
        log: logging.Logger,
        status_executor: ThreadPoolExecutor | None = None,
    ):
        self.config = config
        self.executor = executor
        self.status_executor = status_executor or executor
        self.log = log
        self.gateway = RucioGateway(config)
        self.tokens = TokenManager(config, executor)
        self.cache = _TTLCache()
        self.downloads = DownloadManager(config.download_cache) if config.download_cache else None
        self._rule_locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._first_use_lock = asyncio.Lock()
        self._token_known_to_rucio: bytes | None = None
        self._ping_answer: dict[str, Any] | None = None
        self._ping_checked = 0.0
        self._ping_check: asyncio.Future[None] | None = None

    def close(self) -> None:
        self.tokens.close()
        if self._ping_check is not None:
            self._ping_check.cancel()
        if self.downloads is not None:
            self.downloads.close()

    # -- plumbing ---------------------------------------------------------------------

    async def _blocking(
        self, func: Callable[[], T], *, service: str = "Rucio", executor: ThreadPoolExecutor | None = None
    ) -> T:
        """Run ``func`` on the bounded pool; its timeout starts when a worker takes it up.

        Under load a call may wait for a free worker: that wait is the pool doing its job
        (bounding what we ask of Rucio), not the service being slow, so it is not timed.
        """
        loop = asyncio.get_running_loop()
        started = asyncio.Event()

        def run() -> T:
            loop.call_soon_threadsafe(started.set)
            return func()

        future: asyncio.Future[T] = loop.run_in_executor(executor or self.executor, run)
        waiter: asyncio.Future[Any] = asyncio.ensure_future(started.wait())
        await asyncio.wait({future, waiter}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        timeout = self.config.timeout_seconds + 5
        try:
            return await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            raise ServiceTimeout(f"{service} did not answer within {timeout:g} s.", service=service) from None

    async def rucio(self, operation: Callable[[TokenClient], T], *, what: str) -> T:
        """Run a rucio-clients call with the user's Rucio token; refresh once on a 401."""
        for attempt in (1, 2):
            credentials = await self.tokens.rucio_credentials()
            token = credentials.token
            if credentials.auth_type == "userpass":
                token = await self._userpass_token(credentials)
            call = functools.partial(self.gateway.call, token, credentials.account, operation, what=what)
            try:
                return await self._first_use_alone(token, call)
            except RucioUnauthorized as refused:
                self.tokens.invalidate()
                self.cache.drop(lambda key: key == "userpass_token")
                if attempt == 2:
                    raise CredentialsExpired(
                        f"Rucio did not accept your credentials ({refused}). Sign in again, then retry.",
                    ) from None
        raise AssertionError("unreachable")

    async def _first_use_alone(self, token: str | None, call: Callable[[], T]) -> T:
        """Run ``call``; the first call with a new token runs alone, the others wait for it.

        Rucio records a bearer token in its database the first time it sees it; two
        requests bringing the same new token at once race on that insert and one of
        them is refused with a 401 (seen as ``TOKENS_PK`` violations in PostgreSQL's
        log when 20 searches start together). Once Rucio has accepted the token, calls
        run concurrently again. Only a digest of the token is kept.
        """
        digest = hashlib.sha256((token or "").encode()).digest()
        if digest == self._token_known_to_rucio:
            return await self._blocking(call)
        async with self._first_use_lock:
            if digest != self._token_known_to_rucio:
                try:
                    result = await self._blocking(call)
                except DLaaSError as error:
                    # a refusal of the operation still means Rucio took the token in;
                    # RucioUnauthorized (not a DLaaSError) or no answer at all do not
                    if not isinstance(error, ServiceUnavailable):
                        self._token_known_to_rucio = digest
                    raise
                self._token_known_to_rucio = digest
                return result
        return await self._blocking(call)

    async def _userpass_token(self, credentials: RucioCredentials) -> str:
        """Rucio's own token for a username/password identity, reused until Rucio refuses it."""
        cached = self.cache.get("userpass_token", 3000)
        if cached is None:
            cached = await self._blocking(lambda: self.gateway.userpass_token(credentials))
            self.cache.put("userpass_token", cached)
        return str(cached)

    # -- health and identity --------------------------------------------------------

    async def ping(self) -> dict[str, Any]:
        """Whether Rucio answers, as last checked (``checked_at``).

        Only the very first call waits for Rucio. After that the last answer is served
        at once and, once older than PING_MAX_AGE, checked again in the background on
        its own small pool: a slow or busy Rucio never slows down the status endpoint
        that the panel polls. A hung check ends with the configured timeout and is
        then reported as unreachable.
        """
        if self._ping_answer is None:
            await self._check_rucio()
        elif time.monotonic() - self._ping_checked > PING_MAX_AGE and (
            self._ping_check is None or self._ping_check.done()
        ):
            self._ping_check = asyncio.ensure_future(self._check_rucio())
        return dict(self._ping_answer or {})

    async def _check_rucio(self) -> None:
        started = time.perf_counter()
        try:
            answer = await self._blocking(self.gateway.ping, executor=self.status_executor)
        except DLaaSError as error:
            result: dict[str, Any] = {
                "reachable": False,
                "rucio_version": None,
                "latency_ms": None,
                "error": error.message,
            }
        else:
            result = {
                "reachable": True,
                "rucio_version": answer.get("version"),
                "latency_ms": round((time.perf_counter() - started) * 1000, 1),
                "error": None,
            }
        result["checked_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self._ping_answer, self._ping_checked = result, time.monotonic()

    async def account(self) -> str:
        cached = self.cache.get("whoami", 300)
        if cached is None:
            who = await self.rucio(lambda c: c.whoami(), what="find out who you are")
            cached = str((who or {}).get("account", ""))
            self.cache.put("whoami", cached)
        return str(cached)

    async def whoami(self) -> dict[str, Any]:
        account = await self.account()
        token = self.tokens.summary()
        return {"instance": self.config.name, "account": account, "token": token}

    # -- catalogue -----------------------------------------------------------------

    async def scopes(self) -> list[str]:
        cached = self.cache.get("scopes", 60)
        if cached is None:
            cached = sorted(await self.rucio(lambda c: list(c.list_scopes()), what="list scopes"))
            self.cache.put("scopes", cached)
        return list(cached)

    async def rses(self) -> list[dict[str, Any]]:
        """RSEs with their attributes and QoS class; cached, since they rarely change."""
        cached = self.cache.get("rses", 300)
        if cached is None:

            def load(client: TokenClient) -> list[dict[str, Any]]:
                out = []
                for rse in client.list_rses():
                    name = rse["rse"]
                    attrs = client.list_rse_attributes(name)
                    out.append(
                        {
                            "name": name,
                            "qos_class": attrs.get("QOS") or attrs.get("qos"),
                            "notebook_local": name
                            == (self.config.notebook_local.rse if self.config.notebook_local else None),
                            "attributes": {k: v for k, v in attrs.items() if isinstance(v, (str, int, float, bool))},
                        }
                    )
                return sorted(out, key=lambda r: r["name"])

            cached = await self.rucio(load, what="list storage elements")
            self.cache.put("rses", cached)
        return list(cached)

    async def notebook_expressions(self) -> set[str]:
        """RSE expressions whose rules bring data to the notebook-local RSE."""
        local = self.config.notebook_local
        if local is None:
            return set()
        cached = self.cache.get("notebook_expressions", 300)
        if cached is None:
            expressions = {local.rse}
            for expression in self.config.qos_classes.values():
                matched = await self.rse_names(expression)
                if local.rse in matched:
                    expressions.add(expression)
            cached = expressions
            self.cache.put("notebook_expressions", cached)
        return set(cached)

    async def rse_names(self, expression: str) -> list[str]:
        key = ("expr", expression)
        cached = self.cache.get(key, 300)
        if cached is None:
            try:
                cached = await self.rucio(
                    lambda c: sorted(r["rse"] for r in c.list_rses(expression)), what=f"resolve '{expression}'"
                )
            except Refused:
                cached = []
            self.cache.put(key, cached)
        return list(cached)

    async def targets(self) -> list[dict[str, Any]]:
        """Where 'make available' may send data: the notebook RSE and each QoS class."""
        out = []
        if self.config.notebook_local:
            out.append(
                {
                    "id": NOTEBOOK_TARGET,
                    "label": "Notebook-local storage",
                    "rse_expression": self.config.notebook_local.rse,
                }
            )
        for name, expression in sorted(self.config.qos_classes.items()):
            out.append({"id": name, "label": f"QoS class {name}", "rse_expression": expression})
        return out

    def target_expression(self, target: Any) -> str:
        if target in (None, "", NOTEBOOK_TARGET):
            if self.config.notebook_local is None:
                raise InvalidInput(
                    "this site has no notebook-local storage; choose a QoS class as target",
                    field="target",
                    reason="invalid_target",
                )
            return self.config.notebook_local.rse
        if isinstance(target, str) and target in self.config.qos_classes:
            return self.config.qos_classes[target]
        valid = ([NOTEBOOK_TARGET] if self.config.notebook_local else []) + sorted(self.config.qos_classes)
        raise InvalidInput(
            f"unknown target {str(target)[:40]!r}; choose one of: {', '.join(valid) or 'none configured'}",
            field="target",
            reason="invalid_target",
        )

    async def search(
        self,
        *,
        pattern: str | None,
        scope: str | None,
        did_type: str,
        filters: Filter,
        page_size: int,
        cursor: str | None,
        details: str = "full",
    ) -> dict[str, Any]:
        """One page of DIDs matching the query.

        ``details="full"`` describes the page (type, size, metadata, availability: bulk
        calls after the listing); ``details="names"`` returns what the listing itself
        gives (names, and type and size when no metadata filter is used) so the first
        rows can be shown at once and described afterwards with :meth:`describe`.
        """
        if details not in SEARCH_DETAILS:
            raise InvalidInput(f"details must be one of {', '.join(SEARCH_DETAILS)}", field="details")
        if did_type not in DID_TYPES:
            raise InvalidInput(f"type must be one of {', '.join(DID_TYPES)}", field="type")
        pattern = check_name_pattern(pattern)
        scope = check_scope(scope)
        if pattern and ":" in pattern:
            # "scope:name*" as people type it in Rucio
            typed_scope, pattern = pattern.split(":", 1)
            scope = check_scope(typed_scope)
            pattern = check_name_pattern(pattern)
        if not pattern and not filters:
            raise InvalidInput(
                "type a name pattern (e.g. *.fits) or add a metadata filter", field="q", reason="empty_search"
            )
        rucio_filters = to_rucio_filters(filters, pattern)
        query_key = hashlib.sha256(
            json.dumps([scope, did_type, rucio_filters], sort_keys=True, default=str).encode()
        ).hexdigest()[:16]
        scope_index, offset = decode_cursor(cursor, query_key) if cursor else (0, 0)
        scopes = [scope] if scope else await self.scopes()
        # The JSON metadata plugin ignores the type, so metadata searches ask for everything and
        # the page is filtered by type after the bulk metadata call below.
        filter_type_here = bool(filters) and did_type != "all"
        server_type = "all" if filter_type_here else did_type
        # Only Rucio's own DID table knows type and size; the JSON metadata plugin returns none.
        listing_long = not filters

        page: list[dict[str, Any]] = []
        rounds = 0
        # Each round reads at most one page of raw rows; with a type filter some are dropped,
        # so a few rounds may be needed. Bounded: a short page with a cursor beats a slow one.
        while scope_index < len(scopes) and len(page) < page_size and rounds < MAX_SEARCH_ROUNDS:
            rounds += 1
            current = scopes[scope_index]
            want = page_size - len(page)
            limit = offset + want + 1
            names = await self.rucio(
                lambda c, s=current, n=limit: first_n(  # type: ignore[misc]
                    c.search_dids(s, rucio_filters, server_type, n, long=listing_long), n
                ),
                what=f"search scope {current}",
            )
            rows = [_listing_row(current, n) for n in names[offset : offset + want]]
            page.extend(await self._keep_type(rows, did_type) if filter_type_here else rows)
            if len(names) - offset <= want:  # this scope has nothing more
                scope_index, offset = scope_index + 1, 0
            else:
                offset += len(rows)
        more = scope_index < len(scopes)
        next_cursor = encode_cursor(query_key, scope_index, offset) if more else None
        items = await self.describe([DID(r["scope"], r["name"]) for r in page]) if details == "full" else page
        return {"items": items, "next_cursor": next_cursor, "scopes_searched": scopes[: scope_index + 1]}

    async def _keep_type(self, rows: list[dict[str, Any]], did_type: str) -> list[dict[str, Any]]:
        if not rows:
            return rows
        meta = await self.metadata_bulk([DID(r["scope"], r["name"]) for r in rows], plugin="DID_COLUMN")
        wanted = {"collection": {"DATASET", "CONTAINER"}}.get(did_type, {did_type.upper()})
        out = []
        for row in rows:
            listed = _type_and_size(meta.get(f"{row['scope']}:{row['name']}", {}))
            if listed["type"] in wanted:
                out.append({**row, **listed})
        return out

    async def metadata_bulk(self, dids: list[DID], plugin: str = "ALL") -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(dids, BULK_CHUNK):
            rows = await self.rucio(
                lambda c, ch=chunk: list(c.get_metadata_bulk([d.as_dict() for d in ch], inherit=False, plugin=plugin)),  # type: ignore[misc]
                what="read metadata",
            )
            for row in rows:
                out[f"{row['scope']}:{row['name']}"] = row
        return out

    async def describe(self, dids: list[DID]) -> list[dict[str, Any]]:
        """Type, size, metadata and availability of a page of DIDs: bulk calls only."""
        if not dids:
            return []
        if len(dids) > MAX_DESCRIBED_DIDS:
            raise InvalidInput(f"at most {MAX_DESCRIBED_DIDS} DIDs per request", field="dids")
        meta = await self.metadata_bulk(dids)
        availability = await self.availability_map(dids, meta, containers=False)
        items = []
        for did in dids:
            m = meta.get(str(did), {})
            state = availability.get(str(did))
            item = {"did": str(did), "scope": did.scope, "name": did.name, **_type_and_size(m)}
            # Rucio leaves an open collection's size empty; the replica counts give it
            # (none yet while Rucio's abacus daemon has not counted a new dataset).
            if state is not None and state.files_total > 0:
                if item["bytes"] is None:
                    item["bytes"] = state.bytes_total
                if item["length"] is None:
                    item["length"] = state.files_total
            item["metadata"] = _user_metadata(m)
            item["availability"] = state.to_json() if state else None
            items.append(item)
        return items

    # -- availability -----------------------------------------------------------------

    async def my_rules(self) -> list[RuleSummary]:
        account = await self.account()
        expressions = await self.notebook_expressions()
        rules = await self.rucio(
            lambda c: list(c.list_replication_rules(filters={"account": account})), what="list your rules"
        )
        return [summarise_rule(r, expressions) for r in rules]

    async def availability_map(
        self,
        dids: list[DID],
        meta: Mapping[str, Mapping[str, Any]] | None = None,
        *,
        containers: bool = True,
    ) -> dict[str, Availability]:
        """The state of many DIDs with a bounded number of Rucio requests, whatever their size.

        Types come from one bulk metadata call (unless given); then, concurrently: the
        account's rules (one listing), dataset replicas for the datasets (one call per
        chunk: counts, no files), file replicas for the files (one call per chunk), and,
        only for containers, their files' replicas with parents resolved. A dataset is
        never expanded into its files. ``containers=False`` leaves containers out (search
        pages: they are resolved when opened or watched).
        """
        if not dids:
            return {}
        if len(dids) > MAX_WATCHED_DIDS:
            raise InvalidInput(f"at most {MAX_WATCHED_DIDS} DIDs per request", field="dids")
        if meta is None:
            meta = await self.metadata_bulk(dids, plugin="DID_COLUMN")
        kind = {str(d): str(meta.get(str(d), {}).get("did_type", "")).upper() for d in dids}
        files = [d for d in dids if kind[str(d)] == "FILE"]
        datasets = [d for d in dids if kind[str(d)] == "DATASET"]
        wanted_containers = [d for d in dids if kind[str(d)] == "CONTAINER"] if containers else []

        async def replicas(chunk: list[DID], parents: bool) -> list[dict[str, Any]]:
            return await self.rucio(
                lambda c: list(
                    c.list_replicas(
                        [d.as_dict() for d in chunk], all_states=True, ignore_availability=True, resolve_parents=parents
                    )
                ),
                what="list replicas",
            )

        async def dataset_replicas(chunk: list[DID]) -> list[dict[str, Any]]:
            return await self.rucio(
                lambda c: list(c.list_dataset_replicas_bulk([d.as_dict() for d in chunk])), what="list dataset replicas"
            )

        calls = [
            *(replicas(chunk, False) for chunk in _chunks(files, BULK_CHUNK)),
            *(replicas(chunk, True) for chunk in _chunks(wanted_containers, BULK_CHUNK)),
            *(dataset_replicas(chunk) for chunk in _chunks(datasets, BULK_CHUNK)),
        ]
        rules, *answers = await asyncio.gather(self.my_rules(), *calls)
        wanted = {str(d) for d in files + wanted_containers}
        files_of: dict[str, list[dict[str, Any]]] = {d: [] for d in wanted}
        rows_of: dict[str, list[dict[str, Any]]] = {str(d): [] for d in datasets}
        for row in (row for answer in answers for row in answer):
            key = f"{row['scope']}:{row['name']}"
            if key in rows_of and "rse" in row:
                rows_of[key].append(row)
                continue
            for owner in ({key} | set(row.get("parents") or [])) & wanted:
                files_of[owner].append(row)
        notebook_rse = self.config.notebook_local.rse if self.config.notebook_local else None
        out: dict[str, Availability] = {}
        for did in dids:
            key = str(did)
            on_did = [r for r in rules if f"{r.scope}:{r.name}" == key]
            if key not in meta:
                out[key] = Availability(key, "UNKNOWN", 0, 0, 0, 0, 0, reason="Rucio does not know this DID")
            elif key in rows_of:
                out[key] = dataset_availability(key, rows_of[key], on_did, notebook_rse)
            elif key in files_of:
                out[key] = did_availability(key, files_of[key], on_did, notebook_rse)
        return out

    async def availability(self, dids: list[DID], max_age: float) -> list[dict[str, Any]]:
        cache_key = ("availability", tuple(sorted(str(d) for d in dids)))
        cached = self.cache.get(cache_key, max_age)
        if cached is None:
            cached = [a.to_json() for a in (await self.availability_map(dids)).values()]
            self.cache.put(cache_key, cached)
        return list(cached)

    # -- one DID --------------------------------------------------------------------

    async def did_details(self, did: DID) -> dict[str, Any]:
        meta = await self.rucio(lambda c: c.get_metadata(did.scope, did.name, plugin="ALL"), what=f"read {did}")
        expressions = await self.notebook_expressions()
        rules = await self.rucio(lambda c: list(c.list_did_rules(did.scope, did.name)), what=f"list the rules on {did}")
        summaries = [summarise_rule(r, expressions) for r in rules]
        availability = (await self.availability_map([did], {str(did): meta}))[str(did)]
        rses = {r["name"]: r for r in await self.rses()}
        return {
            "did": str(did),
            "scope": did.scope,
            "name": did.name,
            "type": str(meta.get("did_type") or "").upper() or None,
            "bytes": meta.get("bytes") if meta.get("bytes") is not None else availability.bytes_total,
            "length": meta.get("length") if meta.get("length") is not None else availability.files_total,
            "metadata": _user_metadata(meta),
            "rules": [r.to_json() for r in summaries],
            "availability": availability.to_json(),
            "rses": {n: {"qos_class": r["qos_class"], "notebook_local": r["notebook_local"]} for n, r in rses.items()},
        }

    async def did_files(self, did: DID, page_size: int, cursor: str | None) -> dict[str, Any]:
        query_key = hashlib.sha256(f"files:{did}".encode()).hexdigest()[:16]
        _, offset = decode_cursor(cursor, query_key) if cursor else (0, 0)
        limit = offset + page_size + 1
        listed = await self.rucio(
            lambda c: first_n(c.list_files(did.scope, did.name), limit), what=f"list the files of {did}"
        )
        page = listed[offset : offset + page_size]
        more = len(listed) > offset + page_size
        by_file: dict[str, dict[str, Any]] = {}
        if page:
            replicas = await self._file_replicas(page, did)
            by_file = {f"{r['scope']}:{r['name']}": r for r in replicas}
        locks = await self._stuck_locks(did)
        rses = {r["name"]: r for r in await self.rses()}
        notebook_rse = self.config.notebook_local.rse if self.config.notebook_local else None
        files = []
        for f in page:
            key = f"{f['scope']}:{f['name']}"
            replica = by_file.get(key, {})
            states: dict[str, str] = replica.get("states") or {}
            state = file_state(states, notebook_rse)
            files.append(
                {
                    "did": key,
                    "scope": f["scope"],
                    "name": f["name"],
                    "bytes": f.get("bytes"),
                    "adler32": f.get("adler32"),
                    "state": "STUCK" if key in locks and state != AVAILABLE else state,
                    "reason": locks.get(key),
                    "replicas": [
                        {"rse": rse, "state": st, "qos_class": rses.get(rse, {}).get("qos_class")}
                        for rse, st in sorted(states.items())
                    ],
                    "local_path": self._local_path(replica) if state == AVAILABLE else None,
                }
            )
        next_cursor = encode_cursor(query_key, 0, offset + page_size) if more else None
        return {"did": str(did), "files": files, "next_cursor": next_cursor}

    async def _file_replicas(self, files: list[dict[str, Any]], did: DID) -> list[dict[str, Any]]:
        schemes = ["file"] if self.config.notebook_local else None
        return await self.rucio(
            lambda c: list(
                c.list_replicas(
                    [{"scope": f["scope"], "name": f["name"]} for f in files],
                    schemes=schemes,
                    all_states=True,
                    ignore_availability=True,
                )
            ),
            what=f"list the replicas of {did}",
        )

    async def _stuck_locks(self, did: DID) -> dict[str, str]:
        """Per-file reasons for stuck locks, for the rules on this DID that are stuck."""
        rules = await self.rucio(lambda c: list(c.list_did_rules(did.scope, did.name)), what=f"list the rules on {did}")
        reasons: dict[str, str] = {}
        for rule in rules:
            if rule.get("state") != "STUCK" and not rule.get("locks_stuck_cnt"):
                continue
            locks = await self.rucio(lambda c, r=rule: list(c.list_replica_locks(r["id"])), what="list rule locks")  # type: ignore[misc]
            for lock in locks:
                if lock.get("state") == "STUCK":
                    reasons[f"{lock['scope']}:{lock['name']}"] = rule.get("error") or "transfer stuck"
        return reasons

    def _local_path(self, replica: Mapping[str, Any]) -> str | None:
        """Map the notebook RSE's PFN of a file to the path the notebook can open."""
        local = self.config.notebook_local
        if local is None:
            return None
        for pfn, info in (replica.get("pfns") or {}).items():
            if info.get("rse") != local.rse:
                continue
            path = unquote(urlparse(pfn).path)
            prefix = local.pfn_prefix
            if prefix is None:
                prefix = str(local.mount_path)
            prefix = "/" + prefix.strip("/")
            if path != prefix and not path.startswith(prefix + "/"):
                continue
            # Pure string normalisation: no file system access on the event loop.
            mount = os.path.normpath(local.mount_path)
            candidate = os.path.normpath(os.path.join(mount, path[len(prefix) :].lstrip("/")))
            if not candidate.startswith(mount + os.sep):
                continue  # never hand out a path outside the mount ('..' in a PFN)
            return candidate
        return None

    async def local_paths(self, did: DID) -> dict[str, Any]:
        if self.config.notebook_local is None:
            job = self.downloads.job(str(did)) if self.downloads else None
            if job is None:
                raise Refused(
                    f"this site has no notebook-local storage; download {did} first",
                    reason="no_notebook_storage",
                )
            paths = await self._blocking(job.local_paths, service="the download cache")
            missing = sorted(set(job.file_dids.values()) - set(paths))
            return {"did": str(did), "paths": paths, "missing": missing, "directory": str(job.directory)}
        files = await self.rucio(lambda c: list(c.list_files(did.scope, did.name)), what=f"list the files of {did}")
        replicas = await self._file_replicas(files, did) if files else []
        paths = {}
        missing = []
        for r in replicas:
            key = f"{r['scope']}:{r['name']}"
            here = file_state(r.get("states") or {}, self.config.notebook_local.rse) == AVAILABLE
            path = self._local_path(r) if here else None
            if path:
                paths[key] = path
            else:
                missing.append(key)
        common = _common_dir(list(paths.values()))
        return {"did": str(did), "paths": paths, "missing": sorted(missing), "directory": common}

    # -- download mode ----------------------------------------------------------------

    async def start_download(self, did: DID) -> dict[str, Any]:
        """Fetch a DID's files into the cache with rucio-clients' DownloadClient, in the background."""
        if self.downloads is None:
            raise Refused(
                "this site has no download cache (download_cache is not configured); use make available instead",
                reason="no_download_cache",
            )
        downloads = self.downloads
        existing = downloads.job(str(did))
        if existing is not None and existing.state != "FAILED":
            return {"download": existing.progress(), "started": False}
        meta = await self.rucio(lambda c: c.get_metadata(did.scope, did.name, plugin="ALL"), what=f"read {did}")
        refusal = embargo_refusal(str(did), meta)
        if refusal is not None:
            raise refusal
        files = await self.rucio(lambda c: list(c.list_files(did.scope, did.name)), what=f"list the files of {did}")
        is_file = str(meta.get("did_type", "")).upper() == "FILE"
        # Where DownloadClient puts files under its base dir: <scope>/<file> for a file DID,
        # <collection name>/<file> for a collection.
        folder = did.scope if is_file else did.name.lstrip("/").split("/")[-1]
        expected = {
            f"{folder}/{f['name'].split('/')[-1]}": (f"{f['scope']}:{f['name']}", int(f.get("bytes") or 0))
            for f in files
        }
        replicas = await self._file_replicas(files, did) if files else []
        source_rses = sorted(
            {rse for r in replicas for rse, state in (r.get("states") or {}).items() if state == "AVAILABLE"}
        )
        credentials = await self.tokens.rucio_credentials()
        token = credentials.token
        if credentials.auth_type == "userpass":
            token = await self._userpass_token(credentials)

        def download(base_dir: Path) -> None:
            from rucio.client.downloadclient import DownloadClient

            ensure_client_config(downloads.cache_dir / ".rucio-client")
            client = TokenClient(self.config)
            client.set_credentials(token, credentials.account)
            prime_rse_info(client, source_rses)
            downloader = DownloadClient(client=client, logger=self.log, tracing=False)
            downloader.auth_token = None  # never hand the Rucio token to a storage endpoint
            try:
                downloader.download_dids([{"did": str(did), "base_dir": str(base_dir)}], num_threads=2)
            except Exception as error:
                raise translate_rucio_error(error, f"download {did}", token) from None

        job, started = downloads.start(str(did), did.scope, expected, download)
        return {"download": job.progress(), "started": started}

    async def download_progress(self, did: DID | None) -> list[dict[str, Any]]:
        if self.downloads is None:
            return []
        jobs = self.downloads.jobs() if did is None else [j for j in [self.downloads.job(str(did))] if j]
        # progress() looks at the files in the cache: file system work, off the event loop
        return await self._blocking(lambda: [j.progress() for j in jobs], service="the download cache")

    # -- rules ------------------------------------------------------------------------

    async def make_available(self, did: DID, target: Any, lifetime_days: Any) -> dict[str, Any]:
        expression = self.target_expression(target)
        days = _days(
            self.config.default_lifetime_days if lifetime_days is None else lifetime_days,
            "lifetime_days",
            self.config.max_lifetime_days,
        )
        lock = self._rule_locks.setdefault((str(did), expression), asyncio.Lock())
        async with lock:
            account = await self.account()
            lifetime = int(days * SECONDS_PER_DAY)
            existing = await self._find_rule(did, account, expression)
            if existing is not None:
                if _expires_before(existing, lifetime):
                    # Asked again for longer (or after a cancel, which Rucio applies softly):
                    # the one rule is extended instead of a second one being refused as a duplicate.
                    rule_id = existing.id
                    await self.rucio(
                        lambda c: c.update_replication_rule(rule_id, {"lifetime": lifetime}),
                        what=f"extend the rule on {did}",
                    )
                    existing = await self._find_rule(did, account, expression) or existing
                return {"rule": existing.to_json(), "created": False}
            try:
                await self.rucio(
                    lambda c: c.add_replication_rule(
                        [did.as_dict()],
                        copies=1,
                        rse_expression=expression,
                        lifetime=lifetime,
                        grouping="DATASET",
                        comment="escape-dlaas: make available",
                        ask_approval=False,
                        asynchronous=False,
                    ),
                    what=f"make {did} available",
                )
            except Conflict:
                pass  # created meanwhile by someone else with the same account: use theirs
            except PermissionDenied as denied:
                raise PermissionDenied(_refusal_reason_first(did, denied.message), reason="permission_denied") from None
            except NotFound:
                raise NotFound(f"{did} does not exist in {self.config.label}", reason="did_not_found") from None
            created = await self._find_rule(did, account, expression)
            if created is None:
                raise ServiceUnavailable("Rucio accepted the rule but does not list it; try again", service="Rucio")
            self._forget_availability()
            return {"rule": created.to_json(), "created": True}

    def _forget_availability(self) -> None:
        self.cache.drop(lambda key: isinstance(key, tuple) and key[0] == "availability")

    async def _find_rule(self, did: DID, account: str, expression: str) -> RuleSummary | None:
        expressions = await self.notebook_expressions()
        rules = await self.rucio(
            lambda c: list(
                c.list_replication_rules(
                    filters={"scope": did.scope, "name": did.name, "account": account, "rse_expression": expression}
                )
            ),
            what=f"list the rules on {did}",
        )
        matching = [summarise_rule(r, expressions) for r in rules if r.get("rse_expression") == expression]
        return matching[0] if matching else None

    async def _own_rule(self, rule_id: Any) -> dict[str, Any]:
        if not isinstance(rule_id, str) or len(rule_id) != 32 or set(rule_id.lower()) - set("0123456789abcdef"):
            raise InvalidInput("a rule id is 32 hexadecimal characters", field="rule_id", reason="invalid_rule_id")
        rule = await self.rucio(lambda c: c.get_replication_rule(rule_id), what=f"read rule {rule_id}")
        account = await self.account()
        if rule.get("account") != account:
            raise PermissionDenied(
                f"rule {rule_id} belongs to account {rule.get('account')}, not to you ({account})",
                reason="not_your_rule",
            )
        return dict(rule)

    async def extend_rule(self, rule_id: Any, lifetime_days: Any) -> dict[str, Any]:
        days = _days(lifetime_days, "lifetime_days", self.config.max_lifetime_days)
        await self._own_rule(rule_id)
        await self.rucio(
            lambda c: c.update_replication_rule(rule_id, {"lifetime": int(days * SECONDS_PER_DAY)}),
            what=f"change the lifetime of rule {rule_id}",
        )
        rule = await self.rucio(lambda c: c.get_replication_rule(rule_id), what=f"read rule {rule_id}")
        return {"rule": summarise_rule(rule, await self.notebook_expressions()).to_json()}

    async def cancel_rule(self, rule_id: Any) -> dict[str, Any]:
        await self._own_rule(rule_id)
        await self.rucio(
            lambda c: c.delete_replication_rule(rule_id, purge_replicas=False), what=f"cancel rule {rule_id}"
        )
        self._forget_availability()
        # Rucio deletes softly: the rule expires within its grace period (at most an hour),
        # then its cleaner removes it. Say when, so the panel can show it.
        rule = await self.rucio(lambda c: c.get_replication_rule(rule_id), what=f"read rule {rule_id}")
        return {"deleted": rule_id, "removal_at": summarise_rule(rule, ()).expires_at}

    # -- pickers ----------------------------------------------------------------------

    async def metadata_keys(self) -> list[str]:
        """Metadata keys seen on a sample of each scope's collections (for the filter builder)."""
        cached = self.cache.get("meta_keys", 300)
        if cached is None:
            keys: set[str] = set()
            for scope in await self.scopes():
                names = await self.rucio(
                    lambda c, s=scope: first_n(c.search_dids(s, [{"name": "*"}], "collection", 20), 20),  # type: ignore[misc]
                    what=f"sample scope {scope}",
                )
                sample = [DID(scope, _row_name(n)) for n in names]
                for meta in (await self.metadata_bulk(sample, plugin="JSON")).values() if sample else []:
                    keys.update(k for k in meta if k not in ("scope", "name"))
            cached = sorted(keys)
            self.cache.put("meta_keys", cached)
        return list(cached)


class DataLakeService:
    """All configured instances, the shared thread pool, and the answers about them."""

    def __init__(
        self,
        *,
        instances: Iterable[InstanceConfig],
        default_instance: str | None,
        max_workers: int = 8,
        search_page_size: int = 100,
        max_search_page_size: int = 1000,
        availability_max_age: float = 2.0,
        config_error: ConfigurationError | None = None,
        log: logging.Logger | None = None,
    ):
        self.log = log or logging.getLogger("escape_dlaas")
        self.executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="escape-dlaas")
        self.status_executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="escape-dlaas-status")
        self.instances = {
            i.name: InstanceService(i, self.executor, self.log, status_executor=self.status_executor) for i in instances
        }
        self.default_instance = default_instance
        self.search_page_size = search_page_size
        self.max_search_page_size = max_search_page_size
        self.availability_max_age = availability_max_age
        self.config_error = config_error

    def close(self) -> None:
        for instance in self.instances.values():
            instance.close()
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.status_executor.shutdown(wait=False, cancel_futures=True)

    def instance(self, name: str | None) -> InstanceService:
        if self.config_error is not None:
            raise self.config_error
        if not self.instances:
            raise ConfigurationError(
                "No Rucio instance is configured for this server. An administrator sets c.DLaaS.instances "
                "(or run `escape-dlaas lake up` and use its config for a local demo).",
                field="instances",
            )
        key = name or self.default_instance
        if key not in self.instances:
            raise NotFound(
                f"unknown instance {str(name)[:40]!r}; configured: {', '.join(sorted(self.instances))}",
                reason="unknown_instance",
            )
        return self.instances[key]

    def page_size(self, value: Any) -> int:
        if value in (None, ""):
            return self.search_page_size
        try:
            size = int(value)
        except (TypeError, ValueError):
            raise InvalidInput("page_size must be a whole number", field="page_size") from None
        if not 1 <= size <= self.max_search_page_size:
            raise InvalidInput(f"page_size must be between 1 and {self.max_search_page_size}", field="page_size")
        return size

    async def status(self, version: str) -> dict[str, Any]:
        answers = await asyncio.gather(*(i.ping() for i in self.instances.values()))
        return {
            "version": version,
            "default_instance": self.default_instance,
            "configuration_error": self.config_error.to_dict() if self.config_error else None,
            "instances": [
                {
                    "name": i.config.name,
                    "display_name": i.config.label,
                    "rucio_url": i.config.rucio_url,
                    "vo": i.config.vo,
                    **answer,
                }
                for i, answer in zip(self.instances.values(), answers, strict=True)
            ],
        }


_RUCIO_RULE_REFUSAL = re.compile(r"Account \S+ can not add replication rule\.?\s*(?P<why>.*)$", re.DOTALL)


def _refusal_reason_first(did: DID, message: str) -> str:
    """'<did> cannot be made available: <the policy's reason>' from Rucio's longer wording."""
    found = _RUCIO_RULE_REFUSAL.search(message)
    why = found.group("why").strip() if found and found.group("why").strip() else message
    return f"{did} cannot be made available: {why}"


def _expires_before(rule: RuleSummary, lifetime_seconds: int) -> bool:
    """Whether the rule ends sooner than a new one of this lifetime would."""
    if rule.expires_at is None:
        return False
    expires = datetime.fromisoformat(rule.expires_at)
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=timezone.utc)  # Rucio speaks UTC without saying so
    return expires < datetime.now(timezone.utc) + timedelta(seconds=lifetime_seconds - 60)


def _row_name(row: Any) -> str:
    return row if isinstance(row, str) else str(row["name"])


def _listing_row(scope: str, row: Any) -> dict[str, Any]:
    """A search result as the listing gives it: ``long`` rows carry type and size."""
    name = _row_name(row)
    out: dict[str, Any] = {"did": f"{scope}:{name}", "scope": scope, "name": name}
    return {**out, **_type_and_size(row)} if isinstance(row, Mapping) else out


def _type_and_size(row: Mapping[str, Any]) -> dict[str, Any]:
    """``type`` (FILE, DATASET, CONTAINER or None), ``bytes`` and ``length`` of a listing or metadata row."""
    return {
        "type": str(row.get("did_type") or "").upper() or None,
        "bytes": row.get("bytes"),
        "length": row.get("length"),
    }


def _chunks(items: list[T], size: int) -> Iterable[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# Columns of Rucio's DID table that are bookkeeping, not the scientist's metadata.
_BOOKKEEPING = {
    "scope", "name", "account", "did_type", "bytes", "length", "md5", "adler32", "guid", "events",
    "is_open", "monotonic", "hidden", "obsolete", "complete", "is_new", "availability", "suppressed",
    "purge_replicas", "expired_at", "deleted_at", "created_at", "updated_at", "accessed_at", "closed_at",
    "eol_at", "is_archive", "constituent", "access_cnt", "transient", "lumiblocknr", "panda_id", "task_id",
}  # fmt: skip


def _user_metadata(meta: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: (v.isoformat() if hasattr(v, "isoformat") else v)
        for k, v in meta.items()
        if k not in _BOOKKEEPING and v is not None
    }


def _common_dir(paths: list[str]) -> str | None:
    if not paths:
        return None
    import os

    common = os.path.commonpath(paths)
    return common if len(paths) > 1 else str(Path(common).parent)
