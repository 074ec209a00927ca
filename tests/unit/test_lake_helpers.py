"""Pure helpers of the local data lake: layout, ports, config rendering, policy decision, processes."""

from __future__ import annotations

import configparser
import datetime as dt
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from escape_dlaas.config import parse_instances
from escape_dlaas.lake import LakeError, Ports, configs, free_ports, hash_lfn2pfn_path, local_replica_path, port_in_use
from escape_dlaas.lake.cli import main as cli_main
from escape_dlaas.lake.info import LakeInfoError, load_lake_info, parse_lake_info
from escape_dlaas.lake.lake import COMPONENTS, Lake, token_expiry
from escape_dlaas.lake.paths import LakePaths, default_state_dir
from escape_dlaas.lake.policies import POLICIES
from escape_dlaas.lake.ports import resolve_ports
from escape_dlaas.lake.procs import group_members, process_alive, remnants, spawn, terminate
from escape_dlaas.lake.runtime.escape_lake_policy.embargo import embargo_end, embargo_reason

TODAY = dt.date(2026, 1, 15)


# ---- layout -------------------------------------------------------------------------------------


def test_hash_lfn2pfn_follows_rucio_layout() -> None:
    digest = hashlib.md5(b"lofar:L1_SB000.MS.tar").hexdigest()
    assert hash_lfn2pfn_path("lofar", "L1_SB000.MS.tar") == f"lofar/{digest[:2]}/{digest[2:4]}/L1_SB000.MS.tar"


def test_hash_lfn2pfn_turns_user_scopes_into_directories() -> None:
    path = hash_lfn2pfn_path("user.alice", "notes.txt")
    assert path.startswith("user/alice/")
    assert path.endswith("/notes.txt")


def test_local_replica_path_joins_the_rse_root(tmp_path: Path) -> None:
    assert local_replica_path(tmp_path, "ska", "f") == tmp_path / hash_lfn2pfn_path("ska", "f")


