"""The live-events endpoints without a lake: authentication, an instance without events, input refused."""

from __future__ import annotations

import pytest
from tornado.httpclient import HTTPClientError

from .fetch import fetch_json


@pytest.fixture
def jp_server_config():
    return {
        "ServerApp": {"jpserver_extensions": {"escape_dlaas": True}, "allow_root": True},
        "DLaaS": {
            "instances": [
                {
                    "name": "quiet",
                    "rucio_url": "http://127.0.0.1:9",
                    "timeout_seconds": 3,
                    "token_sources": [{"type": "env", "variable": "DLAAS_TEST_TOKEN"}],
                }
            ]
        },
    }


async def test_an_instance_without_a_broker_has_no_event_stream_and_says_so(jp_fetch):
    code, body = await fetch_json(jp_fetch, "escape-dlaas", "instances", "quiet", "events")
    assert code == 404
    assert body["reason"] == "events_not_configured"
    assert "checks for changes instead" in body["message"]


async def test_changes_since_a_time_no_answer_gave_is_refused_before_rucio_is_asked(jp_fetch):
    code, body = await fetch_json(jp_fetch, "escape-dlaas", "instances", "quiet", "changes", params={"since": "soon"})
    assert code == 400
    assert body["field"] == "since"


@pytest.mark.parametrize("endpoint", ["events", "changes"])
async def test_the_endpoints_need_jupyters_authentication(jp_fetch, endpoint):
    with pytest.raises(HTTPClientError) as caught:
        await jp_fetch("escape-dlaas", "instances", "quiet", endpoint, headers={"Authorization": ""})
    assert caught.value.code == 403
