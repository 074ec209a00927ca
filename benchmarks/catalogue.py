"""The benchmark catalogue: names, metadata and the watched sets, shared by seeding and measuring.

Scope ``survey`` (owned by root): 1,000 datasets ``SRV_obs_0000`` .. ``SRV_obs_0999``, each with
100 files ``SRV_obs_DDDD_FFF.fits`` registered (catalogue entries and replicas, no bytes) on
ESCAPE-SAFE. JSON metadata on every dataset and on the 10,000 files of the first 100 datasets.

For the availability benchmark, the files of datasets 0-32 also have AVAILABLE replicas on
NOTEBOOK-LOCAL ("available"), those of datasets 33-65 COPYING replicas there ("replicating",
as while a transfer runs), the rest none ("not here"); alice (the benchmark's user) has one
rule towards NOTEBOOK-LOCAL on each of datasets 0-65, as the extension's make-available leaves
them (OK, respectively REPLICATING, without any transfer to run).
"""

from __future__ import annotations

import datetime as dt
import zlib
from typing import Any

SCOPE = "survey"
N_DATASETS = 1000
FILES_PER_DATASET = 100
FILE_META_DATASETS = 100  # files of datasets 0..99 carry JSON metadata too
AVAILABLE_DATASETS = range(0, 33)
REPLICATING_DATASETS = range(33, 66)
INSTRUMENTS = ("CAM-A", "CAM-B", "CAM-C", "CAM-D")
# Bump when the catalogue's shape changes: seeding then starts over in a fresh lake.
VERSION = 1


def dataset_name(d: int) -> str:
    return f"SRV_obs_{d:04d}"


def file_name(d: int, f: int) -> str:
    return f"SRV_obs_{d:04d}_{f:03d}.fits"


def file_bytes(d: int, f: int) -> int:
    return 2_000_000 + 1_000 * f + d


def fake_adler32(d: int, f: int) -> str:
    """A well-formed checksum for a catalogue entry without bytes (nobody reads these files)."""
    return f"{zlib.adler32(file_name(d, f).encode()) & 0xFFFFFFFF:08x}"


def dataset_meta(d: int) -> dict[str, Any]:
    return {
        "telescope": "survey",
        "instrument": INSTRUMENTS[d % len(INSTRUMENTS)],
        "run": 100_000 + d,
        "obs_date": (dt.date(2024, 1, 1) + dt.timedelta(days=d % 365)).isoformat(),
        "energy": float(10 + (d * 37) % 500),
        "energy_unit": "GeV",
        "data_level": ("L1", "L2")[d % 2],
    }


def file_meta(d: int, f: int) -> dict[str, Any]:
    meta = dataset_meta(d)
    meta.update({"chunk": f, "energy": round(meta["energy"] + f * 0.5, 1)})
    return meta


# ---- the big dataset (details view) ----------------------------------------------------------

# One dataset of 80,000 files (catalogue entries and ESCAPE-SAFE replicas, no bytes); its names
# match none of the search queries below.
BIG_DATASET = "BIGSET_80k"
BIG_FILES = 80_000


def big_file_name(n: int) -> str:
    return f"BIGSET_80k_{n:05d}.dat"


# ---- the three search queries -------------------------------------------------------------

# (a) a name wildcard over the 100k-file scope: every file matches.
WILDCARD = {"label": "a) name wildcard, scope of 100k files", "scope": SCOPE, "q": "SRV_obs_*.fits", "type": "file"}
# (b) metadata: an inequality and an OR group (JSON metadata plugin).
METADATA_FILTER_TEXT = "energy>=400;instrument=CAM-B,run<100200"
METADATA_FILTER_RUCIO = [{"energy.gte": 400}, {"instrument": "CAM-B", "run.lt": 100200}]
METADATA = {
    "label": "b) metadata: inequality + OR group",
    "scope": SCOPE,
    "q": None,
    "type": "all",
    "filter": METADATA_FILTER_TEXT,
}
# (c) every scope: a pattern that matches in two scopes, DIDs of any type.
ALL_SCOPES = {"label": "c) all scopes, name wildcard", "scope": None, "q": "*obs_00*", "type": "all"}
QUERIES = (WILDCARD, METADATA, ALL_SCOPES)


def rucio_filters(query: dict[str, Any]) -> list[dict[str, Any]]:
    """The filter a scientist would pass to rucio-clients' list_dids for the same query."""
    if query.get("filter"):
        return [dict(group) for group in METADATA_FILTER_RUCIO]
    return [{"name": query["q"]}]


# ---- watched sets for the availability benchmark -----------------------------------------


def watched_datasets(count: int) -> list[str]:
    """``count`` datasets, as evenly as possible from available / replicating / not here."""
    pools = [
        list(AVAILABLE_DATASETS),
        list(REPLICATING_DATASETS),
        [d for d in range(66, N_DATASETS)],
    ]
    return [f"{SCOPE}:{dataset_name(d)}" for d in _mix(pools, count)]


def watched_files(count: int) -> list[str]:
    """``count`` files, mixed the same way (one file from each of many datasets)."""
    pools = [
        [(d, f) for f in range(0, FILES_PER_DATASET, 7) for d in AVAILABLE_DATASETS],
        [(d, f) for f in range(0, FILES_PER_DATASET, 7) for d in REPLICATING_DATASETS],
        [(d, f) for f in range(0, FILES_PER_DATASET, 7) for d in range(66, 99)],
    ]
    return [f"{SCOPE}:{file_name(d, f)}" for d, f in _mix(pools, count)]


def _mix(pools: list[list[Any]], count: int) -> list[Any]:
    out: list[Any] = []
    index = 0
    while len(out) < count:
        pool = pools[len(out) % len(pools)]
        out.append(pool[index % len(pool)])
        if len(out) % len(pools) == 0:
            index += 1
    return out
