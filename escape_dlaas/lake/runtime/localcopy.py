"""LOCAL-COPY TRANSFER STAND-IN FOR FTS. Only for the one-machine local data lake.

Rucio's conveyor hands transfers to a "transfertool" (FTS in production). None of the
in-tree ones copies between two local directories, so the lake registers this one in
``rucio.core.transfer.TRANSFERTOOL_CLASSES_BY_NAME`` under the name ``localcopy``:

- ``submit`` copies the real bytes source -> destination (``file://`` URLs), through a
  temporary file and an atomic rename, and returns a job id;
- ``bulk_query`` looks at the destination: DONE when it has the expected size and
  adler32, FAILED (with the reason) otherwise. It is stateless, so it survives a restart.

Nothing on the notebook side may depend on this class.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import uuid
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from rucio.db.sqla.constants import RequestState
from rucio.transfertool.mock import MockTransfertool
from rucio.transfertool.transfertool import TransferStatusReport, TransferToolBuilder

LOGGER = logging.getLogger("localcopy")
NAME = "localcopy"


def url_to_path(url: str) -> Path:
    parsed = urlparse(url)
    if parsed.scheme != "file":
        raise ValueError(f"the local copy stand-in handles file:// URLs only, got {parsed.scheme}://")
    return Path(unquote(parsed.path))


def adler32_of(path: Path) -> str:
    value = 1
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            value = zlib.adler32(chunk, value)
    return f"{value & 0xFFFFFFFF:08x}"


def copy_file(source: Path, destination: Path) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    tmp = destination.with_name(f".{destination.name}.{uuid.uuid4().hex[:8]}.part")
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, destination)
    finally:
        tmp.unlink(missing_ok=True)


def destination_problem(request: dict[str, Any]) -> str | None:
    """Why the destination of a transfer request is not a good copy, or None when it is."""
    try:
        path = url_to_path(request["dest_url"])
    except (KeyError, TypeError, ValueError) as error:
        return f"no usable destination URL: {error}"
    if not path.is_file():
        return "destination file missing after copy"
    expected_bytes = request.get("bytes")
    if expected_bytes is not None and path.stat().st_size != int(expected_bytes):
        return f"destination has {path.stat().st_size} bytes, expected {expected_bytes}"
    expected_adler = request.get("adler32")
    if expected_adler and adler32_of(path) != str(expected_adler).lower().zfill(8):
        return "destination adler32 does not match the catalogue"
    return None


class LocalCopyStatusReport(TransferStatusReport):
    supported_db_fields = ["state", "external_id", "err_msg", "transferred_at"]

    def __init__(self, request_id: str, external_id: str, request: dict[str, Any]):
        super().__init__(request_id, request)
        self.external_id = external_id
        problem = destination_problem(request)
        self.state = RequestState.FAILED if problem else RequestState.DONE
        self.err_msg = f"localcopy: {problem}" if problem else None
        self.transferred_at = dt.datetime.utcnow() if not problem else None

    def initialize(self, session: Any, logger: Any = logging.log) -> None:
        pass

    def get_monitor_msg_fields(self, session: Any, logger: Any = logging.log) -> dict[str, Any]:
        return {}


class LocalCopyTransfertool(MockTransfertool):
    """Transfertool that copies files between local POSIX RSEs: a stand-in for FTS."""

    external_name = NAME
    required_rse_attrs = ()
    supported_schemes = {"file"}

    @classmethod
    def submission_builder_for_path(cls, transfer_path: list[Any], logger: Any = logging.log) -> tuple[list[Any], Any]:
        return transfer_path, TransferToolBuilder(cls, external_host="localcopy://127.0.0.1")

    def submit(self, transfers: Any, job_params: dict[str, str], timeout: int | None = None) -> str:
        job_id = str(uuid.uuid4())
        for transfer in transfers:
            source_url = transfer.source_url(transfer.src)
            try:
                copy_file(url_to_path(source_url), url_to_path(transfer.dest_url))
                LOGGER.info("copied %s:%s -> %s", transfer.rws.scope, transfer.rws.name, transfer.dst.rse.name)
            except (OSError, ValueError) as error:
                # Reported as FAILED by bulk_query, which sees no good destination file.
                LOGGER.warning("copy of %s:%s failed: %s", transfer.rws.scope, transfer.rws.name, error)
        return job_id

    def bulk_query(self, requests_by_eid: Any, timeout: int | None = None) -> dict[str, dict[str, Any]]:
        response: dict[str, dict[str, Any]] = {}
        for job_id, requests in requests_by_eid.items():
            for request_id, request in requests.items():
                response.setdefault(job_id, {})[request_id] = LocalCopyStatusReport(request_id, job_id, dict(request))
        return response


def register() -> None:
    from rucio.core import transfer

    transfer.TRANSFERTOOL_CLASSES_BY_NAME[NAME] = LocalCopyTransfertool
