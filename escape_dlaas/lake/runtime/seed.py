"""Create the lake's Rucio database and seed it with an ESCAPE-like catalogue.

Run by the orchestrator with the lake venv's Python::

    seed.py init        # schema, root, accounts, RSEs, catalogue; writes DIR/state/seed.json
    seed.py identities  # (re)map the demo users' OIDC identities to the current issuer URL

``init`` talks to the database in-process (Rucio's gateway API as ``root``), which is
much faster than HTTP and lets it run while the server starts. Files are written as
real bytes on the RSE directories at their deterministic ("hash") paths and registered
as replicas directly, with their true size, adler32 and md5.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lake_runtime

LOG = lake_runtime.setup_logging("seed")
ROOT = "root"
SAFE, CHEAP, LOCAL = "ESCAPE-SAFE", "ESCAPE-CHEAP", "NOTEBOOK-LOCAL"


@dataclass
class FileSpec:
    name: str
    size: int


@dataclass
class DatasetSpec:
    scope: str
    name: str
    meta: dict[str, Any]
    files: list[FileSpec]
    rses: list[str] = field(default_factory=lambda: [SAFE])


@dataclass
class ContainerSpec:
    scope: str
    name: str
    meta: dict[str, Any]
    datasets: list[DatasetSpec]


def hash_path(scope: str, name: str) -> str:
    """Rucio's ``hash`` lfn2pfn: ``scope/ab/cd/name`` (user./group. scopes become directories)."""
    digest = hashlib.md5(f"{scope}:{name}".encode()).hexdigest()  # noqa: S324 - Rucio's layout, not security
    if scope.startswith(("user", "group")):
        scope = scope.replace(".", "/")
    return f"{scope}/{digest[0:2]}/{digest[2:4]}/{name}"


def file_bytes(scope: str, name: str, size: int) -> bytes:
    """Deterministic content: a readable header, then pseudo-random bytes derived from the name."""
    header = f"escape-dlaas local lake sample file {scope}:{name}\n".encode()
    body = hashlib.shake_256(f"{scope}:{name}".encode()).digest(max(size - len(header), 0))
    return (header + body)[:size]


