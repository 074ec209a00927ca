"""A dataset of the demo user's own, new for each test: rules on it never meet one from an earlier run.

It holds the quick-rule file, which is on the SAFE storage already, so a rule to SAFE needs no copy.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from escape_dlaas.lake import LakeInfo
from escape_dlaas.lake.tokens import exchange_token


def fresh_dataset(info: LakeInfo, client_for: Callable[..., Any], purpose: str) -> str:
    """``user.<account>:<purpose>-<random>``, holding the quick-rule file; created as the demo user."""
    client = client_for(exchange_token(info, info.user().token_file.read_text()))
    scope, name = f"user.{info.user().account}", f"{purpose}-{uuid.uuid4().hex[:12]}"
    client.add_dataset(scope, name)
    client.attach_dids(scope, name, [{"scope": f.scope, "name": f.name} for f in info.scenarios.quick_rule.files])
    return f"{scope}:{name}"
