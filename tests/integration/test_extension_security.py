"""Sign-in robustness and secrecy through the REST API, against the real lake.

- the token issuer going down is a clear 503 naming it, and the next call after it is back works;
- no token value ever reaches a log record, at any level, while the extension works and fails.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import time
from pathlib import Path

import pytest
from tornado.httpclient import HTTPClientError

from escape_dlaas.lake import Lake
from escape_dlaas.lake.procs import load as load_process_record
from escape_dlaas.lake.procs import process_alive

pytestmark = pytest.mark.integration


@pytest.fixture
def jp_server_config(lake_info, tmp_path):
    config = json.loads(Path(lake_info.jupyter_config).read_text())["DLaaS"]
    config["instances"][0]["timeout_seconds"] = 5
    return {
        "ServerApp": {"jpserver_extensions": {"escape_dlaas": True}, "allow_root": True, "root_dir": str(tmp_path)},
        "DLaaS": config,
    }


async def call(jp_fetch, *path, **kwargs):
    try:
        response = await jp_fetch("escape-dlaas", "instances", "local-lake", *path, **kwargs)
    except HTTPClientError as error:
        return error.code, json.loads(error.response.body)
    return response.code, json.loads(response.body)


def stop_issuer(lake: Lake) -> None:
    record = load_process_record(lake.paths.pid_record("issuer"))
    assert record is not None, "the lake has no process record for its issuer"
    os.killpg(record.pgid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    while process_alive(record.pid, record.start_ticks):
        assert time.monotonic() < deadline, "the issuer did not stop"
        time.sleep(0.2)


def rucio_session(jp_serverapp):
    return jp_serverapp.web_app.settings["escape_dlaas"]["instances"].instance("local-lake").session


async def test_issuer_outage_is_a_503_and_recovers(jp_fetch, jp_serverapp, lake):
    code, body = await call(jp_fetch, "whoami")
    assert code == 200, body
    stop_issuer(lake)
    try:
        rucio_session(jp_serverapp).tokens.invalidate()  # as after Rucio refused the token
        code, body = await call(jp_fetch, "scopes")
        assert code == 503, body
        assert body["service"] == "token issuer"
        assert "issuer" in body["message"]
    finally:
        lake.up()  # restarts the dead component only
    code, body = await call(jp_fetch, "scopes")
    assert code == 200, body
    assert body["scopes"]


async def test_no_token_value_reaches_any_log(jp_fetch, jp_serverapp, lake_info, caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("escape_dlaas", "rucio", "urllib3", "requests", "tornado", "ServerApp"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    # successes and failures, so that error paths log too
    assert (await call(jp_fetch, "whoami"))[0] == 200
    assert (await call(jp_fetch, "search", params={"filter": "telescope=lofar"}))[0] == 200
    assert (await call(jp_fetch, "rules", method="POST", body=json.dumps({"did": lake_info.scenarios.embargo.did})))[
        0
    ] == 403
    assert (await call(jp_fetch, "did", params={"did": "lofar:missing"}))[0] == 404
    session = rucio_session(jp_serverapp)
    exchanged = (await session.tokens.rucio_credentials()).token
    subject = lake_info.user().token_file.read_text()
    secret = lake_info.issuer.clients["exchange"].secret_file.read_text().strip()
    assert exchanged
    assert subject
    assert secret
    text = caplog.text + "".join(str(r.__dict__) for r in caplog.records)
    assert len(caplog.records) > 10, "the run should have logged something"
    for value in (exchanged, subject, secret):
        assert value not in text
        # nor a recognisable piece of it (the signature part of a JWT)
        assert value.split(".")[-1][:24] not in text
