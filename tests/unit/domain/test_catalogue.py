"""The catalogue: targets of 'make available', expressions that reach the notebook, metadata keys."""

from __future__ import annotations

import pytest

from escape_dlaas.domain.catalogue import (
    MetadataSample,
    castable_to,
    metadata_keys,
    notebook_expressions,
    rses,
    target_expression,
    targets,
)
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


@pytest.mark.parametrize(
    ("value", "kinds"),
    [
        (150, {"number"}),
        (1.5, {"number"}),
        (True, {"bool"}),
        ("lofar", set()),
        ("12", {"number"}),
        (" 1e3 ", {"number"}),
        ("1_000", set()),
        ("yes", {"bool"}),
        ("0", {"number", "bool"}),
        ("2023-05-12", {"date"}),
        ("2023-05-12T10:00:00Z", {"date"}),
        (["a"], set()),
        (None, set()),
    ],
)
def test_what_rucio_can_compare_a_stored_value_as(value, kinds):
    assert castable_to(value) == kinds


def test_the_sample_knows_per_scope_which_values_cannot_be_compared_as_what():
    sample = MetadataSample()
    sample.add("lofar", "telescope", "lofar")
    sample.add("lofar", "energy", 150)
    sample.add("ska", "energy", "high")
    sample.add("ska", "obs_date", "2024-01-01")
    assert sample.keys() == ["energy", "obs_date", "telescope"]
    assert sample.values["telescope"] == {"lofar": ["lofar"]}
    assert sample.not_comparable_as("telescope", "number", ["lofar", "ska"]) == "lofar"
    assert sample.not_comparable_as("energy", "number", ["lofar"]) is None
    assert sample.not_comparable_as("energy", "number", ["lofar", "ska"]) == "high"
    assert sample.not_comparable_as("obs_date", "date", ["ska"]) is None
    assert sample.not_comparable_as("colour", "number", ["lofar"]) is None, "nothing known: Rucio is asked"