def catalogue(today: dt.date) -> list[ContainerSpec]:
    embargo_until = (today + dt.timedelta(days=365)).isoformat()

    def files(prefix: str, count: int, size: int, suffix: str) -> list[FileSpec]:
        return [FileSpec(f"{prefix}_{i:03d}{suffix}", size + 512 * i) for i in range(count)]

    lofar = [
        DatasetSpec(
            "lofar",
            f"L2023_{run}_{inst}",
            {
                "telescope": "lofar",
                "instrument": inst,
                "run": run,
                "obs_date": date,
                "target": target,
                "energy": freq,
                "energy_unit": "MHz",
                "energy_band": band,
                "data_level": "L1",
            },
            files(f"L{run}_SB", 3, 8_192, "_uv.MS.tar"),
            [SAFE, CHEAP],
        )
        for run, inst, date, target, freq, band in [
            (712341, "HBA", "2023-05-12", "3C196", 120.0, "HBA 110-190 MHz"),
            (712342, "HBA", "2023-05-19", "ELAIS-N1", 150.0, "HBA 110-190 MHz"),
            (712343, "HBA", "2023-06-02", "Bootes", 170.0, "HBA 110-190 MHz"),
            (712344, "LBA", "2023-06-09", "3C196", 60.0, "LBA 30-80 MHz"),
        ]
    ]
    lofar[1].meta["doi"] = "10.5072/escape.lofar.712342"
    lofar_raw = DatasetSpec(
        "lofar",
        "L2023_712399_HBA_raw",
        {
            "telescope": "lofar",
            "instrument": "HBA",
            "run": 712399,
            "obs_date": "2023-07-01",
            "target": "Crab",
            "energy": 145.0,
            "energy_unit": "MHz",
            "energy_band": "HBA 110-190 MHz",
            "data_level": "L0",
        },
        files("L712399_SB", 3, 65_536, "_raw.tar"),
    )

    ska = [
        DatasetSpec(
            "ska",
            f"AA05_obs_{obs:04d}",
            {
                "telescope": "ska",
                "instrument": "SKA-Low",
                "run": obs,
                "obs_date": date,
                "energy": freq,
                "energy_unit": "MHz",
                "energy_band": "SKA-Low 50-350 MHz",
                "data_level": "visibilities",
            },
            files(f"AA05_obs_{obs:04d}_chunk", 2, 12_288, ".ms.tar"),
        )
        for obs, date, freq in [(1, "2025-02-03", 110.0), (2, "2025-02-17", 230.0)]
    ]
    quicklook = DatasetSpec(
        "ska",
        "AA05_quicklook_0001",
        {
            "telescope": "ska",
            "instrument": "SKA-Low",
            "run": 1,
            "obs_date": "2025-02-03",
            "energy": 110.0,
            "energy_unit": "MHz",
            "data_level": "quicklook",
        },
        [FileSpec("AA05_quicklook_0001.fits", 4_096)],
    )

    cta = [
        DatasetSpec(
            "cta",
            f"LST1_run{run}_DL3",
            {
                "telescope": "cta",
                "instrument": "LST-1",
                "run": run,
                "obs_date": date,
                "target": target,
                "energy": energy,
                "energy_unit": "TeV",
                "energy_band": "VHE",
                "data_level": "DL3",
            },
            files(f"LST1_run{run}_DL3_part", 2, 10_240, ".fits.gz"),
        )
        for run, date, target, energy in [
            (3093, "2024-11-04", "Crab", 0.5),
            (3094, "2024-11-05", "Crab", 1.2),
            (3101, "2024-12-01", "Mrk421", 3.0),
        ]
    ]
    cta[0].meta["doi"] = "10.5072/escape.cta.lst1.3093"
    embargoed = DatasetSpec(
        "cta",
        "LST1_run7801_DL3",
        {
            "telescope": "cta",
            "instrument": "LST-1",
            "run": 7801,
            "obs_date": "2025-09-14",
            "target": "GRB250914A",
            "energy": 0.3,
            "energy_unit": "TeV",
            "energy_band": "VHE",
            "data_level": "DL3",
            "embargo_until": embargo_until,
        },
        files("LST1_run7801_DL3_part", 2, 10_240, ".fits.gz"),
    )

    km3net_calib = [
        DatasetSpec(
            "km3net",
            f"ARCA21_calibration_v{version}",
            {
                "telescope": "km3net",
                "instrument": "ARCA21",
                "data_level": "calibration",
                "calibration_version": version,
                "valid_from": valid_from,
                "valid_to": valid_to,
                "run_from": run_from,
                "run_to": run_to,
            },
            files(f"ARCA21_calib_v{version}", 1, 6_144, ".json"),
            [CHEAP],
        )
        for version, valid_from, valid_to, run_from, run_to in [
            (1, "2023-01-01", "2023-06-30", 12000, 12999),
            (2, "2023-07-01", "2023-12-31", 13000, 13999),
        ]
    ]
    km3net_events = [
        DatasetSpec(
            "km3net",
            f"ARCA21_run{run}_events",
            {
                "telescope": "km3net",
                "instrument": "ARCA21",
                "run": run,
                "obs_date": date,
                "energy": energy,
                "energy_unit": "GeV",
                "data_level": "L2",
            },
            files(f"ARCA21_run{run}_events", 2, 9_216, ".h5"),
            [SAFE, CHEAP],
        )
        for run, date, energy in [(12345, "2023-03-10", 100.0), (13456, "2023-09-22", 1000.0)]
    ]
    km3net_events[1].meta["doi"] = "10.5072/escape.km3net.arca21.13456"

    return [
        ContainerSpec("lofar", "LOFAR_LTA_Cycle18", {"telescope": "lofar", "cycle": 18}, [*lofar, lofar_raw]),
        ContainerSpec("ska", "SKA_Low_AA05_commissioning", {"telescope": "ska"}, [*ska, quicklook]),
        ContainerSpec("cta", "CTA_LST1_DL3_2024", {"telescope": "cta"}, [*cta, embargoed]),
        ContainerSpec("km3net", "KM3NeT_ARCA21_2023", {"telescope": "km3net"}, [*km3net_calib, *km3net_events]),
    ]


def matches(meta: dict[str, Any], filters: dict[str, Any]) -> bool:
    """Evaluate Rucio-style filters ({'key': v, 'key.gt': v}) in Python, to predict search results."""
    ops = {"gt": lambda a, b: a > b, "gte": lambda a, b: a >= b, "lt": lambda a, b: a < b, "lte": lambda a, b: a <= b}
    for key, value in filters.items():
        name, _, op = key.partition(".")
        if name not in meta:
            return False
        if op and not ops[op](meta[name], value):
            return False
        if not op and meta[name] != value:
            return False
    return True


def _checksums(data: bytes) -> tuple[str, str]:
    return f"{zlib.adler32(data) & 0xFFFFFFFF:08x}", hashlib.md5(data).hexdigest()  # noqa: S324 - catalogue checksum


