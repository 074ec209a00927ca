"""The server extension end to end against the real local lake (Rucio 41, PostgreSQL, daemons, issuer).

The demo user's IAM-like token file → RFC 8693 exchange → Rucio; search by metadata; make
available; the lake's transfers run; the state goes to AVAILABLE; the local path holds the bytes.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.integration.extension_api import call

pytestmark = pytest.mark.integration


@pytest.fixture
def jp_server_config(lake_info, tmp_path):
    config = json.loads(Path(lake_info.jupyter_config).read_text())["DLaaS"]
    # a QoS class no storage of this lake offers, to see the refusal explained
    config["instances"][0]["qos_classes"]["TAPE"] = "QOS=TAPE"
    return {
        "ServerApp": {"jpserver_extensions": {"escape_dlaas": True}, "allow_root": True, "root_dir": str(tmp_path)},
        "DLaaS": config,
    }


async def wait_for_state(jp_fetch, did, wanted, timeout=60):
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code, body = await call(jp_fetch, "availability", method="POST", body={"dids": [did]})
        assert code == 200, body
        state = body["items"][0]["state"]
        if not seen or seen[-1] != state:
            seen.append(state)
        if state == wanted:
            return seen
        await asyncio.sleep(0.5)
    raise AssertionError(f"{did} never reached {wanted}; states seen: {seen}")


def stable_part(item: dict) -> dict:
    moving = {"availability"} if item["type"] == "FILE" else {"availability", "bytes", "length"}
    return {k: v for k, v in item.items() if k not in moving}


def adler32_of(path: Path) -> str:
    import zlib

    return f"{zlib.adler32(path.read_bytes()) & 0xFFFFFFFF:08x}"


async def test_status_sees_the_live_lake(jp_fetch, lake_info):
    response = await jp_fetch("escape-dlaas", "status")
    body = json.loads(response.body)
    (instance,) = body["instances"]
    assert instance["reachable"] is True
    assert instance["rucio_version"] == lake_info.rucio_version
    checked = datetime.fromisoformat(instance["checked_at"])
    assert abs((datetime.now(timezone.utc) - checked).total_seconds()) < 60


async def test_whoami_shows_the_exchanged_identity_never_the_token(jp_fetch, lake_info):
    code, body = await call(jp_fetch, "whoami")
    assert code == 200, body
    user = lake_info.user()
    assert body["account"] == user.account
    token = body["token"]
    assert token["sub"] == user.sub
    assert token["iss"] == lake_info.issuer.url
    assert "rucio" in token["aud"]
    assert token["exchanged"] is True
    assert token["expires_in"] > 0
    assert user.token_file.read_text() not in json.dumps(body)


async def test_metadata_search_finds_the_seeded_datasets(jp_fetch, lake_info):
    scenario = lake_info.scenarios.metadata_search
    code, body = await call(jp_fetch, "search", params={"filter": scenario.filter_string, "type": "dataset"})
    assert code == 200, body
    assert sorted(item["did"] for item in body["items"]) == sorted(scenario.expected)
    assert all(item["type"] == "DATASET" for item in body["items"])
    assert all(
        item["availability"]["state"] in ("NOT_AVAILABLE", "AVAILABLE", "PARTIAL", "REPLICATING")
        for item in body["items"]
    )
    # the same query as structured JSON gives the same answer
    structured = [[{"key": "telescope", "op": "=", "value": "lofar"}, {"key": "energy", "op": ">", "value": 140}]]
    code, same = await call(jp_fetch, "search", params={"filters": json.dumps(structured), "type": "dataset"})
    assert code == 200
    assert sorted(i["did"] for i in same["items"]) == sorted(scenario.expected)


async def test_or_groups_dates_and_type_filter(jp_fetch, lake_info):
    calibration = lake_info.scenarios.calibration_lookup
    text = "telescope=km3net,data_level=calibration,valid_from<=2023-09-01,valid_to>=2023-09-01"
    code, body = await call(jp_fetch, "search", params={"filter": text, "type": "dataset"})
    assert code == 200, body
    assert [i["did"] for i in body["items"]] == list(calibration.expected)
    lofar = set(lake_info.scenarios.metadata_search.expected)
    either = f"telescope=lofar,energy>140;{text}"
    code, body = await call(jp_fetch, "search", params={"filter": either, "type": "dataset"})
    assert {i["did"] for i in body["items"]} == lofar | set(calibration.expected)
    # the type is kept although the JSON metadata plugin ignores it: containers only...
    code, containers = await call(jp_fetch, "search", params={"filter": "telescope=lofar", "type": "container"})
    assert code == 200, containers
    assert containers["items"]
    assert all(i["type"] == "CONTAINER" for i in containers["items"])
    # ...and no files: the lake's files carry no metadata, its collections do
    code, files = await call(jp_fetch, "search", params={"filter": "telescope=lofar", "type": "file"})
    assert code == 200, files
    assert files["items"] == []


async def test_search_pages_across_scopes_without_gaps_or_repeats(jp_fetch):
    code, everything = await call(jp_fetch, "search", params={"q": "*", "type": "collection", "page_size": 1000})
    assert code == 200
    assert everything["next_cursor"] is None
    all_dids = [i["did"] for i in everything["items"]]
    assert len({d.split(":")[0] for d in all_dids}) >= 4, "several scopes are searched when none is given"
    paged, cursor = [], None
    while True:
        params = {"q": "*", "type": "collection", "page_size": 7}
        if cursor:
            params["cursor"] = cursor
        code, page = await call(jp_fetch, "search", params=params)
        assert code == 200, page
        assert len(page["items"]) <= 7
        paged += [i["did"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(paged) == sorted(all_dids)
    assert len(paged) == len(set(paged))


async def test_names_first_then_describe_gives_the_full_page(jp_fetch, lake_info):
    """The panel's two steps: a names-only page at once, then one bulk call describes it."""
    described_pages = []
    for params in (
        {"q": "*", "type": "all", "page_size": 25},
        {"filter": lake_info.scenarios.metadata_search.filter_string, "type": "all"},
        {"filter": "telescope=lofar", "type": "container", "page_size": 10},
    ):
        code, full = await call(jp_fetch, "search", params=params)
        assert code == 200, full
        code, names = await call(jp_fetch, "search", params={**params, "details": "names"})
        assert code == 200, names
        assert [i["did"] for i in names["items"]] == [i["did"] for i in full["items"]]
        assert names["next_cursor"] == full["next_cursor"]
        assert all("availability" not in i and "metadata" not in i for i in names["items"])
        if "filter" not in params or params["type"] != "all":
            # the listing (or the type check) already knows what each DID is
            assert [i["type"] for i in names["items"]] == [i["type"] for i in full["items"]]
        code, described = await call(
            jp_fetch, "describe", method="POST", body={"dids": [i["did"] for i in names["items"]]}
        )
        assert code == 200, described
        # (availability, and a collection's size counted by Rucio's abacus daemon, may move
        # on between the two calls: transfers run, a fresh lake is still counting)
        assert [stable_part(i) for i in described["items"]] == [stable_part(i) for i in full["items"]]
        assert [i["availability"] is None for i in described["items"]] == [
            i["availability"] is None for i in full["items"]
        ]
        described_pages.append(described["items"])
    by_name, by_metadata, containers = described_pages
    assert {i["type"] for i in by_name} >= {"FILE", "DATASET"}
    assert all(i["availability"] for i in by_name if i["type"] in ("FILE", "DATASET"))
    assert set(lake_info.scenarios.metadata_search.expected) <= {i["did"] for i in by_metadata}
    assert all(i["metadata"]["telescope"] == "lofar" for i in by_metadata)
    assert containers
    assert all(i["type"] == "CONTAINER" for i in containers)


