"""The notebook's Python API against the real lake: search by metadata, make available, wait, read the bytes;
the refusals (embargo, quota, unknown target) with the panel's messages; a wait that runs out; no token anywhere.
"""

from __future__ import annotations

import hashlib
import json
import time
import traceback
from pathlib import Path

import pytest

from escape_dlaas.errors import InvalidInput, PermissionDenied, Refused
from escape_dlaas.notebook import DataLake, SearchResults, WaitTimeout
from escape_dlaas.notebook.handles import AVAILABLE, CANCELLED
from tests.conftest import JWT_RE
from tests.integration.lake_datasets import fresh_dataset

pytestmark = pytest.mark.integration

# Seeded datasets no other test makes available: one of them, not yet at the notebook, shows a wait running out.
UNTOUCHED_DATASETS = (
    "km3net:ARCA21_calibration_v1",
    "cta:LST1_run3094_DL3",
    "cta:LST1_run3101_DL3",
    "lofar:L2023_712344_LBA",
    "km3net:ARCA21_run12345_events",
)


@pytest.fixture(scope="module")
def data_lake(lake_info):
    """The API as a kernel of the lake's Jupyter server makes it: from the server's own config file."""
    with DataLake(config=lake_info.jupyter_config) as made:
        yield made


def test_the_default_instance_of_the_servers_config_and_who_signed_in(data_lake, lake_info):
    assert data_lake.name == lake_info.instance_name
    assert data_lake.targets() == ["notebook", "CHEAP", "FAST", "SAFE"]
    who = data_lake.whoami()
    assert who["account"] == lake_info.user().account
    assert who["token"]["sub"] == lake_info.user().sub


def test_search_by_metadata_fetches_pages_as_they_are_used(data_lake, lake_info):
    scenario = lake_info.scenarios.metadata_search
    results = data_lake.search(filters=scenario.filter_string, scope=scenario.scope, type="dataset", page_size=1)
    assert isinstance(results, SearchResults)
    assert results.pages_fetched == 0
    assert results.first()["did"] == scenario.expected[0]
    assert results.pages_fetched == 1
    assert results.dids == list(scenario.expected)
    assert results.pages_fetched >= len(scenario.expected)
    row = results.to_list()[0]
    assert row["type"] == "DATASET"
    assert row["metadata"]["telescope"] == "lofar"
    assert row["availability"]["state"] in ("AVAILABLE", "NOT_AVAILABLE", "PARTIAL", "REPLICATING")
    frame = results.to_pandas()
    assert list(frame["did"]) == list(scenario.expected)
    assert (frame["energy"] > 140).all()
    assert scenario.expected[0] in results._repr_html_()
    limited = data_lake.search(name="lofar:*", type="dataset", limit=2)
    assert len(limited.to_list()) == 2


def test_make_available_wait_and_read_the_bytes(data_lake, lake_info, rucio_client_for, tmp_path):
    did = fresh_dataset(lake_info, rucio_client_for, "notebook-api")
    handle = data_lake.make_available(did, lifetime_days=1)
    assert handle.dids == [did]
    assert handle.items[0].created
    assert handle.wait(timeout=60, progress=False) is handle
    assert handle.state == AVAILABLE
    files = lake_info.scenarios.quick_rule.files
    paths = handle.paths
    assert len(paths) == len(files)
    assert sorted(hashlib.md5(Path(p).read_bytes()).hexdigest() for p in paths) == sorted(f.md5 for f in files)
    assert data_lake.paths(did) == paths
    # with the server's root known, the paths are the panel's browsable folder of links
    with DataLake(config=lake_info.jupyter_config, root_dir=tmp_path) as rooted:
        linked = rooted.paths(did)
    scope, name = did.split(":")
    assert len(linked) == len(files)
    assert all(Path(p).is_relative_to(tmp_path / "data-lake" / scope / name) for p in linked), linked
    assert all(Path(p).is_symlink() for p in linked)
    assert sorted(hashlib.md5(Path(p).read_bytes()).hexdigest() for p in linked) == sorted(f.md5 for f in files)
    assert data_lake.availability([did])[did]["state"] == AVAILABLE
    # asking again is idempotent: the same rule
    again = data_lake.make_available(did, lifetime_days=1)
    assert not again.items[0].created
    assert again.rule_ids == handle.rule_ids
    (listed,) = [r for r in data_lake.rules() if r.rule_ids == handle.rule_ids]
    assert listed.dids == [did]
    assert listed.items[0].target == "notebook"
    before = handle.items[0].rule["expires_at"]
    handle.extend(3)
    assert handle.items[0].rule["expires_at"] > before
    described = data_lake.describe(did)
    assert handle.rule_ids[0] in [r["id"] for r in described["rules"]]
    (answer,) = handle.cancel()
    assert answer["deleted"] == handle.rule_ids[0]
    assert handle.state == CANCELLED


