"""Make-available against the demo lake: the preview knows refusals before the click, strict lifetimes,
the lake's owners may extend, and two Jupyter servers of one user asking at once get exactly one 'created'.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from escape_dlaas.lake import free_ports
from tests.fixtures_lake import lake_server_config
from tests.integration.extension_api import LOCAL_LAKE, call
from tests.integration.lake_datasets import fresh_dataset

pytestmark = pytest.mark.integration


TAPE = "TAPE"  # a QoS class no storage of the lake offers


def server_config(lake_info, root_dir: Path) -> dict:
    config = lake_server_config(lake_info, root_dir)
    config["DLaaS"]["instances"][0]["qos_classes"][TAPE] = f"QOS={TAPE}"
    return config


@pytest.fixture
def jp_server_config(lake_info, tmp_path):
    return server_config(lake_info, tmp_path)


def rucio_requests(monkeypatch) -> list[str]:
    """The URLs of every request the extension sends to Rucio from now on."""
    from escape_dlaas.rucio.client import TokenClient

    sent: list[str] = []
    original = TokenClient._send_request

    def counting(self, url, *args, **kwargs):
        sent.append(url)
        return original(self, url, *args, **kwargs)

    monkeypatch.setattr(TokenClient, "_send_request", counting)
    return sent


async def test_preview_of_data_with_room_says_what_moves_and_costs_a_bounded_number_of_requests(
    jp_fetch, lake_info, monkeypatch
):
    did = "ska:AA05_obs_0002"  # two files on ESCAPE-SAFE; no test makes a rule on it
    code, answer = await call(jp_fetch, "rules", "preview", params={"did": did, "target": "notebook"})
    assert code == 200, answer
    assert answer["outcome"] == "create"
    assert answer["refusals"] == []
    assert answer["type"] == "DATASET"
    assert answer["rses"] == [lake_info.notebook_local.name]
    assert answer["size"]["files"] == 2
    assert answer["to_move"] == answer["size"], "nothing of it is at the notebook yet"
    (quota,) = answer["quota"]["rses"]
    assert quota["unlimited"] is True, "alice's quota on the notebook storage is unlimited"
    assert answer["embargo"] is None
    assert answer["rule"] is None
    # once the instance's storage and the account's attributes are known: 7 requests for a dataset in a container
    sent = rucio_requests(monkeypatch)
    code, again = await call(jp_fetch, "rules", "preview", params={"did": did, "target": "notebook"})
    assert code == 200
    assert again == answer
    assert len(sent) == 7, sent


async def test_preview_knows_an_embargo_before_the_click(jp_fetch, lake_info):
    embargo = lake_info.scenarios.embargo
    code, answer = await call(jp_fetch, "rules", "preview", params={"did": embargo.did})
    assert code == 200, answer
    assert answer["outcome"] == "refused"
    assert answer["embargo"] == {
        "until": embargo.embargo_until,
        "did": embargo.did,
        "message": f"{embargo.did} is embargoed until {embargo.embargo_until}: "
        "the data lake refuses to make it available before then.",
    }
    assert [r["reason"] for r in answer["refusals"]] == ["embargoed"]
    # the container holding it is covered too, as the lake's policy does
    container = "cta:CTA_LST1_DL3_2024"
    code, answer = await call(jp_fetch, "rules", "preview", params={"did": container, "target": "SAFE"})
    assert code == 200, answer
    assert answer["embargo"]["did"] == embargo.did
    assert answer["outcome"] == "refused"
    # and Rucio refuses the rule, as the preview said
    code, refused = await call(jp_fetch, "rules", method="POST", body={"did": embargo.did, "target": "notebook"})
    assert code == 403, refused


async def test_preview_and_refusal_explain_the_quota_with_the_same_numbers(jp_fetch, lake_info):
    quota = lake_info.scenarios.quota
    code, answer = await call(jp_fetch, "rules", "preview", params={"did": quota.did, "target": "CHEAP"})
    assert code == 200, answer
    assert answer["outcome"] == "refused"
    assert answer["quota"]["fits"] is False
    assert answer["quota"]["needed_bytes"] == quota.bytes
    (cheap,) = answer["quota"]["rses"]
    assert cheap["rse"] == quota.rse_expression
    assert cheap["limit_bytes"] == quota.limit_bytes
    assert cheap["needed_bytes"] == quota.bytes
    assert cheap["fits"] is False
    message = answer["quota"]["message"]
    assert message.startswith(f"Quota exceeded: {quota.did} needs 198 kB; ")
    assert f"of your 100 kB quota on {quota.rse_expression} are used" in message
    assert [r["reason"] for r in answer["refusals"]] == ["quota_exceeded"]
    code, refused = await call(jp_fetch, "rules", method="POST", body={"did": quota.did, "target": "CHEAP"})
    assert code == 422, refused
    assert refused["reason"] == "quota_exceeded"
    assert refused["message"] == message, "the notification reads the same numbers as the dialog"


async def test_preview_of_a_qos_class_no_storage_offers(jp_fetch, lake_info):
    did = lake_info.scenarios.metadata_search.expected[0]
    code, answer = await call(jp_fetch, "rules", "preview", params={"did": did, "target": TAPE})
    assert code == 200, answer
    assert answer["rses"] == []
    assert answer["outcome"] == "refused"
    assert [r["reason"] for r in answer["refusals"]] == ["no_matching_rse"]
    assert answer["refusals"][0]["message"].startswith(f"No storage (RSE) offers QoS class {TAPE}")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"did": "lofar"}, "did"),
        ({"did": "lofar:x", "target": "MOON"}, "target"),
        ({"did": "lofar:x", "lifetime_days": "true"}, "lifetime_days"),
        ({"did": "lofar:x", "lifetime_days": "0.00001"}, "lifetime_days"),
    ],
)
async def test_preview_refuses_bad_input_naming_the_field(jp_fetch, params, field):
    code, answer = await call(jp_fetch, "rules", "preview", params=params)
    assert code == 400, answer
    assert answer["field"] == field


async def test_preview_of_an_unknown_did_is_404(jp_fetch):
    code, answer = await call(jp_fetch, "rules", "preview", params={"did": "lofar:no_such_dataset"})
    assert code == 404, answer
    assert answer["message"].startswith("lofar:no_such_dataset does not exist in ")


@pytest.mark.parametrize(
    ("lifetime", "says"),
    [
        (True, "got true, a boolean"),
        (1e-9, "at least 1 hour"),
        ("7", "got the text '7'"),
        (1e308, "longer than this site allows"),
        (1e6, "longer than this site allows (30 days)"),
    ],
)
async def test_a_lifetime_that_is_not_a_sensible_number_of_days_creates_nothing(jp_fetch, lake_info, lifetime, says):
    did = lake_info.scenarios.metadata_search.expected[0]
    code, answer = await call(
        jp_fetch, "rules", method="POST", body={"did": did, "target": "SAFE", "lifetime_days": lifetime}
    )
    assert code == 400, answer
    assert answer["field"] == "lifetime_days"
    assert says in answer["message"]


async def test_on_the_demo_policy_asking_again_for_longer_extends_and_extend_is_offered(
    jp_fetch, lake_info, rucio_client_for, monkeypatch
):
    did = fresh_dataset(lake_info, rucio_client_for, "extend")
    body = {"did": did, "target": "SAFE", "lifetime_days": 1}
    sent = rucio_requests(monkeypatch)
    code, made = await call(jp_fetch, "rules", method="POST", body=body)
    assert code == 201, made
    assert made["rule"]["can_extend"] is True
    assert made["rule"]["can_cancel"] is True
    # the rule and its read-back by id (plus the account and targets on a server's first call)
    assert len([url for url in sent if "/rules" in url]) == 2, sent
    code, preview = await call(
        jp_fetch, "rules", "preview", params={"did": did, "target": "SAFE", "lifetime_days": "3"}
    )
    assert code == 200, preview
    assert preview["outcome"] == "extend"
    assert preview["rule"]["id"] == made["rule"]["id"]
    code, again = await call(jp_fetch, "rules", method="POST", body={**body, "lifetime_days": 3})
    assert code == 200, again
    assert (again["created"], again["extended"]) == (False, True)
    assert "note" not in again
    assert again["rule"]["expires_at"] > made["rule"]["expires_at"]
    assert again["rule"]["can_extend"] is True


# -- two Jupyter servers of the same user ---------------------------------------------------------------


@contextlib.asynccontextmanager
async def second_jupyter_server(lake_info, root_dir: Path) -> AsyncIterator[tuple[str, str]]:
    """Another Jupyter server process with the extension on the same lake: (base URL, token)."""
    (port,) = free_ports(1)
    token = secrets.token_hex(16)
    root_dir.mkdir(parents=True, exist_ok=True)
    config_file = root_dir / "second_server_config.json"
    config_file.write_text(json.dumps(server_config(lake_info, root_dir)))
    log = (root_dir / "second_server.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter_server",
            f"--config={config_file}",
            "--ip=127.0.0.1",
            f"--port={port}",
            "--port-retries=0",
            "--no-browser",
            f"--IdentityProvider.token={token}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "JUPYTER_PLATFORM_DIRS": "1"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        client = AsyncHTTPClient()
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (root_dir / "second_server.log").read_text()[-2000:]
            try:
                await client.fetch(f"{base}/escape-dlaas/status", headers={"Authorization": f"token {token}"})
                break
            except (HTTPClientError, OSError):
                assert time.monotonic() < deadline, "the second Jupyter server did not start within 60 s"
                await asyncio.sleep(0.3)
        yield base, token
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


async def test_two_jupyter_servers_asking_at_once_get_exactly_one_created(
    jp_fetch, lake_info, rucio_client_for, tmp_path
):
    """Each server serialises its own requests per DID and target; across servers only Rucio can."""
    did = fresh_dataset(lake_info, rucio_client_for, "two-servers")
    body = {"did": did, "target": "SAFE", "lifetime_days": 1}
    await call(jp_fetch, "whoami")  # both servers signed in before the race
    async with second_jupyter_server(lake_info, tmp_path / "second") as (base, token):
        client = AsyncHTTPClient()

        async def from_second_server() -> tuple[int, dict]:
            try:
                response = await client.fetch(
                    f"{base}/{'/'.join(LOCAL_LAKE)}/rules",
                    method="POST",
                    body=json.dumps(body),
                    headers={"Authorization": f"token {token}"},
                    request_timeout=120,
                )
            except HTTPClientError as error:
                assert error.response is not None, error
                return error.code, json.loads(error.response.body)
            return response.code, json.loads(response.body)

        answers = await asyncio.gather(
            *(call(jp_fetch, "rules", method="POST", body=body) for _ in range(3)),
            *(from_second_server() for _ in range(3)),
        )
    codes = [code for code, _ in answers]
    assert sorted(codes) == [200] * 5 + [201], answers
    assert [a["created"] for _, a in answers].count(True) == 1
    assert len({a["rule"]["id"] for _, a in answers}) == 1
    code, mine = await call(jp_fetch, "rules")
    assert code == 200, mine
    assert len([r for r in mine["rules"] if r["did"] == did and r["rse_expression"] == "QOS=SAFE"]) == 1
