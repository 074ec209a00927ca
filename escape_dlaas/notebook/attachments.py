"""Notebooks that carry their data: the DIDs and searches attached to a notebook, from its kernel.

The frontend keeps them in the notebook's metadata, under one key::

    "escape-dlaas": {"version": 1, "attachments": [
        {"kind": "did", "instance": "escape", "did": "lofar:L2023_712342_HBA"},
        {"kind": "query", "instance": "escape", "pattern": "*", "filters": "telescope=lofar",
         "scope": "", "type": "dataset",
         "resolved": {"dids": ["lofar:..."], "at": "2026-12-02T13:00:00Z", "truncated": false}}]}

(the shape of ``src/attachments/metadata.ts``, read here by the same rules). They travel
with the file: git, e-mail, MyBinder.

:func:`attached` reads the **saved** notebook (the kernel's own, named by the
``JPY_SESSION_NAME`` variable jupyter_server gives its kernels, or the one named) and
returns each attachment with its availability and the local paths of its files.

:func:`attach` adds a DID or a search. The open notebook belongs to the frontend, so
from the notebook's own kernel the attachment is *sent to the frontend* (a comm), which
adds it to the open notebook as an unsaved edit: nothing writes the file under the
frontend's feet. With ``notebook=`` (or outside a kernel) the file on disk is rewritten
(atomically); a notebook open in JupyterLab then says at its next save that the file
changed on disk ("Revert" takes the attachment, "Overwrite" drops it).
"""

from __future__ import annotations

import json
import os
import tempfile
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from .lake import DataLake

METADATA_KEY = "escape-dlaas"
METADATA_VERSION = 1
COMM_TARGET = "escape-dlaas.attachments"  # src/attachments/plugin.ts listens on it
SESSION_VARIABLE = "JPY_SESSION_NAME"
MAX_RESOLVED_DIDS = 500
QUERY_TYPES = ("all", "collection", "dataset", "container", "file")
AVAILABLE = "AVAILABLE"


@dataclass(frozen=True)
class Attachment:
    """One attachment of a notebook, with what the lake says of its DIDs now.

    ``kind`` is ``"did"`` or ``"query"``; ``dids`` the DID, or the DIDs the query found
    when it was last resolved (by the panel's "Search again", or ``attached(resolve=True)``);
    ``availability`` and ``paths`` per DID: the state at the notebook and the local paths
    of the files that are there.
    """

    kind: str
    instance: str
    dids: tuple[str, ...]
    query: Mapping[str, str] | None = None
    resolved_at: str | None = None
    truncated: bool = False
    availability: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    paths: Mapping[str, Sequence[str]] = field(default_factory=dict)

    @property
    def did(self) -> str | None:
        """The DID of a DID attachment (None for a query)."""
        return self.dids[0] if self.kind == "did" and self.dids else None

    @property
    def available(self) -> bool:
        """Whether every file of every DID is at the notebook."""
        return bool(self.dids) and all(self.availability.get(did, {}).get("state") == AVAILABLE for did in self.dids)

    @property
    def local_paths(self) -> list[str]:
        """Every local path of the attachment's files that are at the notebook."""
        return [path for did in self.dids for path in self.paths.get(did, ())]

    def __repr__(self) -> str:
        what = self.did if self.kind == "did" else _describe_query(self.query or {})
        state = "available" if self.available else "not all at the notebook"
        return f"<Attachment {self.kind} {what}: {len(self.local_paths)} local files, {state}>"


def _describe_query(query: Mapping[str, str]) -> str:
    parts = [f"{query['scope']}:{query.get('pattern') or '*'}" if query.get("scope") else query.get("pattern") or "*"]
    if query.get("filters"):
        parts.append(str(query["filters"]))
    return " ".join(parts)


# -- the metadata ------------------------------------------------------------------------------------


