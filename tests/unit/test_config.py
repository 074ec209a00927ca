"""Admin configuration is validated at start, and every message names the key at fault."""

from __future__ import annotations

import pytest

from escape_dlaas.config import ListingLimits, parse_instances, parse_listing_limits
from escape_dlaas.errors import ConfigurationError


def minimal(**extra):
    data = {"name": "lake", "rucio_url": "http://127.0.0.1:1", "token_sources": [{"type": "env", "variable": "T"}]}
    data.update(extra)
    return data


def test_minimal_instance_gets_defaults():
    (inst,), default = parse_instances([minimal()])
    assert default == "lake"
    assert inst.auth_url == "http://127.0.0.1:1"
    assert inst.vo == "def"
    assert inst.default_lifetime_days == 7
    assert inst.token_sources[0].variable == "T"


def test_full_instance():
    (inst,), _ = parse_instances(
        [
            minimal(
                token_exchange={"issuer": "https://127.0.0.1:9/", "client_id": "x", "client_secret_file": "/tmp/s"},
                notebook_local={"rse": "NB", "mount_path": "/data"},
                qos_classes={"FAST": "QOS=FAST"},
            )
        ],
        "lake",
    )
    assert inst.token_exchange is not None
    assert inst.token_exchange.audience == "rucio"
    assert inst.notebook_local is not None
    assert str(inst.notebook_local.mount_path) == "/data"


@pytest.mark.parametrize(
    ("instances", "default", "field"),
    [
        ("nope", None, "instances"),
        ([minimal(rucio_url="ftp://x")], None, "instances[0].rucio_url"),
        ([minimal(token_sources=[])], None, "instances[0].token_sources"),
        ([minimal(token_sources=[{"type": "magic"}])], None, "instances[0].token_sources[0].type"),
        ([minimal(token_sources=[{"type": "file"}])], None, "instances[0].token_sources[0].path"),
        ([minimal(bogus=1)], None, "instances[0].bogus"),
        (
            [minimal(token_exchange={"issuer": "http://plain/", "client_id": "x", "client_secret_env": "S"})],
            None,
            "instances[0].token_exchange.issuer",
        ),
        (
            [minimal(token_exchange={"issuer": "https://i/", "client_id": "x"})],
            None,
            "instances[0].token_exchange.client_secret_file",
        ),
        ([minimal(default_lifetime_days=40)], None, "instances[0].default_lifetime_days"),
        ([minimal(timeout_seconds=0)], None, "instances[0].timeout_seconds"),
        ([minimal(), minimal()], None, "instances"),
        ([minimal()], "other", "default_instance"),
        ([minimal(notebook_local={"rse": "NB"})], None, "instances[0].notebook_local.mount_path"),
        ([minimal(qos_classes={"FAST": 1})], None, "instances[0].qos_classes"),
    ],
)
def test_invalid_configuration_names_the_key(instances, default, field):
    with pytest.raises(ConfigurationError) as caught:
        parse_instances(instances, default)
    assert caught.value.field == field
    assert field.split(".")[-1].split("[")[0] in caught.value.message


def test_listing_limits_default_and_bounds():
    assert parse_listing_limits(4, 120) == ListingLimits() == ListingLimits(4, 120.0)
    assert parse_listing_limits(0, 1) == ListingLimits(0, 1.0), "0: no listing kept open"
    assert parse_listing_limits(64, 3600.0).max_open == 64


@pytest.mark.parametrize(
    ("max_open", "idle", "field"),
    [
        (-1, 120, "max_open_listings"),
        (65, 120, "max_open_listings"),
        (True, 120, "max_open_listings"),
        (2.5, 120, "max_open_listings"),
        (4, 0, "open_listing_idle_seconds"),
        (4, 3601, "open_listing_idle_seconds"),
        (4, "2 min", "open_listing_idle_seconds"),
    ],
)
def test_listing_limits_out_of_bounds_name_the_trait(max_open, idle, field):
    with pytest.raises(ConfigurationError) as caught:
        parse_listing_limits(max_open, idle)
    assert caught.value.field == field
    assert caught.value.message.startswith(field)
