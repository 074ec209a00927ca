"""Fuzzing every endpoint against the real lake: never a 5xx, answers match the OpenAPI file.

Three runs:

* schema-driven (schemathesis), the shapes the OpenAPI file describes;
* schema-violating (schemathesis' negative mode): wrong types, out-of-range values;
* hostile (hypothesis strategies of our own): deep nesting, any Unicode, text-direction
  controls, control characters, overlong strings, huge numbers, booleans for numbers,
  invalid UTF-8, and the cases testers found against a real lake, each an explicit example.

Every 4xx answer must be JSON with a ``message``, and a 400 (an input error) names the ``field``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
import schemathesis
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.generation import GenerationMode

import escape_dlaas

pytestmark = pytest.mark.integration

SPEC = Path(escape_dlaas.__file__).parent / "web" / "openapi.yaml"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES_PER_OPERATION = {GenerationMode.POSITIVE: 20, GenerationMode.NEGATIVE: 8}
HOSTILE_EXAMPLES_PER_OPERATION = 40
INSTANCE = "local-lake"
SEEDED_DID = "lofar:L2023_712341_HBA"


@pytest.fixture
def jp_server_config(lake_info, tmp_path):
    from tests.fixtures_lake import lake_server_config

    return lake_server_config(lake_info, tmp_path)


# Jupyter's HTTP server reads at most 64 KiB of request line and headers and drops the
# connection beyond: such requests never reach the extension, so they are not sent.
MAX_QUERY_BYTES = 48 * 1024


def url_too_long(query: dict[str, Any] | None) -> bool:
    return sum(len(quote(str(k))) + len(quote(str(v))) for k, v in (query or {}).items()) > MAX_QUERY_BYTES


def run_cases(strategy: st.SearchStrategy[Any], examples: int, send: Callable[[Any], None]) -> None:
    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],  # failures are collected, never raised: nothing to shrink
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        send(case)

    run()


def schema_fuzz(base_url: str, token: str, mode: GenerationMode) -> tuple[int, list[str]]:
    """Run every operation's generated cases; return how many were sent and what failed."""
    spec = yaml.safe_load(SPEC.read_text())
    # Jupyter's own authentication is tested elsewhere (every endpoint needs it): here every
    # request carries the token, and the negative mode must not drop it.
    spec.pop("security", None)
    schema = schemathesis.openapi.from_dict(spec)
    sent, failures = 0, []
    for result in schema.get_all_operations():
        operation = result.ok()
        # Mostly the real instance, so that requests reach Rucio; sometimes anything.
        for path_parameters in ({"instance": INSTANCE}, None):
            if path_parameters and "{instance}" not in operation.path:
                continue
            if path_parameters is None and mode is GenerationMode.NEGATIVE:
                continue  # an unknown instance is a 404 before any input is read

            def send(case: schemathesis.Case) -> None:
                nonlocal sent
                if url_too_long(case.query):
                    return
                try:
                    response = case.call(base_url=base_url, headers={"Authorization": f"token {token}"}, timeout=60)
                except requests.RequestException as error:
                    failures.append(f"{case.operation.label} {case.query} {case.body!r}: no answer: {error!r}")
                    return
                sent += 1
                try:
                    case.validate_response(response, checks=CHECKS)
                except Exception as failure:
                    failures.append(
                        f"{case.operation.label} {case.path_parameters} {case.query} {case.body!r}: {failure}"
                    )

            strategy = operation.as_strategy(mode, path_parameters=path_parameters)
            try:
                run_cases(strategy, EXAMPLES_PER_OPERATION[mode], send)
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE, (
                    operation.label
                )  # nothing to break (no input besides the instance)
    return sent, failures


async def fuzz_in_thread(jp_fetch, jp_serverapp, jp_http_port, jp_base_url, fuzz: Callable[..., Any], *args: Any):
    await jp_fetch("escape-dlaas", "status")  # the server is up before the fuzzer starts
    base_url = f"http://127.0.0.1:{jp_http_port}{jp_base_url}escape-dlaas"
    return await asyncio.to_thread(fuzz, base_url, jp_serverapp.identity_provider.token, *args)


async def test_every_endpoint_survives_generated_input(jp_fetch, jp_serverapp, jp_http_port, jp_base_url):
    sent, failures = await fuzz_in_thread(
        jp_fetch, jp_serverapp, jp_http_port, jp_base_url, schema_fuzz, GenerationMode.POSITIVE
    )
    assert sent >= 14 * 10, f"the fuzzer sent only {sent} requests"
    assert not failures, "\n".join(failures[:20])


async def test_every_endpoint_survives_input_that_breaks_the_schema(jp_fetch, jp_serverapp, jp_http_port, jp_base_url):
    sent, failures = await fuzz_in_thread(
        jp_fetch, jp_serverapp, jp_http_port, jp_base_url, schema_fuzz, GenerationMode.NEGATIVE
    )
    assert sent >= 50, f"the fuzzer sent only {sent} requests"
    assert not failures, "\n".join(failures[:20])


# --- Hostile input --------------------------------------------------------------------------