def read_attachments(metadata: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The readable attachments of a notebook's metadata (its ``metadata`` dict), each once, in order.

    Entries that cannot be read are left out, as the frontend does.
    """
    value = (metadata or {}).get(METADATA_KEY)
    entries = value.get("attachments") if isinstance(value, Mapping) else None
    found: list[dict[str, Any]] = []
    seen: set[str] = set()
    for entry in entries if isinstance(entries, list) else []:
        attachment = _read_one(entry)
        if attachment is not None and _key(attachment) not in seen:
            seen.add(_key(attachment))
            found.append(attachment)
    return found


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _read_one(entry: Any) -> dict[str, Any] | None:
    if not isinstance(entry, Mapping):
        return None
    instance = _text(entry.get("instance"))
    if entry.get("kind") == "did":
        did = entry.get("did")
        return {"kind": "did", "instance": instance, "did": did} if isinstance(did, str) and ":" in did else None
    if entry.get("kind") != "query":
        return None
    resolved = entry.get("resolved")
    dids = resolved.get("dids") if isinstance(resolved, Mapping) else None
    return {
        "kind": "query",
        "instance": instance,
        "pattern": _text(entry.get("pattern")),
        "filters": _text(entry.get("filters")),
        "scope": _text(entry.get("scope")),
        "type": entry.get("type") if entry.get("type") in QUERY_TYPES else "all",
        "resolved": {
            "dids": dids[:MAX_RESOLVED_DIDS],
            "at": _text(resolved.get("at")),  # type: ignore[union-attr]
            "truncated": resolved.get("truncated") is True or len(dids) > MAX_RESOLVED_DIDS,  # type: ignore[union-attr]
        }
        if isinstance(dids, list) and all(isinstance(d, str) for d in dids)
        else None,
    }


def _key(attachment: Mapping[str, Any]) -> str:
    if attachment["kind"] == "did":
        return "\0".join(("did", attachment["instance"], attachment["did"]))
    fields = ("instance", "pattern", "filters", "scope", "type")
    return "\0".join(["query", *(attachment[f] for f in fields)])


def with_attachment(metadata: Mapping[str, Any] | None, attachment: Mapping[str, Any]) -> dict[str, Any] | None:
    """The metadata value (under METADATA_KEY) with ``attachment`` added; None when it is there already.

    A notebook written by a newer version is not rewritten (its shape is not known here).
    """
    value = (metadata or {}).get(METADATA_KEY)
    version = value.get("version") if isinstance(value, Mapping) else None
    if isinstance(version, int) and version > METADATA_VERSION:
        raise InvalidInput(
            "This notebook's attachments were saved by a newer version of escape-dlaas; "
            "update escape-dlaas to change them.",
            field="notebook",
        )
    current = read_attachments(metadata)
    if any(_key(one) == _key(attachment) for one in current):
        return None
    return {"version": METADATA_VERSION, "attachments": [*current, dict(attachment)]}


# -- which notebook ------------------------------------------------------------------------------------


def notebook_path(notebook: str | os.PathLike[str] | None = None) -> Path:
    """The notebook file: the one named, else this kernel's own.

    This kernel's own is the path of its session on its Jupyter server now (the notebook
    may have been renamed since the kernel started), else ``JPY_SESSION_NAME``, the path
    jupyter_server gave the kernel when it started it.
    """
    if notebook is not None:
        path = Path(notebook).expanduser()
    else:
        session = os.environ.get(SESSION_VARIABLE, "")
        if not session:
            raise InvalidInput(
                "This kernel does not know its notebook (no JPY_SESSION_NAME: not started by a Jupyter "
                "server for a notebook). Name it: attached('path/to/notebook.ipynb').",
                field="notebook",
            )
        path = _session_path_now() or Path(session)
        if not path.is_absolute() and not path.exists():
            # A path relative to Jupyter's root; the kernel starts in the notebook's folder.
            path = Path(path.name)
    if path.suffix != ".ipynb":
        raise InvalidInput(f"{os.fspath(path)!r} is not a notebook (.ipynb).", field="notebook")
    if not path.is_file():
        raise NotFound(
            f"No notebook at {os.fspath(path)!r} (from {os.getcwd()!r}). Save the notebook first, or name it: "
            "attached('path/to/notebook.ipynb').",
            field="notebook",
        )
    return path


def _session_path_now(servers: Iterable[Mapping[str, Any]] | None = None, kernel_id: str | None = None) -> Path | None:
    """The file of this kernel's notebook session, asked of the Jupyter server that runs it; None if unknown.

    The running servers are those of Jupyter's runtime directory (same user); the one
    whose sessions list this kernel's id answers. Asked with a short timeout: a server
    that does not answer is skipped. Its token is used for that request only.
    """
    if kernel_id is None:
        try:
            from ipykernel.connect import get_connection_file

            kernel_id = Path(get_connection_file()).stem.removeprefix("kernel-")
        except Exception:  # not in an ipykernel, or one without a connection file
            return None
    if servers is None:
        try:
            from jupyter_server.serverapp import list_running_servers
        except ImportError:
            return None
        servers = list_running_servers()
    for server in servers:
        url = str(server.get("url", "")).rstrip("/") + "/api/sessions"
        if not url.startswith(("http://", "https://")):
            continue
        headers = {"Authorization": f"token {server['token']}"} if server.get("token") else {}
        request = urllib.request.Request(url, headers=headers)  # noqa: S310 (http(s) only, checked above)
        try:
            with urllib.request.urlopen(request, timeout=2) as answer:  # noqa: S310
                sessions = json.load(answer)
        except (OSError, ValueError):
            continue
        for session in sessions if isinstance(sessions, list) else []:
            kernel = session.get("kernel") if isinstance(session, dict) else None
            if isinstance(kernel, dict) and kernel.get("id") == kernel_id and str(session.get("path", "")):
                return Path(str(server.get("root_dir", "."))) / str(session["path"])
    return None


def _read_notebook(path: Path) -> dict[str, Any]:
    try:
        with path.open(encoding="utf-8") as file:
            notebook = json.load(file)
    except (OSError, ValueError) as error:
        raise InvalidInput(f"Could not read the notebook {os.fspath(path)!r}: {error}", field="notebook") from None
    if not isinstance(notebook, dict) or not isinstance(notebook.get("metadata", {}), dict):
        raise InvalidInput(f"{os.fspath(path)!r} is not a Jupyter notebook.", field="notebook")
    return notebook


# -- the kernel API ------------------------------------------------------------------------------------


def attached(
    notebook: str | os.PathLike[str] | None = None,
    *,
    lake: DataLake | None = None,
    resolve: bool = False,
) -> list[Attachment]:
    """The data attached to the notebook, with its availability and local paths.

    Reads the **saved** notebook: this kernel's own (``JPY_SESSION_NAME``), or ``notebook``.
    ``lake``: the :class:`DataLake` to ask (default: the attachment's instance when it is
    configured here, else the default one). ``resolve=True`` runs each attached search
    again (the notebook is not changed: "Search again" in the panel keeps the new result).
    """
    path = notebook_path(notebook)
    entries = read_attachments(_read_notebook(path).get("metadata"))
    lakes: dict[str, DataLake] = {}

    def lake_for(instance: str) -> DataLake:
        if lake is not None:
            return lake
        if instance not in lakes:
            lakes[instance] = _open_lake(instance)
        return lakes[instance]

    found = []
    for entry in entries:
        target = lake_for(entry["instance"])
        if entry["kind"] == "did":
            dids: list[str] = [entry["did"]]
            query = None
            resolved_at, truncated = None, False
        else:
            query = {k: entry[k] for k in ("pattern", "filters", "scope", "type")}
            if resolve:
                dids, truncated = resolve_query(target, query)
                resolved_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
            else:
                resolved = entry["resolved"] or {}
                dids = list(resolved.get("dids", []))
                resolved_at, truncated = resolved.get("at") or None, bool(resolved.get("truncated"))
        availability = target.availability(dids) if dids else {}
        paths = {
            did: target.paths(did)
            for did in dids
            if availability.get(did, {}).get("files", {}).get("at_notebook", 0) > 0
        }
        found.append(
            Attachment(
                kind=entry["kind"],
                instance=target.name,
                dids=tuple(dids),
                query=query,
                resolved_at=resolved_at,
                truncated=truncated,
                availability=availability,
                paths=paths,
            )
        )
    return found


def _open_lake(instance: str) -> DataLake:
    """The DataLake of an attachment's instance: that one when configured here, else the default."""
    from ..errors import ConfigurationError
    from .lake import DataLake

    if instance:
        try:
            return DataLake(instance)
        except ConfigurationError as error:
            if error.reason != "unknown_instance":
                raise
    return DataLake()


