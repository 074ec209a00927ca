"""``DIR/lake.json``: what a local lake runs where, read back as typed objects.

``load_lake_info(DIR)`` is the one way tests, demos and other parts read a lake's
description; the ``scenarios`` name the DIDs and targets of each demo and error path,
so nobody hard-codes them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .paths import LakePaths, default_state_dir
from .policies import DEFAULT_POLICY, Policy, policy_named
from .ports import Ports

FORMAT = 1


class LakeInfoError(Exception):
    """lake.json is missing or unreadable; the message says what to run."""


@dataclass(frozen=True)
class FileInfo:
    scope: str
    name: str
    bytes: int
    adler32: str
    md5: str

    @property
    def did(self) -> str:
        return f"{self.scope}:{self.name}"


@dataclass(frozen=True)
class RuleScenario:
    """A DID a rule is expected to succeed on, quickly."""

    did: str
    account: str
    rse_expression: str
    bytes: int
    files: tuple[FileInfo, ...]

    @property
    def scope(self) -> str:
        return self.did.split(":", 1)[0]

    @property
    def name(self) -> str:
        return self.did.split(":", 1)[1]


@dataclass(frozen=True)
class EmbargoScenario:
    """A DID listed in the catalogue on which the Rucio server refuses any rule."""

    did: str
    account: str
    rse_expression: str
    embargo_until: str
    reason: str  # appears in Rucio's AccessDenied message


@dataclass(frozen=True)
class QuotaScenario:
    """A rule refused because it exceeds the account's quota on the target."""

    did: str
    account: str
    rse_expression: str
    bytes: int
    limit_bytes: int
    error: str  # the Rucio exception class name


@dataclass(frozen=True)
class SearchScenario:
    """A metadata query and the DIDs it must return."""

    scope: str
    did_type: str
    filters: Mapping[str, Any]
    expected: tuple[str, ...]
    filter_string: str | None = None


@dataclass(frozen=True)
class Scenarios:
    quick_rule: RuleScenario
    embargo: EmbargoScenario
    quota: QuotaScenario
    quota_tiny: QuotaScenario
    metadata_search: SearchScenario
    calibration_lookup: SearchScenario
    containers: tuple[str, ...]
    doi_datasets: tuple[str, ...]


@dataclass(frozen=True)
class ClientInfo:
    client_id: str
    secret_file: Path
    grant_types: tuple[str, ...] = ()
    redirect_uris: tuple[str, ...] = ()


@dataclass(frozen=True)
class IssuerInfo:
    url: str  # exactly the ``iss`` claim, trailing slash included
    ca_bundle: Path
    token_endpoint: str
    jwks_uri: str
    token_lifetime_seconds: int
    clients: Mapping[str, ClientInfo]


@dataclass(frozen=True)
class DemoUser:
    name: str
    account: str
    sub: str
    email: str
    identity: str  # "SUB=<sub>, ISS=<issuer>" as mapped in Rucio
    token_file: Path
    password_file: Path
    token_audience: str
    quotas: Mapping[str, int]  # RSE -> bytes; -1 means unlimited


@dataclass(frozen=True)
class RseInfo:
    name: str
    path: Path
    qos: str
    attributes: Mapping[str, Any]


@dataclass(frozen=True)
class LakeInfo:
    state_dir: Path
    ports: Ports
    rucio_url: str
    auth_url: str
    vo: str
    rucio_version: str
    issuer: IssuerInfo
    users: tuple[DemoUser, ...]
    demo_user: str
    rses: tuple[RseInfo, ...]
    jupyter_config: Path
    instance_name: str
    scenarios: Scenarios | None
    policy: Policy  # Rucio's permission policy on this lake (``demo`` or ``generic``)
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    def user(self, name: str | None = None) -> DemoUser:
        wanted = name or self.demo_user
        for user in self.users:
            if user.name == wanted:
                return user
        raise KeyError(f"no demo user {wanted!r} in this lake (users: {', '.join(u.name for u in self.users)})")

    def rse(self, name: str) -> RseInfo:
        for rse in self.rses:
            if rse.name == name:
                return rse
        raise KeyError(f"no RSE {name!r} in this lake")

    @property
    def notebook_local(self) -> RseInfo:
        return next(r for r in self.rses if str(r.attributes.get("notebook_local")).lower() == "true")


def _files(items: list[dict[str, Any]]) -> tuple[FileInfo, ...]:
    return tuple(FileInfo(i["scope"], i["name"], int(i["bytes"]), i["adler32"], i["md5"]) for i in items)


def _search(data: Mapping[str, Any]) -> SearchScenario:
    return SearchScenario(
        scope=data["scope"],
        did_type=data["did_type"],
        filters=dict(data["filters"]),
        expected=tuple(data["expected"]),
        filter_string=data.get("filter_string"),
    )