def test_default_state_dir_honours_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ESCAPE_DLAAS_LAKE_DIR", str(tmp_path / "x"))
    assert default_state_dir() == tmp_path / "x"
    monkeypatch.delenv("ESCAPE_DLAAS_LAKE_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_state_dir() == tmp_path / "escape-dlaas" / "lake"


# ---- ports --------------------------------------------------------------------------------------


def test_ports_precedence_flag_over_env_over_recorded() -> None:
    ports = resolve_ports(
        {"rucio": 1111},
        {"ESCAPE_DLAAS_LAKE_RUCIO_PORT": "2222", "ESCAPE_DLAAS_LAKE_ISSUER_PORT": "3333"},
        {"issuer": 4444, "postgres": 5555},
    )
    assert ports == Ports(rucio=1111, issuer=3333, postgres=5555, memcached=Ports().memcached)


def test_ports_reject_clashes_and_garbage() -> None:
    with pytest.raises(ValueError, match="share a port"):
        resolve_ports({"rucio": 5000, "issuer": 5000}, {}, None)
    with pytest.raises(ValueError, match="ESCAPE_DLAAS_LAKE_POSTGRES_PORT"):
        resolve_ports({}, {"ESCAPE_DLAAS_LAKE_POSTGRES_PORT": "http"}, None)
    with pytest.raises(ValueError, match="outside"):
        resolve_ports({"memcached": 70000}, {}, None)


def test_port_in_use_sees_a_listener() -> None:
    port = free_ports(1)[0]
    assert not port_in_use(port)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", port))
        listener.listen()
        assert port_in_use(port)


def test_free_ports_are_distinct() -> None:
    ports = free_ports(4)
    assert len(set(ports)) == 4


def test_conflicting_ports_are_a_lake_error(tmp_path: Path) -> None:
    with pytest.raises(LakeError, match="distinct"):
        Lake(tmp_path, port_flags={"rucio": 4000, "issuer": 4000})


# ---- configuration files ------------------------------------------------------------------------


@pytest.fixture
def paths(tmp_path: Path) -> LakePaths:
    return LakePaths(tmp_path)


PORTS = Ports(rucio=28080, issuer=28443, postgres=25432, memcached=31211)


def _rucio_cfg(paths: LakePaths, policy: str = "demo") -> configparser.ConfigParser:
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read_string(configs.rucio_cfg(paths, PORTS, "dbpw", "rootpw", POLICIES[policy]))
    return cfg


def test_rucio_cfg_has_what_the_server_needs(paths: LakePaths) -> None:
    cfg = _rucio_cfg(paths)
    assert cfg["database"]["default"] == "postgresql+psycopg://rucio:dbpw@127.0.0.1:25432/rucio"
    assert cfg["metadata"]["plugins"] == "rucio.core.did_meta_plugins.json_meta.JSONDidMeta"
    assert cfg["policy"]["package"] == "escape_lake_policy"
    assert cfg["policy"]["lfn2pfn_algorithm_default"] == "hash"
    assert cfg["cache"]["url"] == "127.0.0.1:31211"
    assert cfg["conveyor"]["transfertool"] == "localcopy"
    assert cfg["oidc"]["expected_audience"] == "rucio"
    assert cfg["common"]["loglevel"] != "DEBUG"  # the rucio logger prints headers (tokens) at DEBUG
    assert "multi_vo" not in cfg["common"]  # any value, even "False", turns multi-VO on at bootstrap


def test_generic_policy_loads_no_policy_package(paths: LakePaths) -> None:
    # Without [policy] package Rucio falls back to rucio.core.permission.<permission>.
    cfg = _rucio_cfg(paths, "generic")
    assert "package" not in cfg["policy"]
    assert cfg["policy"]["permission"] == "generic"
    assert _rucio_cfg(paths, "demo")["policy"]["package"] == "escape_lake_policy"


def test_policy_precedence_flag_over_env_over_recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ESCAPE_DLAAS_LAKE_POLICY", raising=False)
    assert Lake(tmp_path).policy.name == "demo"  # nothing recorded: the default
    (tmp_path / "lake.json").write_text(json.dumps({"rucio": {"policy": "generic"}}))
    assert Lake(tmp_path).policy.name == "generic"  # a lake keeps its policy
    monkeypatch.setenv("ESCAPE_DLAAS_LAKE_POLICY", "demo")
    assert Lake(tmp_path).policy.name == "demo"
    assert Lake(tmp_path, policy="generic").policy.name == "generic"


def test_unknown_policy_is_a_lake_error_naming_the_choices(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESCAPE_DLAAS_LAKE_POLICY", "atlas")
    with pytest.raises(
        LakeError, match="ESCAPE_DLAAS_LAKE_POLICY: unknown policy 'atlas' \\(choose demo or generic\\)"
    ):
        Lake(tmp_path)


def test_a_policy_change_restarts_only_rucio_and_the_daemons(tmp_path: Path) -> None:
    demo, generic = Lake(tmp_path, ports=PORTS, policy="demo"), Lake(tmp_path, ports=PORTS, policy="generic")
    changed = {name for name in COMPONENTS if demo.fingerprint(name) != generic.fingerprint(name)}
    assert changed == {"rucio", "daemons"}
    moved = Lake(tmp_path, ports=PORTS.replace(rucio=1234), policy="demo")
    assert all(moved.fingerprint(name) != demo.fingerprint(name) for name in COMPONENTS)


def test_cli_refuses_an_unknown_policy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli_main(["lake", "up", "--state-dir", str(tmp_path), "--policy", "atlas"])
    assert exit_.value.code == 2
    assert "invalid choice: 'atlas'" in capsys.readouterr().err
    assert not (tmp_path / "lake.json").exists()


def test_idpsecrets_carries_every_key_rucio_requires() -> None:
    entry = configs.idpsecrets(PORTS, "s3cret")["lake"]
    assert entry["issuer"] == "https://127.0.0.1:28443/"
    assert {"client_id", "client_secret", "redirect_uris", "SCIM"} <= set(entry)
    assert entry["SCIM"]["issuer"] == entry["issuer"]


def test_only_designated_clients_may_exchange_tokens() -> None:
    clients = configs.issuer_clients(PORTS, {"escape-dlaas": "a", "jupyterhub": "b", "rucio": "c"})
    exchangers = {cid for cid, c in clients.items() if configs.EXCHANGE_GRANT in c["grant_types"]}
    assert exchangers == {"escape-dlaas", "rucio"}
    assert "authorization_code" in clients["jupyterhub"]["grant_types"]
    assert clients["jupyterhub"]["default_audience"] != "rucio"


def test_jupyter_config_passes_the_extensions_validation(paths: LakePaths) -> None:
    data = configs.jupyter_server_config(paths, PORTS, 3600)["DLaaS"]
    instances, default = parse_instances(data["instances"], data["default_instance"])
    instance = instances[0]
    assert default == "local-lake"
    assert instance.rucio_url == "http://127.0.0.1:28080"
    assert instance.ca_bundle == paths.ca
    assert instance.token_sources[0].path == paths.token_file("alice")
    assert instance.token_exchange is not None
    assert instance.token_exchange.client_id == "escape-dlaas"
    assert instance.notebook_local is not None
    assert instance.notebook_local.mount_path == paths.rse_dir("NOTEBOOK-LOCAL")


def test_short_tokens_get_a_shorter_refresh_margin(paths: LakePaths) -> None:
    exchange = configs.instance_config(paths, PORTS, 30)["token_exchange"]
    assert exchange["refresh_margin_seconds"] < 30


SEED_SCENARIOS = {
    "quick_rule": {
        "did": "ska:q",
        "account": "alice",
        "rse_expression": "NOTEBOOK-LOCAL",
        "bytes": 4,
        "files": [{"scope": "ska", "name": "q.fits", "bytes": 4, "adler32": "0000000a", "md5": "x"}],
    },
    "embargo": {
        "did": "cta:e",
        "account": "alice",
        "rse_expression": "NOTEBOOK-LOCAL",
        "embargo_until": "2030-01-01",
        "reason": "embargoed until 2030-01-01",
    },
    "quota": {
        "did": "lofar:big",
        "account": "alice",
        "rse_expression": "ESCAPE-CHEAP",
        "bytes": 9,
        "limit_bytes": 5,
        "error": "InsufficientAccountLimit",
    },
    "quota_tiny": {
        "did": "ska:q",
        "account": "bob",
        "rse_expression": "NOTEBOOK-LOCAL",
        "bytes": 9,
        "limit_bytes": 2,
        "error": "InsufficientAccountLimit",
    },
    "metadata_search": {
        "scope": "lofar",
        "did_type": "dataset",
        "filters": {"telescope": "lofar"},
        "expected": ["lofar:a"],
    },
    "calibration_lookup": {"scope": "km3net", "did_type": "dataset", "filters": {}, "expected": []},
    "containers": ["lofar:c"],
    "doi_datasets": [],
}


def test_lake_json_round_trips_into_typed_info(paths: LakePaths) -> None:
    data = configs.lake_json(paths, PORTS, 60, POLICIES["generic"], Path("/venv"), {"port": 25432}, {}, SEED_SCENARIOS)
    info = parse_lake_info(json.loads(json.dumps(data)))
    assert info.policy == POLICIES["generic"]
    assert not info.policy.owner_may_update_rules
    assert info.ports == PORTS
    assert info.issuer.url == "https://127.0.0.1:28443/"
    assert info.user().name == "alice"
    assert info.user("bob").quotas["ESCAPE-CHEAP"] == 2048
    assert info.notebook_local.name == "NOTEBOOK-LOCAL"
    assert info.scenarios is not None
    assert info.scenarios.quick_rule.files[0].did == "ska:q.fits"
    assert info.scenarios.embargo.reason.endswith("2030-01-01")


def test_lake_json_without_a_policy_is_a_demo_lake(paths: LakePaths) -> None:
    data = configs.lake_json(paths, PORTS, 60, POLICIES["generic"], Path("/venv"), {}, {}, None)
    del data["rucio"]["policy"]  # as written before the policy option
    assert parse_lake_info(data).policy.name == "demo"
    data["rucio"]["policy"] = "atlas"
    with pytest.raises(ValueError, match="unknown policy 'atlas'"):
        parse_lake_info(data)


def test_load_lake_info_names_the_fix_when_missing(tmp_path: Path) -> None:
    with pytest.raises(LakeInfoError, match="escape-dlaas lake up"):
        load_lake_info(tmp_path)


# ---- embargo decision ---------------------------------------------------------------------------


def test_embargo_end_reads_iso_dates_and_ignores_garbage() -> None:
    assert embargo_end({"embargo_until": "2027-06-01"}) == dt.date(2027, 6, 1)
    assert embargo_end({"embargo_until": "2027-06-01T00:00:00Z"}) == dt.date(2027, 6, 1)
    assert embargo_end({"embargo_until": "soon"}) is None
    assert embargo_end({}) is None


def test_embargo_reason_refuses_only_embargoes_in_force() -> None:
    assert embargo_reason([{"embargo_until": "2026-01-14"}], TODAY) is None
    assert embargo_reason([{"embargo_until": "2026-01-15"}], TODAY) is None  # ends today: lifted
    assert embargo_reason([{}, {"telescope": "cta"}], TODAY) is None
    reason = embargo_reason([{"embargo_until": "2026-03-01"}, {"embargo_until": "2027-06-01"}], TODAY)
    assert reason == "embargoed until 2027-06-01"


# ---- helpers and processes ----------------------------------------------------------------------


def test_token_expiry_reads_the_exp_claim() -> None:
    import base64

    payload = base64.urlsafe_b64encode(json.dumps({"exp": 1234}).encode()).decode().rstrip("=")
    assert token_expiry(f"e30.{payload}.sig") == 1234
    assert token_expiry("garbage") is None


def test_lake_error_names_the_fix() -> None:
    assert str(LakeError("port 1 is taken", fix="use --rucio-port")) == "port 1 is taken\n  fix: use --rucio-port"


def test_terminate_kills_the_whole_process_group(tmp_path: Path) -> None:
    # A leader that starts a grandchild ignoring SIGTERM: nothing may survive terminate().
    script = (
        "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', "
        "'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)']); time.sleep(60)"
    )
    record = spawn("test", [sys.executable, "-c", script], dict(os.environ), tmp_path / "test.log")
    deadline = time.monotonic() + 10
    while len(group_members(record.pgid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(group_members(record.pgid)) == 2
    terminate(record, timeout=2)
    assert not process_alive(record.pid, record.start_ticks)
    assert group_members(record.pgid) == []


def test_cli_status_of_an_empty_dir_says_stopped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["lake", "status", "--state-dir", str(tmp_path / "none")]) == 3
    assert "stopped" in capsys.readouterr().out


def test_cli_reset_refuses_a_foreign_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    assert cli_main(["lake", "reset", "--state-dir", str(tmp_path)]) == 2
    assert (tmp_path / "precious.txt").exists()
    assert "does not look like a lake state directory" in capsys.readouterr().err


def test_cli_runs_as_a_module_without_a_traceback_on_bad_ports(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    result = subprocess.run(
        [
            sys.executable,
            "-W",
            "ignore",
            "-m",
            "escape_dlaas.lake.cli",
            "lake",
            "up",
            "--state-dir",
            str(tmp_path),
            "--rucio-port",
            "5000",
            "--issuer-port",
            "5000",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "share a port" in result.stderr


def test_terminate_after_the_leader_died_kills_its_orphans(tmp_path: Path) -> None:
    # Like gunicorn workers after their master was SIGKILLed: they keep the port until killed.
    script = (
        "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
        "time.sleep(60)"
    )
    record = spawn("test", [sys.executable, "-c", script], dict(os.environ), tmp_path / "test.log")
    deadline = time.monotonic() + 10
    while len(group_members(record.pgid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(record.pid, signal.SIGKILL)
    while process_alive(record.pid, record.start_ticks) and time.monotonic() < deadline:
        time.sleep(0.05)
    orphans = remnants(record)
    assert len(orphans) == 1
    assert record.pid not in orphans
    terminate(record, timeout=2)
    assert remnants(record) == []
    assert group_members(record.pgid) == []
