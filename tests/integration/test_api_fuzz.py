"""Schema-driven fuzzing of every endpoint against the real lake: no 5xx, answers match the OpenAPI file."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

import escape_dlaas

pytestmark = pytest.mark.integration

SPEC = Path(escape_dlaas.__file__).parent / "web" / "openapi.yaml"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES_PER_OPERATION = 25


@pytest.fixture
def jp_server_config(lake_info, tmp_path):
    config = json.loads(Path(lake_info.jupyter_config).read_text())["DLaaS"]
    return {
        "ServerApp": {"jpserver_extensions": {"escape_dlaas": True}, "allow_root": True, "root_dir": str(tmp_path)},
        "DLaaS": config,
    }


def fuzz(base_url: str, token: str) -> tuple[int, list[str]]:
    """Run every operation's generated cases; return how many were sent and what failed."""
    schema = schemathesis.openapi.from_path(SPEC)
    sent, failures = 0, []
    for result in schema.get_all_operations():
        operation = result.ok()
        # Mostly the real instance, so that requests reach Rucio; sometimes anything.
        for path_parameters in ({"instance": "local-lake"}, None):
            if path_parameters and "{instance}" not in operation.path:
                continue
            strategy = operation.as_strategy(path_parameters=path_parameters)

            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=strategy)
            def run(case: schemathesis.Case) -> None:
                nonlocal sent
                response = case.call(base_url=base_url, headers={"Authorization": f"token {token}"}, timeout=60)
                sent += 1
                try:
                    case.validate_response(response, checks=CHECKS)
                except Exception as failure:
                    failures.append(
                        f"{case.operation.label} {case.path_parameters} {case.query} {case.body!r}: {failure}"
                    )

            run()
    return sent, failures


async def test_every_endpoint_survives_generated_input(jp_fetch, jp_serverapp, jp_http_port, jp_base_url):
    await jp_fetch("escape-dlaas", "status")  # the server is up before the fuzzer starts
    base_url = f"http://127.0.0.1:{jp_http_port}{jp_base_url}escape-dlaas"
    sent, failures = await asyncio.to_thread(fuzz, base_url, jp_serverapp.identity_provider.token)
    assert sent >= 14 * 10, f"the fuzzer sent only {sent} requests"
    assert not failures, "\n".join(failures[:20])
