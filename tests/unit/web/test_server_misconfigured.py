"""An invalid admin configuration is explained at start and by every endpoint, naming the key."""

from __future__ import annotations

import json

import pytest
from tornado.httpclient import HTTPClientError

BROKEN = [{"name": "broken", "rucio_url": "ftp://nowhere", "token_sources": []}]


@pytest.fixture
def jp_server_config(request):
    instances = getattr(request, "param", BROKEN)
    return {
        "ServerApp": {"jpserver_extensions": {"escape_dlaas": True}, "allow_root": True},
        "DLaaS": {"instances": instances},
    }


async def test_status_names_the_bad_key_and_the_start_log_too(jp_fetch, caplog):
    response = await jp_fetch("escape-dlaas", "status")
    body = json.loads(response.body)
    assert body["instances"] == []
    assert body["configuration_error"]["field"] == "instances[0].rucio_url"
    started = " ".join(r.getMessage() for r in caplog.get_records("setup"))
    assert "configuration is invalid" in started
    assert "instances[0].rucio_url" in started


async def test_endpoints_answer_503_with_the_reason(jp_fetch):
    with pytest.raises(HTTPClientError) as caught:
        await jp_fetch("escape-dlaas", "instances", "broken", "scopes")
    assert caught.value.code == 503
    body = json.loads(caught.value.response.body)
    assert body["reason"] == "configuration"
    assert "rucio_url" in body["message"]


@pytest.mark.parametrize("jp_server_config", [[]], indirect=True)
async def test_no_instance_configured_is_explained(jp_fetch):
    with pytest.raises(HTTPClientError) as caught:
        await jp_fetch("escape-dlaas", "instances", "any", "scopes")
    assert caught.value.code == 503
    assert "c.DLaaS.instances" in json.loads(caught.value.response.body)["message"]