def init(config: dict[str, Any]) -> None:
    from rucio.db.sqla.util import build_database, create_base_vo, create_root_account
    from rucio.gateway import account, account_limit, did, replica, rse, scope

    state_dir = lake_runtime.state_dir()
    LOG.info("building the Rucio schema")
    build_database()
    create_base_vo()
    create_root_account()

    for user in config["users"]:
        account.add_account(user["account"], "USER", user["email"], issuer=ROOT)
        scope.add_scope(f"user.{user['account']}", user["account"], issuer=ROOT)
    for telescope in ("lofar", "ska", "cta", "km3net"):
        scope.add_scope(telescope, ROOT, issuer=ROOT)
    _map_identities(config)

    LOG.info("adding RSEs")
    for item in config["rses"]:
        rse.add_rse(item["name"], issuer=ROOT)
        Path(item["path"]).mkdir(parents=True, exist_ok=True)
        rse.add_protocol(
            item["name"],
            issuer=ROOT,
            data={
                "scheme": "file",
                "hostname": "localhost",
                "port": 0,
                "prefix": item["path"].rstrip("/") + "/",
                "impl": "rucio.rse.protocols.posix.Default",
                "domains": {
                    "lan": {"read": 1, "write": 1, "delete": 1},
                    "wan": {
                        "read": 1,
                        "write": 1,
                        "delete": 1,
                        "third_party_copy_read": 1,
                        "third_party_copy_write": 1,
                    },
                },
            },
        )
        for key, value in item["attributes"].items():
            rse.add_rse_attribute(item["name"], key, value, issuer=ROOT)
    names = [item["name"] for item in config["rses"]]
    for source in names:
        for destination in names:
            if source != destination:
                rse.add_distance(source, destination, issuer=ROOT, distance=1)

    for rse_name in names:
        account_limit.set_local_account_limit(ROOT, rse_name, -1, issuer=ROOT)  # root pins the seeded data
    for user in config["users"]:
        for rse_name, limit in user["quotas"].items():
            account_limit.set_local_account_limit(user["account"], rse_name, int(limit), issuer=ROOT)

    LOG.info("seeding the catalogue")
    rse_paths = {item["name"]: Path(item["path"]) for item in config["rses"]}
    today = dt.date.today()
    containers = catalogue(today)
    described: dict[str, dict[str, Any]] = {}
    for container in containers:
        did.add_did(container.scope, container.name, "CONTAINER", issuer=ROOT, meta=None)
        did.set_metadata_bulk(container.scope, container.name, container.meta, issuer=ROOT)
        for dataset in container.datasets:
            described[f"{dataset.scope}:{dataset.name}"] = _seed_dataset(dataset, rse_paths, did, replica)
        did.attach_dids(
            container.scope,
            container.name,
            {"dids": [{"scope": d.scope, "name": d.name} for d in container.datasets]},
            issuer=ROOT,
        )

    scenarios = _scenarios(containers, described, config)
    lake_runtime.write_private(
        state_dir / "state" / "seed.json",
        json.dumps(
            {
                "seeded_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "scenarios": scenarios,
                "datasets": sorted(described),
                "containers": [f"{c.scope}:{c.name}" for c in containers],
            },
            indent=2,
        ),
    )
    LOG.info("catalogue seeded: %d datasets", len(described))


def _seed_dataset(dataset: DatasetSpec, rse_paths: dict[str, Path], did: Any, replica: Any) -> dict[str, Any]:
    from rucio.gateway import rule

    did.add_did(dataset.scope, dataset.name, "DATASET", issuer=ROOT, meta=None)
    did.set_metadata_bulk(dataset.scope, dataset.name, dataset.meta, issuer=ROOT)
    records = []
    for spec in dataset.files:
        data = file_bytes(dataset.scope, spec.name, spec.size)
        adler32, md5 = _checksums(data)
        records.append({"scope": dataset.scope, "name": spec.name, "bytes": len(data), "adler32": adler32, "md5": md5})
        for rse_name in dataset.rses:
            path = rse_paths[rse_name] / hash_path(dataset.scope, spec.name)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    for rse_name in dataset.rses:
        replica.add_replicas(rse_name, [dict(r) for r in records], issuer=ROOT)  # the gateway mutates them
    did.attach_dids(
        dataset.scope, dataset.name, {"dids": [{"scope": r["scope"], "name": r["name"]} for r in records]}, issuer=ROOT
    )
    for rse_name in dataset.rses:
        # Root pins the seeded copies, as a data manager would: nothing may clean them up.
        rule.add_replication_rule(
            dids=[{"scope": dataset.scope, "name": dataset.name}],
            copies=1,
            rse_expression=rse_name,
            weight=None,
            lifetime=None,
            grouping="DATASET",
            account=ROOT,
            locked=False,
            subscription_id=None,
            source_replica_expression=None,
            activity=None,
            notify=None,
            purge_replicas=False,
            ignore_availability=False,
            comment="lake seed: archive copy",
            ask_approval=False,
            asynchronous=False,
            delay_injection=None,
            priority=3,
            split_container=False,
            meta=None,
            issuer=ROOT,
        )
    return {
        "did": f"{dataset.scope}:{dataset.name}",
        "scope": dataset.scope,
        "name": dataset.name,
        "bytes": sum(r["bytes"] for r in records),
        "files": records,
        "rses": dataset.rses,
        "meta": dataset.meta,
    }


