"""Admin configuration is validated at start, and every message names the key at fault."""

from __future__ import annotations

import pytest

from escape_dlaas.config import parse_instances
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
