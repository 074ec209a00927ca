"""Attachments from the kernel without a lake: the metadata shape, which notebook, attached() and attach()."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import escape_dlaas
from escape_dlaas.errors import InvalidInput, NotFound
from escape_dlaas.notebook import attachments
from escape_dlaas.notebook.attachments import (
    METADATA_KEY,
    Attachment,
    attach,
    attached,
    notebook_path,
    read_attachments,
    with_attachment,
)

DID = "lofar:L2023_712342_HBA"
OTHER = "lofar:L2023_712343_HBA"

# What the frontend writes (src/attachments/metadata.ts).
FRONTEND_VALUE = {
    "version": 1,
    "attachments": [
        {"kind": "did", "instance": "local-lake", "did": DID},
        {
            "kind": "query",
            "instance": "local-lake",
            "pattern": "",
            "filters": "telescope=lofar",
            "scope": "lofar",
            "type": "dataset",
            "resolved": {"dids": [DID, OTHER], "at": "2026-12-02T13:00:00.000Z", "truncated": False},
        },
    ],
}


class FakeLake:
    """The part of DataLake that attachments use, answering from dicts."""

    name = "local-lake"

    def __init__(self, states: dict[str, str], files: dict[str, list[str]], found: list[str] | None = None):
        self.states = states
        self.files = files
        self.found = found or []
        self.searches: list[dict[str, Any]] = []

    def availability(self, dids: list[str]) -> dict[str, dict[str, Any]]:
        answer = {}
        for did in dids:
            state = self.states.get(did, "NOT_AVAILABLE")
            total = len(self.files.get(did, ["x"]))
            at = total if state == "AVAILABLE" else 0
            answer[did] = {"did": did, "state": state, "files": {"total": total, "at_notebook": at}}
        return answer

    def paths(self, did: str) -> list[str]:
        return self.files[did]

    def search(self, **query: Any) -> list[dict[str, str]]:
        self.searches.append(query)
        return [{"did": did} for did in self.found[: query["limit"]]]


def write_notebook(path: Path, value: Any = None) -> Path:
    metadata: dict[str, Any] = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    if value is not None:
        metadata[METADATA_KEY] = value
    cell = {"cell_type": "code", "execution_count": None, "id": "a1", "metadata": {}, "outputs": [], "source": "1"}
    path.write_text(json.dumps({"cells": [cell], "metadata": metadata, "nbformat": 4, "nbformat_minor": 5}))
    return path


def test_reads_what_the_frontend_writes():
    found = read_attachments({METADATA_KEY: FRONTEND_VALUE})
    assert [a["kind"] for a in found] == ["did", "query"]
    assert found[0] == {"kind": "did", "instance": "local-lake", "did": DID}
    assert found[1]["filters"] == "telescope=lofar"
    assert found[1]["resolved"]["dids"] == [DID, OTHER]


def test_unreadable_entries_are_left_out_and_duplicates_read_once():
    value = {
        "attachments": [
            {"kind": "did", "instance": "x", "did": DID},
            {"kind": "did", "instance": "x", "did": DID},
            {"kind": "did", "did": "no-colon"},
            {"kind": "weird"},
            "text",
            {"kind": "query", "type": "galaxy", "resolved": {"dids": [1, 2]}},
        ]
    }
    found = read_attachments({METADATA_KEY: value})
    assert found == [
        {"kind": "did", "instance": "x", "did": DID},
        {"kind": "query", "instance": "", "pattern": "", "filters": "", "scope": "", "type": "all", "resolved": None},
    ]
    assert read_attachments({}) == []
    assert read_attachments({METADATA_KEY: "nonsense"}) == []


def test_with_attachment_adds_once_and_keeps_newer_versions_untouched():
    value = with_attachment({METADATA_KEY: FRONTEND_VALUE}, {"kind": "did", "instance": "local-lake", "did": OTHER})
    assert value is not None
    assert value["version"] == 1
    assert [a.get("did") for a in value["attachments"]] == [DID, None, OTHER]
    assert (
        with_attachment({METADATA_KEY: FRONTEND_VALUE}, {"kind": "did", "instance": "local-lake", "did": DID}) is None
    )
    with pytest.raises(InvalidInput, match="newer version of escape-dlaas"):
        with_attachment({METADATA_KEY: {"version": 2, "attachments": []}}, {"kind": "did", "instance": "", "did": DID})


def test_the_kernel_finds_its_notebook_from_jpy_session_name(tmp_path, monkeypatch):
    notebook = write_notebook(tmp_path / "analysis.ipynb")
    monkeypatch.setenv("JPY_SESSION_NAME", str(notebook))
    assert notebook_path() == notebook
    # A path relative to Jupyter's root: the kernel runs in the notebook's folder.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JPY_SESSION_NAME", "work/analysis.ipynb")
    assert notebook_path() == Path("analysis.ipynb")
    assert notebook_path(notebook) == notebook


def test_without_a_notebook_the_error_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    with pytest.raises(InvalidInput, match=r"Name it: attached\('path/to/notebook.ipynb'\)") as info:
        notebook_path()
    assert info.value.field == "notebook"
    with pytest.raises(InvalidInput, match="is not a notebook"):
        notebook_path(tmp_path / "data.csv")
    with pytest.raises(NotFound, match="Save the notebook first"):
        notebook_path(tmp_path / "missing.ipynb")
    (tmp_path / "broken.ipynb").write_text("{not json")
    with pytest.raises(InvalidInput, match="Could not read the notebook"):
        attached(tmp_path / "broken.ipynb", lake=FakeLake({}, {}))


def test_attached_gives_availability_and_local_paths(tmp_path):
    notebook = write_notebook(tmp_path / "analysis.ipynb", FRONTEND_VALUE)
    lake = FakeLake({DID: "AVAILABLE"}, {DID: ["/lake/a.fits", "/lake/b.fits"], OTHER: ["/lake/c.fits"]})
    did, query = attached(notebook, lake=lake)
    assert isinstance(did, Attachment)
    assert did.did == DID
    assert did.available
    assert did.local_paths == ["/lake/a.fits", "/lake/b.fits"]
    assert query.kind == "query"
    assert query.did is None
    assert query.dids == (DID, OTHER)
    assert query.query == {"pattern": "", "filters": "telescope=lofar", "scope": "lofar", "type": "dataset"}
    assert not query.available  # OTHER is not at the notebook
    assert query.local_paths == ["/lake/a.fits", "/lake/b.fits"]
    assert lake.searches == []  # a query is resolved only when asked
    assert "2 local files, available" in repr(did)


def test_attached_resolves_queries_when_asked(tmp_path):
    notebook = write_notebook(tmp_path / "analysis.ipynb", FRONTEND_VALUE)
    lake = FakeLake({OTHER: "AVAILABLE"}, {OTHER: ["/lake/c.fits"]}, found=[OTHER])
    _, query = attached(notebook, lake=lake, resolve=True)
    assert lake.searches == [
        {"name": None, "filters": "telescope=lofar", "scope": "lofar", "type": "dataset", "limit": 501}
    ]
    assert query.dids == (OTHER,)
    assert query.available
    assert query.local_paths == ["/lake/c.fits"]
    assert query.resolved_at is not None
    # The notebook itself is not changed by the kernel's resolution.
    assert json.loads(notebook.read_text())["metadata"][METADATA_KEY] == FRONTEND_VALUE


def test_attach_with_a_notebook_path_rewrites_the_file_and_keeps_the_rest(tmp_path, monkeypatch):
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    notebook = write_notebook(tmp_path / "analysis.ipynb")
    notebook.chmod(0o640)
    lake = FakeLake({}, {}, found=[DID, OTHER])
    made = attach(" " + DID + " ", notebook, lake=lake)
    assert made == {"kind": "did", "instance": "local-lake", "did": DID}
    query = attach({"name": "L2023_*", "filters": "telescope=lofar"}, notebook, lake=lake)
    assert query["pattern"] == "L2023_*"
    assert query["type"] == "dataset"
    assert query["resolved"]["dids"] == [DID, OTHER]
    attach(DID, notebook, lake=lake)  # once only
    content = json.loads(notebook.read_text())
    assert content["metadata"]["kernelspec"]["name"] == "python3"
    assert content["cells"][0]["source"] == "1"
    assert [a["kind"] for a in content["metadata"][METADATA_KEY]["attachments"]] == ["did", "query"]
    assert notebook.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["analysis.ipynb"]  # no temporary file left
    # What attach() wrote, attached() reads.
    assert [a.kind for a in attached(notebook, lake=lake)] == ["did", "query"]


def test_attach_refuses_what_is_not_a_did_or_a_search(tmp_path):
    notebook = write_notebook(tmp_path / "analysis.ipynb")
    lake = FakeLake({}, {})
    with pytest.raises(InvalidInput, match="scope:name"):
        attach("no-scope", notebook, lake=lake)
    with pytest.raises(InvalidInput, match="attach\\(\\) takes a DID"):
        attach(42, notebook, lake=lake)
    with pytest.raises(InvalidInput, match="type must be one of"):
        attach({"name": "x*", "type": "galaxy"}, notebook, lake=lake)
    assert METADATA_KEY not in json.loads(notebook.read_text())["metadata"]


def test_attach_in_a_notebook_kernel_goes_to_the_frontend(tmp_path, monkeypatch, capsys):
    sent: list[dict[str, Any]] = []

    class FakeComm:
        def __init__(self, target_name: str, data: dict[str, Any]):
            sent.append({"target": target_name, **data})
            self.closed = False

        def close(self) -> None:
            sent.append({"closed": True})

    attachment = {"kind": "did", "instance": "local-lake", "did": DID}
    assert attachments._send_to_frontend(attachment, create_comm=FakeComm)
    assert sent == [
        {"target": "escape-dlaas.attachments", "version": 1, "attachment": attachment},
        {"closed": True},
    ]
    assert "save the notebook to keep it" in capsys.readouterr().out
    # Outside a kernel nothing can take it: attach() then needs the file.
    notebook = write_notebook(tmp_path / "analysis.ipynb")
    monkeypatch.setenv("JPY_SESSION_NAME", str(notebook))
    assert not attachments._send_to_frontend(attachment)
    attach(DID, lake=FakeLake({}, {}))
    assert read_attachments(json.loads(notebook.read_text())["metadata"]) == [attachment]


def test_exported_lazily_from_the_package():
    assert escape_dlaas.attached is attached
    assert escape_dlaas.attach is attach


@pytest.fixture
def sessions_server():
    """A stand-in for a Jupyter server's GET /api/sessions on 127.0.0.1, recording the tokens it was sent."""
    import http.server
    import threading

    seen: list[str | None] = []
    sessions: list[dict[str, Any]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers.get("Authorization"))
            body = json.dumps(sessions if self.path == "/api/sessions" else {}).encode()
            self.send_response(200 if self.path == "/api/sessions" else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/", sessions, seen
    finally:
        server.shutdown()
        server.server_close()


def test_a_renamed_notebook_is_found_through_its_servers_sessions(tmp_path, monkeypatch, sessions_server):
    url, sessions, seen = sessions_server
    (tmp_path / "work").mkdir()
    renamed = write_notebook(tmp_path / "work" / "renamed.ipynb")
    sessions.append({"path": "work/other.ipynb", "kernel": {"id": "someone-else"}})
    sessions.append({"path": "work/renamed.ipynb", "kernel": {"id": "k-1"}})
    servers = [
        {"url": "http://127.0.0.1:9/", "token": "", "root_dir": "/nowhere"},  # not answering: skipped
        {"url": "file:///etc/passwd", "token": "", "root_dir": "/"},  # not http: never opened
        {"url": url, "token": "server-token", "root_dir": str(tmp_path)},
    ]
    assert attachments._session_path_now(servers, kernel_id="k-1") == renamed
    assert seen == ["token server-token"]
    assert attachments._session_path_now(servers, kernel_id="k-unknown") is None
    # Outside an ipykernel there is no kernel id to look for.
    assert attachments._session_path_now(servers) is None

    # The session's path now wins over the name the kernel started with.
    monkeypatch.setattr(attachments, "_session_path_now", lambda: renamed)
    monkeypatch.setenv("JPY_SESSION_NAME", str(tmp_path / "work" / "Untitled.ipynb"))
    assert notebook_path() == renamed