def resolve_query(lake: DataLake, query: Mapping[str, str]) -> tuple[list[str], bool]:
    """The DIDs a saved search finds now (at most MAX_RESOLVED_DIDS), and whether there were more."""
    results = lake.search(
        name=query.get("pattern") or None,
        filters=query.get("filters") or None,
        scope=query.get("scope") or None,
        type=query.get("type") or "all",
        limit=MAX_RESOLVED_DIDS + 1,
    )
    dids = [item["did"] for item in results]
    return dids[:MAX_RESOLVED_DIDS], len(dids) > MAX_RESOLVED_DIDS


def attach(
    did_or_query: str | Mapping[str, Any] | Any,
    notebook: str | os.PathLike[str] | None = None,
    *,
    lake: DataLake | None = None,
) -> dict[str, Any]:
    """Attach a DID (``"scope:name"``) or a search to a notebook; returns the attachment.

    A search is a mapping (``name``/``pattern``, ``filters``, ``scope``, ``type``, as
    :meth:`DataLake.search` takes them) or what ``lake.search(...)`` returned; it is
    resolved now and its DIDs are kept with it.

    Without ``notebook``, in a notebook's kernel: the attachment goes to the open notebook
    in JupyterLab (through a comm), as an unsaved change, shown in its Data Lake panel
    (save the notebook to keep it). With ``notebook``: that file is rewritten on disk.
    """
    target = lake if lake is not None else _open_lake("")
    attachment = _attachment(target, did_or_query)
    if notebook is None and os.environ.get(SESSION_VARIABLE) and _send_to_frontend(attachment):
        return attachment
    path = notebook_path(notebook)
    content = _read_notebook(path)
    value = with_attachment(content.get("metadata"), attachment)
    if value is not None:
        content.setdefault("metadata", {})[METADATA_KEY] = value
        _write_atomically(path, content)
    return attachment


