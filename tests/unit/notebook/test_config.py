"""The kernel reads the server extension's own c.DLaaS settings from the Jupyter config path."""

from __future__ import annotations

import json

import pytest

from escape_dlaas.errors import ConfigurationError
from escape_dlaas.notebook.config import load_settings, read_server_config


def instance(name: str, url: str = "http://127.0.0.1:1") -> dict:
    return {"name": name, "rucio_url": url, "token_sources": [{"type": "env", "variable": "ACCESS_TOKEN"}]}


def write_json(directory, data, name="jupyter_server_config.json"):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(json.dumps(data))


def test_the_servers_json_config_on_the_jupyter_config_path_is_found(tmp_path, monkeypatch):
    write_json(tmp_path / "lake", {"ServerApp": {"port": 1}, "DLaaS": {"instances": [instance("lake")]}})
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", str(tmp_path / "lake"))
    settings = load_settings()
    assert [c.name for c in settings.instances] == ["lake"]
    assert settings.default_instance == "lake"
    assert settings.sources == (str(tmp_path / "lake" / "jupyter_server_config.json"),)


def test_higher_priority_directories_win_and_python_and_drop_in_files_count(tmp_path):
    low, high = tmp_path / "low", tmp_path / "high"
    write_json(low, {"DLaaS": {"instances": [instance("low")], "search_page_size": 7}})
    (high / "jupyter_server_config.d").mkdir(parents=True)
    write_json(high / "jupyter_server_config.d", {"DLaaS": {"default_instance": "b"}}, name="site.json")
    (high / "jupyter_server_config.py").write_text(
        "c.DLaaS.instances = [" + ", ".join(repr(instance(n)) for n in ("a", "b")) + "]\n"
    )
    section, sources = read_server_config([str(high), str(low)])
    assert [i["name"] for i in section["instances"]] == ["a", "b"]
    assert section["default_instance"] == "b"
    assert section["search_page_size"] == 7
    assert str(high / "jupyter_server_config.py") in sources
    settings = load_settings(high)
    assert settings.instance_config(None).name == "b"
    assert settings.instance_config("a").name == "a"


def test_no_configuration_says_where_it_looked_and_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", str(tmp_path / "empty"))
    settings = load_settings()
    with pytest.raises(ConfigurationError) as raised:
        settings.instance_config(None)
    message = raised.value.message
    assert message.startswith("No data lake is configured: no c.DLaaS.instances in ")
    assert str(tmp_path / "empty") in message
    assert "set JUPYTER_CONFIG_PATH" in message
    assert "DataLake(config=...)" in message


def test_an_unknown_instance_names_the_configured_ones():
    settings = load_settings({"instances": [instance("escape"), instance("cern")]})
    with pytest.raises(ConfigurationError, match=r"no data lake instance called 'ska'; configured: escape, cern"):
        settings.instance_config("ska")


def test_an_invalid_configuration_names_the_key_as_the_server_does(tmp_path):
    broken = instance("lake", url="ftp://nowhere")
    with pytest.raises(ConfigurationError) as raised:
        load_settings({"DLaaS": {"instances": [broken]}})
    assert "instances[0].rucio_url: expected an http(s):// URL" in raised.value.message
    assert raised.value.field == "instances[0].rucio_url"


def test_a_config_file_or_folder_can_be_given(tmp_path):
    write_json(tmp_path, {"DLaaS": {"instances": [instance("given")]}})
    assert load_settings(tmp_path / "jupyter_server_config.json").instance_config(None).name == "given"
    assert load_settings(str(tmp_path)).instance_config(None).name == "given"
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_settings(tmp_path / "nothing.json")


def test_an_unreadable_config_file_is_named(tmp_path):
    (tmp_path / "jupyter_server_config.json").write_text("{not json")
    with pytest.raises(
        ConfigurationError, match=r"Cannot read the Jupyter server configuration .*jupyter_server_config.json"
    ):
        read_server_config([str(tmp_path)])


def test_the_servers_root_comes_from_the_same_files(tmp_path):
    write_json(tmp_path, {"ServerApp": {"root_dir": "/srv/notebooks"}, "DLaaS": {"instances": [instance("lake")]}})
    assert load_settings(tmp_path).root_dir == "/srv/notebooks"
    assert load_settings({"instances": [instance("lake")]}).root_dir is None