async def test_describe_reports_unknown_dids_without_failing_the_page(jp_fetch, lake_info):
    known = lake_info.scenarios.metadata_search.expected[0]
    code, body = await call(jp_fetch, "describe", method="POST", body={"dids": [known, "lofar:no_such_thing"]})
    assert code == 200, body
    first, unknown = body["items"]
    assert first["did"] == known
    assert first["type"] == "DATASET"
    assert unknown["did"] == "lofar:no_such_thing"
    assert unknown["type"] is None
    assert unknown["availability"]["state"] == "UNKNOWN"


async def test_scope_prefix_in_the_search_box(jp_fetch, lake_info):
    code, body = await call(jp_fetch, "search", params={"q": "lofar:L2023_7123*", "type": "dataset"})
    assert code == 200
    assert body["items"]
    assert all(i["did"].startswith("lofar:L2023_7123") for i in body["items"])


async def test_make_available_end_to_end(jp_fetch, lake_info):
    """REPLICATING → AVAILABLE as the lake's transfers run; the local file has the source's bytes."""
    scenario = lake_info.scenarios.quick_rule
    code, body = await call(jp_fetch, "availability", method="POST", body={"dids": [scenario.did]})
    assert body["items"][0]["state"] == "NOT_AVAILABLE"
    code, made = await call(
        jp_fetch, "rules", method="POST", body={"did": scenario.did, "target": "notebook", "lifetime_days": 1}
    )
    assert code == 201, made
    assert made["created"] is True
    assert made["rule"]["rse_expression"] == scenario.rse_expression
    seen = await wait_for_state(jp_fetch, scenario.did, "AVAILABLE")
    assert seen[-1] == "AVAILABLE"
    code, paths = await call(jp_fetch, "did", "paths", params={"did": scenario.did})
    assert code == 200
    assert paths["missing"] == []
    for file in scenario.files:
        local = Path(paths["replica_paths"][file.did])
        assert local.is_relative_to(lake_info.notebook_local.path)
        assert Path(paths["paths"][file.did]).resolve() == local.resolve(), "the dataset's folder links to it"
        assert local.stat().st_size == file.bytes
        assert adler32_of(local) == file.adler32
        assert hashlib.md5(local.read_bytes()).hexdigest() == file.md5
    # a second request returns the same rule, and nothing new is created
    code, again = await call(jp_fetch, "rules", method="POST", body={"did": scenario.did, "target": "notebook"})
    assert code == 200
    assert again["created"] is False
    assert again["rule"]["id"] == made["rule"]["id"]
    # details: per file, replicas per RSE with their QoS class, and the local path
    code, files = await call(jp_fetch, "did", "files", params={"did": scenario.did})
    assert code == 200
    (entry,) = files["files"]
    assert entry["state"] == "AVAILABLE"
    qos = {r["rse"]: r["qos_class"] for r in entry["replicas"]}
    assert qos[lake_info.notebook_local.name] == lake_info.notebook_local.qos
    assert entry["local_path"] == paths["replica_paths"][entry["did"]]


