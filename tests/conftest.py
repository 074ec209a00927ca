"""Shared pytest configuration: Jupyter server fixtures and the real local data lake."""

from __future__ import annotations

import pytest

pytest_plugins = ("pytest_jupyter.jupyter_server", "tests.fixtures_lake")


@pytest.fixture
def jp_server_config():
    """A Jupyter server with escape-dlaas enabled and no Rucio instance (unit tests)."""
    return {"ServerApp": {"jpserver_extensions": {"escape_dlaas": True}, "allow_root": True}}