DIRECTION_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f"
ODD_CHARACTERS = DIRECTION_CONTROLS + "\x00\x01\x07\x1b\x7f\t\n\u200b\ufeff\u00a0 \u4e2d\u00e9\U0001f600:*%#\\\"'"
PLAUSIBLE = [SEEDED_DID, "lofar:L2023_*", "telescope=lofar,energy>140", "lofar:", "::", "*", "100", "FAST"]


def _insert(text: str, char: str, at: int) -> str:
    at %= len(text) + 1
    return text[:at] + char + text[at:]


hostile_text = st.one_of(
    st.text(max_size=40),  # any Unicode
    st.text(alphabet=st.sampled_from(ODD_CHARACTERS), min_size=1, max_size=8),
    st.builds(_insert, st.sampled_from(PLAUSIBLE), st.sampled_from(ODD_CHARACTERS), st.integers(0, 40)),
    st.integers(0, 400).map(lambda n: "lofar:" + "n" * (240 + n)),  # around Rucio's 250-character names
    st.integers(1, 5000).map(lambda n: "x" * n),
    st.sampled_from(["true", "false", "null", "NaN", "Infinity", "1e400", "-1", "0", "1_0", "\u0665", "9" * 60]),
    st.sampled_from(["[[[[", "{}", "energy>>5", 'telescope="lofar', "telescope=LOFAR", "energy\u2265140", "a=1;;b=2"]),
)
hostile_json = st.recursive(
    st.one_of(
        st.booleans(),
        st.none(),
        st.integers(),
        st.integers(min_value=10**18),
        st.floats(allow_nan=False, allow_infinity=False),
        hostile_text,
    ),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=8,
)
raw_bodies = st.one_of(
    st.integers(11, 20_000).map(lambda n: "[" * n + "]" * n),
    st.integers(11, 20_000).map(lambda n: '{"dids": ' + "[" * n),
    st.integers(11, 3000).map(lambda n: '{"a": ' * n + "1" + "}" * n),
    st.sampled_from(['{"a": NaN}', '{"lifetime_days": Infinity}', '{"lifetime_days": 1e400}', "null", "[]", '"x"']),
    st.binary(max_size=40).map(lambda b: b"\xff" + b),  # not UTF-8
)


# Searches that pass validation with odd but valid values (any Unicode in a value, extreme
# numbers, the typed operators), so that they reach Rucio's filter engine and database.
KEYS = ["telescope", "energy", "obs_date", "instrument", "run", "colour", "datatype"]
searches_reaching_rucio = st.fixed_dictionaries(
    {
        "filter": st.builds(
            "{}{}{}".format,
            st.sampled_from(KEYS),
            st.sampled_from(["=", "!=", "<", "<=", ">", ">=", "==", "\u2265", "\u2264", "\u2260"]),
            st.one_of(
                st.text(alphabet=st.characters(categories=("L", "N", "P", "S", "Zs")), min_size=1, max_size=30)
                .map(lambda v: v.strip().replace('"', "").replace("'", ""))
                .filter(bool)
                .map(lambda v: f'"{v}"'),
                st.integers(-(2**63) + 1, 2**63 - 1).map(str),
                st.floats(allow_nan=False, allow_infinity=False).map(repr),
            ),
        ),
    },
    optional={
        "q": st.sampled_from(["*", "lofar:L2023_*", "*.fits", "ska:*", "L*_HBA"]),
        "type": st.sampled_from(["all", "collection", "dataset", "container", "file"]),
        "details": st.sampled_from(["names", "full"]),
        "page_size": st.sampled_from(["1", "7", "1000"]),
    },
)