def _attachment(lake: DataLake, did_or_query: str | Mapping[str, Any] | Any) -> dict[str, Any]:
    """The metadata entry for a DID or a search (resolved now)."""
    from ..domain.did import parse_did

    if isinstance(did_or_query, str):
        return {"kind": "did", "instance": lake.name, "did": str(parse_did(did_or_query.strip()))}
    search = getattr(did_or_query, "query", did_or_query)
    if not isinstance(search, Mapping):
        raise InvalidInput(
            "attach() takes a DID ('scope:name'), a search (a dict of name, filters, scope, type) "
            "or the result of lake.search(...).",
            field="did_or_query",
        )
    filters = search.get("filters") or ""
    if not isinstance(filters, str):
        filters = _filter_text(filters)
    query = {
        "pattern": str(search.get("pattern") or search.get("name") or ""),
        "filters": filters,
        "scope": str(search.get("scope") or ""),
        "type": str(search.get("type") or "dataset"),
    }
    if query["type"] not in QUERY_TYPES:
        raise InvalidInput(f"type must be one of {', '.join(QUERY_TYPES)}", field="type")
    dids, truncated = resolve_query(lake, query)
    return {
        "kind": "query",
        "instance": lake.name,
        **query,
        "resolved": {
            "dids": dids,
            "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "truncated": truncated,
        },
    }


def _filter_text(filters: Any) -> str:
    """The panel's text form of a filter given as the builder's JSON (OR groups of AND-ed conditions)."""
    from ..domain.filters import format_filter_string, parse_filter_json

    return format_filter_string(parse_filter_json(filters))


def _send_to_frontend(attachment: Mapping[str, Any], create_comm: Callable[..., Any] | None = None) -> bool:
    """Send the attachment to the notebook open in JupyterLab; False when no frontend can take it."""
    if create_comm is None:
        try:
            from IPython import get_ipython
        except ImportError:
            return False
        shell = get_ipython()
        if shell is None or getattr(shell, "kernel", None) is None:
            return False
        try:
            from comm import create_comm as kernel_comm
        except ImportError:
            return False
        create_comm = kernel_comm
    channel = create_comm(target_name=COMM_TARGET, data={"version": METADATA_VERSION, "attachment": dict(attachment)})
    channel.close()
    what = attachment.get("did") or "the search"
    print(f"Attached {what} to this notebook in JupyterLab; save the notebook to keep it.")
    return True


def _write_atomically(path: Path, content: Mapping[str, Any]) -> None:
    """Write the notebook as nbformat does (indent 1, trailing newline), replacing the file in one step."""
    text = json.dumps(content, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        mode = path.stat().st_mode & 0o777
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
