"""Notebooks that carry their data, against the real lake: a DID and a metadata search attached to a notebook
file, then, in the notebook's "kernel" (JPY_SESSION_NAME, the server's config), ``escape_dlaas.attached()``
gives the real local paths once the data is made available, and the bytes there are the lake's.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

import escape_dlaas
from escape_dlaas.notebook import DataLake
from escape_dlaas.notebook.attachments import METADATA_KEY
from tests.integration.lake_datasets import fresh_dataset

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def data_lake(lake_info):
    with DataLake(config=lake_info.jupyter_config) as made:
        yield made


def empty_notebook(path: Path) -> Path:
    path.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path


def test_attached_data_resolves_to_real_local_paths_once_available(
    data_lake, lake_info, rucio_client_for, tmp_path, monkeypatch
):
    did = fresh_dataset(lake_info, rucio_client_for, "attachments")
    scenario = lake_info.scenarios.metadata_search
    notebook = empty_notebook(tmp_path / "analysis.ipynb")
    escape_dlaas.attach(did, notebook, lake=data_lake)
    query = escape_dlaas.attach(
        {"filters": scenario.filter_string, "scope": scenario.scope, "type": "dataset"}, notebook, lake=data_lake
    )
    # The search was resolved against the lake when attached, and travels with the file.
    assert query["resolved"]["dids"] == list(scenario.expected)
    stored = json.loads(notebook.read_text())["metadata"][METADATA_KEY]
    assert [a["kind"] for a in stored["attachments"]] == ["did", "query"]

    # In the notebook's kernel: it finds its notebook and the lake's configuration by itself.
    monkeypatch.setenv("JPY_SESSION_NAME", str(notebook))
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", str(lake_info.jupyter_config.parent))
    before, searched = escape_dlaas.attached()
    assert before.did == did
    assert before.instance == lake_info.instance_name
    assert not before.available
    assert before.availability[did]["state"] == "NOT_AVAILABLE"
    assert before.local_paths == []
    assert searched.dids == tuple(scenario.expected)

    handle = data_lake.make_available(did, lifetime_days=1)
    try:
        handle.wait(timeout=60, progress=False)
        after, _ = escape_dlaas.attached()
        assert after.available
        files = lake_info.scenarios.quick_rule.files
        assert len(after.local_paths) == len(files)
        digests = sorted(hashlib.md5(Path(p).read_bytes()).hexdigest() for p in after.local_paths)
        assert digests == sorted(f.md5 for f in files)
        # Running the attached search again finds the same data.
        _, again = escape_dlaas.attached(resolve=True)
        assert again.dids == tuple(scenario.expected)
    finally:
        handle.cancel()