def _quota(data: Mapping[str, Any]) -> QuotaScenario:
    return QuotaScenario(
        did=data["did"],
        account=data["account"],
        rse_expression=data["rse_expression"],
        bytes=int(data["bytes"]),
        limit_bytes=int(data["limit_bytes"]),
        error=data["error"],
    )


def parse_scenarios(data: Mapping[str, Any]) -> Scenarios:
    quick, embargo = data["quick_rule"], data["embargo"]
    return Scenarios(
        quick_rule=RuleScenario(
            did=quick["did"],
            account=quick["account"],
            rse_expression=quick["rse_expression"],
            bytes=int(quick["bytes"]),
            files=_files(quick["files"]),
        ),
        embargo=EmbargoScenario(
            did=embargo["did"],
            account=embargo["account"],
            rse_expression=embargo["rse_expression"],
            embargo_until=embargo["embargo_until"],
            reason=embargo["reason"],
        ),
        quota=_quota(data["quota"]),
        quota_tiny=_quota(data["quota_tiny"]),
        metadata_search=_search(data["metadata_search"]),
        calibration_lookup=_search(data["calibration_lookup"]),
        containers=tuple(data.get("containers", ())),
        doi_datasets=tuple(data.get("doi_datasets", ())),
    )


def parse_lake_info(data: Mapping[str, Any]) -> LakeInfo:
    issuer = data["issuer"]
    clients = {
        role: ClientInfo(
            client_id=c["client_id"],
            secret_file=Path(c["secret_file"]),
            grant_types=tuple(c.get("grant_types", ())),
            redirect_uris=tuple(c.get("redirect_uris", ())),
        )
        for role, c in issuer["clients"].items()
    }
    users = tuple(
        DemoUser(
            name=u["name"],
            account=u["account"],
            sub=u["sub"],
            email=u["email"],
            identity=u["identity"],
            token_file=Path(u["token_file"]),
            password_file=Path(u["password_file"]),
            token_audience=u["token_audience"],
            quotas={k: int(v) for k, v in u["quotas"].items()},
        )
        for u in data["users"]
    )
    rses = tuple(
        RseInfo(name=r["name"], path=Path(r["path"]), qos=r["qos"], attributes=dict(r["attributes"]))
        for r in data["rses"]
    )
    scenarios = data.get("scenarios")
    return LakeInfo(
        state_dir=Path(data["state_dir"]),
        ports=Ports(**{k: int(v) for k, v in data["ports"].items()}),
        rucio_url=data["rucio"]["url"],
        auth_url=data["rucio"]["auth_url"],
        vo=data["rucio"]["vo"],
        rucio_version=data["rucio"]["version"],
        issuer=IssuerInfo(
            url=issuer["url"],
            ca_bundle=Path(issuer["ca_bundle"]),
            token_endpoint=issuer["token_endpoint"],
            jwks_uri=issuer["jwks_uri"],
            token_lifetime_seconds=int(issuer["token_lifetime_seconds"]),
            clients=clients,
        ),
        users=users,
        demo_user=data["demo_user"],
        rses=rses,
        jupyter_config=Path(data["jupyter"]["config_file"]),
        instance_name=data["jupyter"]["instance_name"],
        scenarios=parse_scenarios(scenarios) if scenarios else None,
        # lake.json written before the policy option: the lake ran the demo policy
        policy=policy_named(data["rucio"].get("policy", DEFAULT_POLICY), "lake.json"),
        raw=data,
    )


def load_lake_info(state_dir: str | Path | None = None) -> LakeInfo:
    """Read ``DIR/lake.json`` (default DIR: ``$ESCAPE_DLAAS_LAKE_DIR`` or ``~/.local/share/escape-dlaas/lake``)."""
    root = Path(state_dir).expanduser().resolve() if state_dir else default_state_dir()
    path = LakePaths(root).lake_json
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LakeInfoError(f"no lake in {root}: run 'escape-dlaas lake up --state-dir {root}' first") from None
    except (OSError, ValueError) as error:
        raise LakeInfoError(f"{path} is unreadable ({error}); run 'escape-dlaas lake up' to rewrite it") from None
    if data.get("format") != FORMAT:
        raise LakeInfoError(f"{path} has format {data.get('format')!r}, expected {FORMAT}; run 'escape-dlaas lake up'")
    try:
        return parse_lake_info(data)
    except (KeyError, TypeError, ValueError) as error:
        raise LakeInfoError(f"{path} is incomplete ({error!r}); run 'escape-dlaas lake up' to rewrite it") from None
