"""DataLake without a lake: configuration, checks made before Rucio is asked, errors without tokens or domain frames."""

from __future__ import annotations

import socket
import subprocess
import sys
import traceback

import pytest

from escape_dlaas.errors import ConfigurationError, CredentialsMissing, InvalidInput, ServiceUnavailable
from escape_dlaas.notebook import DataLake, SearchResults

# Shaped like a signed JWT, so that the suite's log watch would see it too.
FAKE_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSIsImF1ZCI6InJ1Y2lvIn0.c2lnbmF0dXJlLW5vdC1yZWFs"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def lake(monkeypatch, tmp_path):
    monkeypatch.setenv("UNIT_ACCESS_TOKEN", FAKE_TOKEN)
    url = f"http://127.0.0.1:{closed_port()}"
    config = {
        "instances": [
            {
                "name": "nowhere",
                "display_name": "A lake that does not answer",
                "rucio_url": url,
                "timeout_seconds": 2,
                "token_sources": [{"type": "env", "variable": "UNIT_ACCESS_TOKEN"}],
                "notebook_local": {"rse": "NOTEBOOK", "mount_path": str(tmp_path)},
                "qos_classes": {"FAST": "QOS=FAST"},
            }
        ]
    }
    with DataLake(config=config) as made:
        yield made


def test_repr_and_targets(lake):
    assert repr(lake).startswith("DataLake('nowhere': A lake that does not answer at http://127.0.0.1:")
    assert lake.name == "nowhere"
    assert lake.targets() == ["notebook", "FAST"]


@pytest.mark.parametrize(
    ("call", "field", "message"),
    [
        (lambda lake: lake.search(), "q", "type a name pattern (e.g. *.fits) or add a metadata filter"),
        (lambda lake: lake.search(filters="energy>>5"), "filter", "is not an operator"),
        (lambda lake: lake.search(name="*.fits", limit=0), "limit", "limit must be a whole number of at least 1"),
        (lambda lake: lake.search(name="*.fits", page_size=5000), "page_size", "page_size must be between 1 and 1000"),
        (lambda lake: lake.make_available("ska:obs", target="TAPE"), "target", "unknown target 'TAPE'"),
        (lambda lake: lake.make_available([]), "dids", "give at least one DID"),
        (lambda lake: lake.availability(["not a did"]), "dids", "is not a DID: write it as scope:name"),
        (lambda lake: lake.paths("ska:*"), "did", "it is a pattern, not a single DID"),
    ],
)
def test_bad_input_is_refused_with_the_panels_words_before_rucio_is_asked(lake, call, field, message):
    def use() -> None:
        answer = call(lake)
        if isinstance(answer, SearchResults):
            answer.first()  # a search's pattern is checked when it is first used

    with pytest.raises(InvalidInput) as raised:
        use()
    assert raised.value.field == field
    assert message in raised.value.message


def test_rucio_not_answering_is_our_error_naming_it_without_the_token_or_the_domains_frames(lake):
    with pytest.raises(ServiceUnavailable) as raised:
        lake.whoami()
    error = raised.value
    assert error.service == "Rucio"
    assert lake.config.rucio_url in error.message
    shown = "".join(traceback.format_exception(error))
    assert FAKE_TOKEN not in shown
    assert FAKE_TOKEN not in repr(lake)
    assert "escape_dlaas/domain" not in shown, "the scientist sees their call, not the domain's internals"
    assert error.__cause__ is None
    assert error.__suppress_context__


def test_no_configuration_is_explained(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", str(tmp_path))
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "user"))
    with pytest.raises(ConfigurationError, match="No data lake is configured"):
        DataLake()


def test_the_server_extension_does_not_load_the_notebook_api_nor_ipywidgets():
    code = (
        "import sys, escape_dlaas, escape_dlaas.web.app\n"
        "assert 'escape_dlaas.notebook' not in sys.modules\n"
        "assert 'ipywidgets' not in sys.modules\n"
        "from escape_dlaas import DataLake\n"
        "assert DataLake.__module__ == 'escape_dlaas.notebook.lake'\n"
        "assert 'ipywidgets' not in sys.modules, 'the API loads ipywidgets only for a widget'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_notebook_layer_calls_the_domain_never_the_web_layer():
    from tests.unit.test_architecture import breaches

    assert breaches(("escape_dlaas.notebook",), ("escape_dlaas.web",)) == []
    api = tuple(f"escape_dlaas.notebook.{m}" for m in ("lake", "runner", "config", "results", "handles", "progress"))
    assert breaches(api, ("tornado", "jupyter_server")) == [], "the API runs in any kernel or script"
    assert (
        breaches(("escape_dlaas.domain", "escape_dlaas.rucio", "escape_dlaas.auth"), ("escape_dlaas.notebook",)) == []
    )


def test_no_credential_says_where_it_looked_and_what_to_do(monkeypatch, tmp_path):
    monkeypatch.delenv("UNIT_ABSENT_TOKEN", raising=False)
    sources = [{"type": "file", "path": str(tmp_path / "token")}, {"type": "env", "variable": "UNIT_ABSENT_TOKEN"}]
    config = {
        "instances": [{"name": "lake", "rucio_url": f"http://127.0.0.1:{closed_port()}", "token_sources": sources}]
    }
    with DataLake(config=config) as lake, pytest.raises(CredentialsMissing) as raised:
        lake.whoami()
    message = raised.value.message
    assert f"token file {tmp_path / 'token'} does not exist" in message
    assert "environment variable UNIT_ABSENT_TOKEN is not set" in message
    assert "A kernel looks for your sign-in where the Jupyter server looks" in message