def _resolve(spec: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in item:
        node: Any = spec
        for part in item["$ref"].lstrip("#/").split("/"):
            node = node[part]
        item = node
    return item


def hostile_operations() -> list[tuple[str, str, st.SearchStrategy[Any]]]:
    """(method, path template, strategy of (path, query, body)) for every operation in the OpenAPI file."""
    spec = yaml.safe_load(SPEC.read_text())
    out = []
    for template, item in spec["paths"].items():
        shared = item.get("parameters", [])
        for method, operation in item.items():
            if method == "parameters":
                continue
            parameters = [_resolve(spec, p) for p in [*shared, *operation.get("parameters", [])]]
            query_names = [p["name"] for p in parameters if p["in"] == "query"]
            query = st.fixed_dictionaries({}, optional={name: hostile_text for name in query_names})
            path = st.just(template.replace("{instance}", INSTANCE))
            if "{rule_id}" in template:
                ids = hostile_text.filter(lambda t: t not in ("", ".", "..")).map(lambda t: quote(t, safe=""))
                path = st.builds(lambda i, t=template: t.replace("{instance}", INSTANCE).replace("{rule_id}", i), ids)
            body: st.SearchStrategy[Any] = st.none()
            if "requestBody" in operation:
                schema = _resolve(spec, operation["requestBody"]["content"]["application/json"]["schema"])
                fields = {name: hostile_json for name in schema.get("properties", {})}
                objects = st.fixed_dictionaries({}, optional=fields).map(json.dumps)
                body = st.one_of(objects, raw_bodies, hostile_json.map(json.dumps))
            out.append((method.upper(), template, st.tuples(path, query, body)))
    search = f"/instances/{INSTANCE}/search"
    out.append(("GET", search, st.tuples(st.just(search), searches_reaching_rucio, st.none())))
    return out


def answer_problem(response: requests.Response) -> str | None:
    """What is wrong with an answer to hostile input (None: a proper answer)."""
    if response.status_code >= 500:
        return f"HTTP {response.status_code}: {response.text[:300]}"
    if response.status_code < 400:
        return None
    try:
        data = response.json()
    except ValueError:
        return f"HTTP {response.status_code} without a JSON body: {response.text[:200]!r}"
    if not isinstance(data, dict) or not isinstance(data.get("message"), str) or not data["message"]:
        return f"HTTP {response.status_code} without a message: {data!r}"
    if response.status_code == 400 and not data.get("field"):
        return f"HTTP 400 without the field at fault: {data!r}"
    return None


class Client:
    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.session.headers.update({"Authorization": f"token {token}", "Content-Type": "application/json"})
        self.sent = 0

    def send(self, method: str, path: str, query: dict[str, str], body: str | bytes | None) -> requests.Response:
        self.sent += 1
        return self.session.request(method, self.base_url + path, params=query, data=body, timeout=60)


def hostile_fuzz(base_url: str, token: str) -> tuple[int, list[str]]:
    client = Client(base_url, token)
    failures: list[str] = []
    for method, _template, strategy in hostile_operations():

        def send(case: tuple[str, dict[str, str], Any], method: str = method) -> None:
            path, query, body = case
            try:
                problem = answer_problem(client.send(method, path, query, body))
            except requests.RequestException as error:
                problem = f"no answer: {error!r}"
            if problem:
                failures.append(f"{method} {path} {query!r} {str(body)[:200]!r}: {problem}")

        run_cases(strategy, HOSTILE_EXAMPLES_PER_OPERATION, send)
    return client.sent, failures


async def test_every_endpoint_survives_hostile_input(jp_fetch, jp_serverapp, jp_http_port, jp_base_url):
    sent, failures = await fuzz_in_thread(jp_fetch, jp_serverapp, jp_http_port, jp_base_url, hostile_fuzz)
    assert sent >= len(hostile_operations()) * 10, f"the fuzzer sent only {sent} requests"
    assert not failures, "\n".join(failures[:20])


# What testers sent to a real lake: each is a 400 naming the field, never a 5xx.
FOUND_BY_TESTERS = [
    ("POST", "describe", {}, "[" * 100_000, "body"),
    ("POST", "availability", {}, '{"dids": [' + "[" * 5000 + "]" * 5000 + "]}", "body"),
    ("GET", "search", {"filters": "[" * 10_000}, None, "filters"),  # within the URL length tornado reads
    ("POST", "describe", {}, json.dumps({"dids": ["lofar:L2023_712341\u202e_HBA"]}), "dids"),
    ("GET", "did", {"did": "lofar:L2023_712341_HB\u00c4"}, None, "did"),
    ("GET", "did", {"did": "lofar:" + "n" * 251}, None, "did"),
    ("GET", "search", {"q": "*", "cursor": "eyJxIjoieCIsInMiOjAsIm8iOjEwMDAwMDAwMDAwMDAwMDB9"}, None, "cursor"),
    ("GET", "search", {"filter": 'telescope="lofar'}, None, "filter"),
    ("GET", "search", {"q": "::"}, None, "q"),
    ("GET", "search", {"filter": "energy>>5"}, None, "filter"),
    ("GET", "search", {"filter": "energy>" + "9" * 40}, None, "filter"),
    ("GET", "search", {"filters": '[[{"key": "energy", "op": ">", "value": true}]]'}, None, "filters"),
    ("GET", "search", {"q": "*", "page_size": "true"}, None, "page_size"),
    ("POST", "rules", {}, json.dumps({"did": SEEDED_DID, "lifetime_days": True}), "lifetime_days"),
    ("POST", "rules", {}, json.dumps({"did": SEEDED_DID, "lifetime_days": 1e-9}), "lifetime_days"),
    ("POST", "rules", {}, '{"did": "lofar:L2023_712341_HBA", "lifetime_days": 1e400}', "body"),
]


@pytest.mark.parametrize(("method", "path", "query", "body", "field"), FOUND_BY_TESTERS)
async def test_what_testers_found_is_a_400_naming_the_field(
    jp_fetch, jp_serverapp, jp_http_port, jp_base_url, method, path, query, body, field
):
    def send(base_url: str, token: str) -> requests.Response:
        return Client(base_url, token).send(method, f"/instances/{INSTANCE}/{path}", query, body)

    response = await fuzz_in_thread(jp_fetch, jp_serverapp, jp_http_port, jp_base_url, send)
    assert response.status_code == 400, response.text[:300]
    assert response.json()["field"] == field
    assert response.json()["message"]