async def test_a_new_token_is_shown_to_rucio_once_before_concurrent_calls(jp_fetch, lake):
    """Twenty searches as the very first calls of a fresh server all succeed.

    Rucio stores a token the first time it sees it; concurrent first uses of the same token
    collide on that insert (a TOKENS_PK violation, and a 401 to one of the requests).
    """
    postgres_log = lake.paths.root / "logs" / "postgres.log"
    seen_before = postgres_log.read_text(errors="replace").count("TOKENS_PK")
    queries = [{"q": f"*{digit}*", "type": "all", "page_size": 5} for digit in range(10)] * 2
    answers = await asyncio.gather(*(call(jp_fetch, "search", params=q) for q in queries))
    assert [code for code, _ in answers] == [200] * 20, [body for code, body in answers if code != 200]
    assert postgres_log.read_text(errors="replace").count("TOKENS_PK") == seen_before


async def test_twenty_concurrent_requests_create_one_rule(jp_fetch, lake_info):
    did = lake_info.scenarios.metadata_search.expected[1]
    answers = await asyncio.gather(
        *(
            call(jp_fetch, "rules", method="POST", body={"did": did, "target": "SAFE", "lifetime_days": 1})
            for _ in range(20)
        )
    )
    codes = sorted(code for code, _ in answers)
    assert codes.count(201) == 1, codes
    assert set(codes) <= {200, 201}
    assert len({body["rule"]["id"] for _, body in answers}) == 1
    _code, mine = await call(jp_fetch, "rules")
    assert len([r for r in mine["rules"] if r["did"] == did and r["rse_expression"] == "QOS=SAFE"]) == 1


async def test_embargoed_dataset_is_refused_with_the_reason(jp_fetch, lake_info):
    embargo = lake_info.scenarios.embargo
    code, body = await call(jp_fetch, "rules", method="POST", body={"did": embargo.did, "target": "notebook"})
    assert code == 403, body
    # the reason first, short enough for a notification
    assert body["message"] == f"{embargo.did} cannot be made available: {embargo.reason}"
    # still visible in the catalogue
    code, _details = await call(jp_fetch, "did", params={"did": embargo.did})
    assert code == 200


async def test_quota_refusal_is_explained(jp_fetch, lake_info):
    quota = lake_info.scenarios.quota
    assert quota.rse_expression == "ESCAPE-CHEAP", "the CHEAP QoS class is the only way there"
    code, body = await call(jp_fetch, "rules", method="POST", body={"did": quota.did, "target": "CHEAP"})
    assert code == 422, body
    assert body["reason"] == "quota_exceeded"
    assert body["message"].startswith("Quota exceeded")


async def test_unknown_did_is_404(jp_fetch):
    code, body = await call(
        jp_fetch, "rules", method="POST", body={"did": "lofar:no_such_dataset", "target": "notebook"}
    )
    assert code == 404
    assert "lofar:no_such_dataset" in body["message"]
    code, body = await call(jp_fetch, "did", params={"did": "lofar:no_such_dataset"})
    assert code == 404


