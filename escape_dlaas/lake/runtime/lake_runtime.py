"""Helpers shared by the programs that run inside the lake venv.

The orchestrator writes ``DIR/config/runtime.json`` (paths, ports, URLs, users; no
secret values, only the paths of secret files) and passes ``DIR`` in the environment
variable ``ESCAPE_DLAAS_LAKE_DIR``. Every runtime program reads it with :func:`load`.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

RUNTIME_CONFIG = Path("config") / "runtime.json"


def state_dir() -> Path:
    value = os.environ.get("ESCAPE_DLAAS_LAKE_DIR")
    if not value:
        sys.exit("ESCAPE_DLAAS_LAKE_DIR is not set: start this program through 'escape-dlaas lake up'")
    return Path(value)


def load() -> dict[str, Any]:
    with open(state_dir() / RUNTIME_CONFIG, encoding="utf-8") as handle:
        return json.load(handle)


def read_secret(path: str | Path) -> str:
    return Path(path).read_text(encoding="utf-8").strip()


def write_private(path: Path, text: str) -> None:
    """Write atomically, mode 0600, never following a symlink at the destination."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)  # replaces a symlink itself, never its target
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def setup_logging(name: str) -> logging.Logger:
    # INFO at most: the rucio and authlib loggers print headers (tokens) at DEBUG.
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s {name} %(levelname)s %(name)s: %(message)s")
    for noisy in ("urllib3", "authlib", "rucio", "sqlalchemy", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return logging.getLogger(name)