def _scenarios(
    containers: list[ContainerSpec], described: dict[str, dict[str, Any]], config: dict[str, Any]
) -> dict[str, Any]:
    datasets = [d for c in containers for d in c.datasets]
    demo_user, tiny_user = config["users"][0], config["users"][1]
    demo = demo_user["account"]
    search_filters = {"telescope": "lofar", "energy.gt": 140}
    expected = sorted(f"{d.scope}:{d.name}" for d in datasets if d.scope == "lofar" and matches(d.meta, search_filters))
    embargoed = described["cta:LST1_run7801_DL3"]
    quota = described["lofar:L2023_712399_HBA_raw"]
    quick = described["ska:AA05_quicklook_0001"]
    calibration = sorted(
        f"{d.scope}:{d.name}"
        for d in datasets
        if matches(d.meta, {"telescope": "km3net", "data_level": "calibration"})
        and d.meta["valid_from"] <= "2023-09-01" <= d.meta["valid_to"]
    )
    return {
        "quick_rule": {
            "description": "a one-file dataset on ESCAPE-SAFE; a rule to NOTEBOOK-LOCAL copies it in seconds",
            "did": quick["did"],
            "account": demo,
            "rse_expression": LOCAL,
            "bytes": quick["bytes"],
            "files": quick["files"],
            "source_rses": quick["rses"],
        },
        "embargo": {
            "description": "visible in the catalogue, but the Rucio server refuses any rule on it",
            "did": embargoed["did"],
            "account": demo,
            "rse_expression": LOCAL,
            "embargo_until": embargoed["meta"]["embargo_until"],
            "reason": f"embargoed until {embargoed['meta']['embargo_until']}",
            "container": "cta:CTA_LST1_DL3_2024",
        },
        "quota": {
            "description": f"{demo}'s quota on {CHEAP} is smaller than this dataset: the rule is refused",
            "did": quota["did"],
            "account": demo,
            "rse_expression": CHEAP,
            "bytes": quota["bytes"],
            "limit_bytes": demo_user["quotas"][CHEAP],
            "error": "InsufficientAccountLimit",
        },
        "quota_tiny": {
            "description": f"{tiny_user['account']} has a tiny quota on every RSE: any real dataset is refused",
            "did": quick["did"],
            "account": tiny_user["account"],
            "rse_expression": LOCAL,
            "bytes": quick["bytes"],
            "limit_bytes": tiny_user["quotas"][LOCAL],
            "error": "InsufficientAccountLimit",
        },
        "metadata_search": {
            "description": "LOFAR datasets above 140 MHz",
            "scope": "lofar",
            "did_type": "dataset",
            "filters": search_filters,
            "filter_string": "telescope=lofar,energy>140",
            "expected": expected,
        },
        "calibration_lookup": {
            "description": "KM3NeT calibration valid on 2023-09-01",
            "scope": "km3net",
            "did_type": "dataset",
            "filters": {
                "telescope": "km3net",
                "data_level": "calibration",
                "valid_from.lte": "2023-09-01",
                "valid_to.gte": "2023-09-01",
            },
            "expected": calibration,
        },
        "containers": [f"{c.scope}:{c.name}" for c in containers],
        "doi_datasets": sorted(f"{d.scope}:{d.name}" for d in datasets if "doi" in d.meta),
    }


def _map_identities(config: dict[str, Any]) -> None:
    from rucio.common.exception import Duplicate
    from rucio.gateway import identity

    for user in config["users"]:
        oidc = f"SUB={user['sub']}, ISS={config['issuer_url']}"
        with contextlib.suppress(Duplicate):
            identity.add_account_identity(oidc, "OIDC", user["account"], user["email"], issuer=ROOT, default=True)
        password = lake_runtime.read_secret(user["password_file"])
        with contextlib.suppress(Duplicate):
            identity.add_account_identity(
                user["account"],
                "USERPASS",
                user["account"],
                user["email"],
                issuer=ROOT,
                default=True,
                password=password,
            )


def main() -> None:
    config = lake_runtime.load()
    phase = sys.argv[1] if len(sys.argv) > 1 else "init"
    if phase == "init":
        init(config)
    elif phase == "identities":
        _map_identities(config)
        LOG.info("OIDC identities mapped to %s", config["issuer_url"])
    else:
        sys.exit(f"unknown phase {phase!r}: use 'init' or 'identities'")


if __name__ == "__main__":
    main()
