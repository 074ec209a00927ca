"""c.DLaaS.max_open_listings and c.DLaaS.open_listing_idle_seconds reach each instance's open listings."""

from __future__ import annotations

import json

import pytest

from escape_dlaas.domain.paging import open_listings

INSTANCE = {"name": "lake", "rucio_url": "http://127.0.0.1:9", "token_sources": [{"type": "env", "variable": "T"}]}


@pytest.fixture
def jp_server_config(request):
    return {
        "ServerApp": {"jpserver_extensions": {"escape_dlaas": True}, "allow_root": True},
        "DLaaS": {"instances": [INSTANCE], **request.param},
    }


def extension_of(serverapp):
    (extension,) = serverapp.extension_manager.extension_apps["escape_dlaas"]
    return extension


@pytest.mark.parametrize(
    "jp_server_config", [{"max_open_listings": 0, "open_listing_idle_seconds": 30.0}], indirect=True
)
async def test_the_configured_limits_are_those_of_the_instances_listings(jp_serverapp):
    registry = extension_of(jp_serverapp).registry
    listings = open_listings(registry.instance("lake").session)
    assert (listings.max_open, listings.idle) == (0, 30.0)
    assert registry.instance("lake").listings is listings  # closed with the instance when the server stops


@pytest.mark.parametrize("jp_server_config", [{}], indirect=True)
async def test_by_default_four_listings_for_two_minutes(jp_serverapp):
    listings = open_listings(extension_of(jp_serverapp).registry.instance("lake").session)
    assert (listings.max_open, listings.idle) == (4, 120.0)


@pytest.mark.parametrize("jp_server_config", [{"max_open_listings": 1000}], indirect=True)
async def test_a_limit_out_of_bounds_is_explained_naming_the_setting(jp_fetch):
    body = json.loads((await jp_fetch("escape-dlaas", "status")).body)
    assert body["configuration_error"]["field"] == "max_open_listings"
    assert "0 (keep none open) to 64" in body["configuration_error"]["message"]
