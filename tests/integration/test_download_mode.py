"""Download mode against the real lake: a site without notebook-local storage fetches into a cache."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from pathlib import Path

import pytest
from tornado.httpclient import HTTPClientError

pytestmark = pytest.mark.integration


@pytest.fixture
def cache_dir(tmp_path):
    return tmp_path / "cache"


@pytest.fixture
def jp_server_config(lake_info, tmp_path, cache_dir):
    (instance,) = json.loads(Path(lake_info.jupyter_config).read_text())["DLaaS"]["instances"]
    instance = dict(instance, name="download-site", download_cache=str(cache_dir))
    del instance["notebook_local"]
    return {
        "ServerApp": {"jpserver_extensions": {"escape_dlaas": True}, "allow_root": True, "root_dir": str(tmp_path)},
        "DLaaS": {"instances": [instance]},
    }


async def call(jp_fetch, *path, **kwargs):
    try:
        response = await jp_fetch("escape-dlaas", "instances", "download-site", *path, **kwargs)
    except HTTPClientError as error:
        return error.code, json.loads(error.response.body)
    return response.code, json.loads(response.body)


async def test_download_into_the_cache_with_progress(jp_fetch, lake_info, cache_dir):
    scenario = lake_info.scenarios.quick_rule
    code, body = await call(jp_fetch, "did", "paths", params={"did": scenario.did})
    assert code == 422
    assert "download" in body["message"]
    code, started = await call(jp_fetch, "downloads", method="POST", body=json.dumps({"did": scenario.did}))
    assert code == 202, started
    assert started["download"]["files"]["total"] == len(scenario.files)
    deadline = time.monotonic() + 60
    while True:
        code, body = await call(jp_fetch, "downloads", params={"did": scenario.did})
        assert code == 200, body
        (job,) = body["downloads"]
        if job["state"] != "RUNNING":
            break
        assert time.monotonic() < deadline, job
        await asyncio.sleep(0.5)
    assert job["state"] == "DONE", job
    assert job["bytes"]["done"] == job["bytes"]["total"] == scenario.bytes
    code, paths = await call(jp_fetch, "did", "paths", params={"did": scenario.did})
    assert code == 200
    assert paths["missing"] == []
    for file in scenario.files:
        local = Path(paths["paths"][file.did])
        assert local.is_relative_to(cache_dir)
        assert hashlib.md5(local.read_bytes()).hexdigest() == file.md5
    code, again = await call(jp_fetch, "downloads", method="POST", body=json.dumps({"did": scenario.did}))
    assert code == 200
    assert again["started"] is False


async def test_embargoed_dataset_is_not_downloaded(jp_fetch, lake_info, cache_dir):
    embargo = lake_info.scenarios.embargo
    code, body = await call(jp_fetch, "downloads", method="POST", body=json.dumps({"did": embargo.did}))
    assert code == 403
    assert embargo.did in body["message"]
    assert embargo.embargo_until in body["message"]
    downloaded = [p for p in cache_dir.rglob("*") if p.is_file()] if cache_dir.exists() else []
    assert downloaded == []
    code, body = await call(jp_fetch, "downloads", params={"did": embargo.did})
    assert code == 404
