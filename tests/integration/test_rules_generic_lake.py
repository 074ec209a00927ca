"""Make-available on Rucio's stock generic policy, where only root and admins may update or delete rules.

Asking again for data that is already available must keep working (200 with the rule's
expiry and a note, never 403); Extend and Cancel are offered only until Rucio has said no.
"""

from __future__ import annotations

import pytest

from tests.fixtures_lake import lake_server_config
from tests.integration.extension_api import call
from tests.integration.lake_datasets import fresh_dataset

pytestmark = pytest.mark.integration

NOT_EXTENDED = "This data lake does not let users extend rules; the rule ends on "


@pytest.fixture
def jp_server_config(generic_lake_info, tmp_path):
    return lake_server_config(generic_lake_info, tmp_path)


async def test_asking_again_for_longer_keeps_the_rule_and_says_why(
    jp_fetch, generic_lake_info, generic_rucio_client_for
):
    did = fresh_dataset(generic_lake_info, generic_rucio_client_for, "ask-again")
    body = {"did": did, "target": "SAFE", "lifetime_days": 1}
    code, made = await call(jp_fetch, "rules", method="POST", body=body)
    assert code == 201, made
    assert made["rule"]["can_extend"] is True, "not known before Rucio answers"

    code, again = await call(jp_fetch, "rules", method="POST", body={**body, "lifetime_days": 2})
    assert code == 200, again
    assert (again["created"], again["extended"]) == (False, False)
    assert again["rule"]["id"] == made["rule"]["id"]
    assert again["rule"]["expires_at"] == made["rule"]["expires_at"]
    assert again["note"].startswith(NOT_EXTENDED)
    assert again["rule"]["can_extend"] is False

    # known from now on: the preview says the rule is kept, and Extend answers at once
    code, preview = await call(
        jp_fetch, "rules", "preview", params={"did": did, "target": "SAFE", "lifetime_days": "5"}
    )
    assert code == 200, preview
    assert preview["outcome"] == "keep"
    assert preview["note"] == again["note"]
    assert preview["refusals"] == []
    code, refused = await call(jp_fetch, "rules", made["rule"]["id"], method="PUT", body={"lifetime_days": 3})
    assert code == 403, refused
    assert refused["reason"] == "extend_not_allowed"
    assert refused["message"] == again["note"]

    # the same lifetime again: the rule lasts long enough, nothing to say
    code, same = await call(jp_fetch, "rules", method="POST", body=body)
    assert code == 200, same
    assert "note" not in same


async def test_cancel_is_refused_clearly_and_then_no_longer_offered(
    jp_fetch, generic_lake_info, generic_rucio_client_for
):
    did = fresh_dataset(generic_lake_info, generic_rucio_client_for, "cancel")
    code, made = await call(jp_fetch, "rules", method="POST", body={"did": did, "target": "SAFE", "lifetime_days": 1})
    assert code == 201, made
    rule_id = made["rule"]["id"]
    code, refused = await call(jp_fetch, "rules", rule_id, method="DELETE")
    assert code == 403, refused
    assert refused["reason"] == "cancel_not_allowed"
    assert refused["message"].startswith("This data lake does not let users cancel rules; the rule ends on ")
    assert refused["message"].endswith(" UTC, then Rucio removes it.")
    code, mine = await call(jp_fetch, "rules")
    assert code == 200, mine
    (listed,) = [r for r in mine["rules"] if r["id"] == rule_id]
    assert listed["can_cancel"] is False
    assert listed["expires_at"] == made["rule"]["expires_at"], "the rule is still there, unchanged"
    code, details = await call(jp_fetch, "did", params={"did": did})
    assert code == 200, details
    (shown,) = [r for r in details["rules"] if r["id"] == rule_id]
    assert shown["can_cancel"] is False
