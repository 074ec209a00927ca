"""The catalogue: targets of 'make available', expressions that reach the notebook, metadata keys."""

from __future__ import annotations

import pytest

from escape_dlaas.domain.catalogue import metadata_keys, notebook_expressions, rses, target_expression, targets
from escape_dlaas.errors import InvalidInput, Refused

from .fakes import FakeSession, instance_config

QOS = {"FAST": "QOS=FAST", "TAPE": "QOS=TAPE"}


@pytest.fixture
def with_notebook(tmp_path):
    return instance_config(notebook_local={"rse": "NB", "mount_path": str(tmp_path)}, qos_classes=QOS)


def test_targets_are_the_notebook_and_each_qos_class(with_notebook):
    assert targets(with_notebook) == [
        {"id": "notebook", "label": "Notebook-local storage", "rse_expression": "NB"},
        {"id": "FAST", "label": "QoS class FAST", "rse_expression": "QOS=FAST"},
        {"id": "TAPE", "label": "QoS class TAPE", "rse_expression": "QOS=TAPE"},
    ]
    assert target_expression(with_notebook, None) == "NB"
    assert target_expression(with_notebook, "notebook") == "NB"
    assert target_expression(with_notebook, "TAPE") == "QOS=TAPE"
    with pytest.raises(InvalidInput) as caught:
        target_expression(with_notebook, "MOON")
    assert caught.value.message == "unknown target 'MOON'; choose one of: notebook, FAST, TAPE"


def test_without_notebook_storage_a_qos_class_must_be_chosen():
    config = instance_config()
    assert targets(config) == []
    with pytest.raises(InvalidInput) as caught:
        target_expression(config, None)
    assert "choose a QoS class" in caught.value.message
    with pytest.raises(InvalidInput) as caught:
        target_expression(config, "FAST")
    assert caught.value.message.endswith("choose one of: none configured")


@pytest.mark.asyncio
async def test_expressions_towards_the_notebook_are_those_selecting_its_rse(with_notebook):
    session = FakeSession(with_notebook)

    def list_rses(expression=None):
        if expression == "QOS=TAPE":
            raise Refused("no RSE matches")
        return [{"rse": "NB"}, {"rse": "SAFE"}] if expression in (None, "QOS=FAST") else []

    session.client.list_rses = list_rses
    session.client.list_rse_attributes = lambda name: {"QOS": "FAST" if name == "NB" else "SAFE", "x": [1]}
    assert await notebook_expressions(session) == {"NB", "QOS=FAST"}
    assert await notebook_expressions(session) == {"NB", "QOS=FAST"}
    assert session.calls.count("resolve 'QOS=FAST'") == 1, "cached"
    assert await rses(session) == [
        {"name": "NB", "qos_class": "FAST", "notebook_local": True, "attributes": {"QOS": "FAST"}},
        {"name": "SAFE", "qos_class": "SAFE", "notebook_local": False, "attributes": {"QOS": "SAFE"}},
    ]


@pytest.mark.asyncio
async def test_metadata_keys_come_from_a_sample_of_each_scope():
    session = FakeSession()
    session.client.list_scopes = lambda: ["a", "b"]
    session.client.search_dids = lambda scope, filters, did_type, limit: iter([f"{scope}-ds"])
    session.client.get_metadata_bulk = lambda dids, inherit, plugin: [
        {**d, "telescope": "x", f"only_{d['scope']}": 1} for d in dids
    ]
    assert await metadata_keys(session) == ["only_a", "only_b", "telescope"]