async def test_extend_and_cancel_own_rule_not_others(jp_fetch, lake_info):
    did = lake_info.scenarios.metadata_search.expected[0]
    code, made = await call(jp_fetch, "rules", method="POST", body={"did": did, "target": "CHEAP", "lifetime_days": 1})
    assert code in (200, 201), made
    rule_id = made["rule"]["id"]
    code, extended = await call(jp_fetch, "rules", rule_id, method="PUT", body={"lifetime_days": 3})
    assert code == 200, extended
    before = made["rule"]["expires_at"]
    assert extended["rule"]["expires_at"] > before
    code, body = await call(jp_fetch, "rules", rule_id, method="PUT", body={"lifetime_days": 365})
    assert code == 400
    assert body["field"] == "lifetime_days"
    code, cancelled = await call(jp_fetch, "rules", rule_id, method="DELETE")
    assert code == 200, cancelled
    # Rucio deletes softly: the rule now expires within its grace period (an hour at most)
    removal = datetime.fromisoformat(cancelled["removal_at"]).replace(tzinfo=timezone.utc)
    assert removal <= datetime.now(timezone.utc) + timedelta(hours=1, minutes=1)
    assert cancelled["removal_at"] < extended["rule"]["expires_at"]
    code, mine = await call(jp_fetch, "rules")
    (listed,) = [r for r in mine["rules"] if r["id"] == rule_id]
    assert listed["expires_at"] == cancelled["removal_at"]
    # changing one's mind within the grace period brings the same rule back, for the new lifetime
    code, again = await call(jp_fetch, "rules", method="POST", body={"did": did, "target": "CHEAP", "lifetime_days": 2})
    assert code == 200, again
    assert again["created"] is False
    assert again["rule"]["id"] == rule_id
    assert again["rule"]["expires_at"] > cancelled["removal_at"]
    # the seed's archive rule belongs to root: alice may not cancel it
    code, details = await call(jp_fetch, "did", params={"did": lake_info.scenarios.quick_rule.did})
    foreign = next(r for r in details["rules"] if r["account"] != lake_info.user().account)
    code, body = await call(jp_fetch, "rules", foreign["id"], method="DELETE")
    assert code == 403
    assert foreign["account"] in body["message"]


async def test_rses_targets_and_metadata_keys(jp_fetch, lake_info):
    code, body = await call(jp_fetch, "rses")
    assert code == 200
    by_name = {r["name"]: r for r in body["rses"]}
    assert by_name[lake_info.notebook_local.name]["notebook_local"] is True
    assert {r.name: r.qos for r in lake_info.rses} == {n: r["qos_class"] for n, r in by_name.items()}
    assert {t["id"] for t in body["targets"]} >= {"notebook", "FAST", "SAFE"}
    code, keys = await call(jp_fetch, "metadata-keys")
    assert code == 200
    assert {"telescope", "energy", "obs_date", "doi"} <= set(keys["keys"])


async def test_doi_is_shown_in_metadata(jp_fetch, lake_info):
    did = lake_info.scenarios.doi_datasets[0]
    code, details = await call(jp_fetch, "did", params={"did": did})
    assert code == 200
    assert details["metadata"]["doi"].startswith("10.")


async def test_bulk_availability_costs_the_same_few_rucio_requests_for_1_or_many_dids(jp_fetch, monkeypatch):
    from escape_dlaas.rucio.client import TokenClient

    code, found = await call(jp_fetch, "search", params={"q": "*", "type": "all", "page_size": 1000})
    kind = {i["did"]: i["type"] for i in found["items"]}
    dids = list(kind)
    sent: list[str] = []
    original = TokenClient._send_request

    def counting(self, url, *args, **kwargs):
        sent.append(url)
        return original(self, url, *args, **kwargs)

    monkeypatch.setattr(TokenClient, "_send_request", counting)
    assert len(dids) >= 50
    for batch in (dids[:1], dids[:10], dids):
        sent.clear()
        code, body = await call(jp_fetch, "availability", method="POST", body={"dids": batch})
        assert code == 200, body
        assert [i["did"] for i in body["items"]] == batch
        # types (1) + the account's rules (1) + one bulk call per kind of DID present: never per DID
        kinds = {kind[d] for d in batch}
        assert len(sent) == 2 + len(kinds), (len(batch), kinds, len(sent))


async def test_qos_class_without_storage_is_explained(jp_fetch, lake_info):
    did = lake_info.scenarios.metadata_search.expected[0]
    code, body = await call(jp_fetch, "rules", method="POST", body={"did": did, "target": "TAPE"})
    assert code == 422, body
    assert body["reason"] == "no_matching_rse"
    assert "no storage" in body["message"].lower()