def a_dataset_not_at_the_notebook(data_lake: DataLake) -> str:
    """A seeded dataset no rule brings to the notebook yet: a rule for it has files to copy."""
    states = data_lake.availability(list(UNTOUCHED_DATASETS))
    waiting = [d for d in UNTOUCHED_DATASETS if states[d]["state"] == "NOT_AVAILABLE" and not states[d]["rule_ids"]]
    assert waiting, f"every candidate is at the notebook already (a reused lake? reset it): {states}"
    return waiting[0]


def test_a_wait_that_runs_out_leaves_the_rule_and_can_be_taken_up_again(data_lake):
    did = a_dataset_not_at_the_notebook(data_lake)
    handle = data_lake.make_available(did, lifetime_days=1)
    with pytest.raises(WaitTimeout) as ran_out:
        handle.wait(timeout=0, progress=False)
    assert ran_out.value.message.startswith(f"{did} is not available after 0 s (")
    assert "The rule stays in place" in ran_out.value.message
    assert handle.rule_ids[0] in [i for r in data_lake.rules() for i in r.rule_ids]
    started = time.monotonic()
    handle.wait(timeout=60, progress=False)
    assert handle.last_seen.state == AVAILABLE
    assert time.monotonic() - started < 60
    assert all(Path(p).read_bytes() for p in handle.paths)
    handle.cancel()


def test_refusals_carry_the_panels_messages(data_lake, lake_info):
    embargo = lake_info.scenarios.embargo
    with pytest.raises(PermissionDenied) as refused:
        data_lake.make_available(embargo.did)
    assert refused.value.message == f"{embargo.did} cannot be made available: {embargo.reason}"
    quota = lake_info.scenarios.quota
    with pytest.raises(Refused) as too_big:
        data_lake.make_available(quota.did, target="CHEAP")
    assert too_big.value.reason == "quota_exceeded"
    assert too_big.value.message.startswith(f"Quota exceeded: {quota.did} needs 198 kB; ")
    assert f"of your 100 kB quota on {quota.rse_expression} are used" in too_big.value.message
    with pytest.raises(InvalidInput, match=r"unknown target 'TAPE'; choose one of: notebook, CHEAP, FAST, SAFE"):
        data_lake.make_available(lake_info.scenarios.quick_rule.did, target="TAPE")


def test_no_token_in_any_repr_answer_or_error(data_lake, lake_info):
    token = lake_info.user().token_file.read_text()
    shown = [repr(data_lake), json.dumps(data_lake.whoami())]
    results = data_lake.search(name="ska:*", type="dataset")
    shown += [repr(results), results._repr_html_(), json.dumps(results.to_list())]
    handle = data_lake.make_available(lake_info.scenarios.quick_rule.did, target="SAFE")
    shown += [repr(handle), handle._repr_html_(), repr(data_lake.rules())]
    try:
        data_lake.make_available(lake_info.scenarios.embargo.did)
    except PermissionDenied as error:
        shown.append("".join(traceback.format_exception(error)))
    text = "\n".join(shown)
    assert token not in text
    assert not JWT_RE.search(text)


def test_download_mode_where_the_site_has_no_notebook_storage(lake_info, tmp_path):
    (instance,) = json.loads(Path(lake_info.jupyter_config).read_text())["DLaaS"]["instances"]
    instance = {**instance, "name": "download-site", "download_cache": str(tmp_path / "cache")}
    del instance["notebook_local"]
    scenario = lake_info.scenarios.quick_rule
    with DataLake(config={"instances": [instance]}) as site:
        assert site.targets() == ["download", "CHEAP", "FAST", "SAFE"]
        handle = site.make_available(scenario.did)
        assert handle.items[0].target == "download"
        assert handle.wait(timeout=60, progress=False).last_seen.state == AVAILABLE
        (path,) = handle.paths
        assert Path(path).is_relative_to(tmp_path / "cache")
        assert hashlib.md5(Path(path).read_bytes()).hexdigest() == scenario.files[0].md5
        with pytest.raises(PermissionDenied, match=f"embargoed until {lake_info.scenarios.embargo.embargo_until}"):
            site.make_available(lake_info.scenarios.embargo.did)
