"""Mapping the notebook RSE's PFNs to local paths never leaves the mount."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

import pytest

from escape_dlaas.config import parse_instance
from escape_dlaas.service import InstanceService


@pytest.fixture
def service(tmp_path):
    config = parse_instance(
        {
            "name": "t",
            "rucio_url": "http://127.0.0.1:1",
            "token_sources": [{"type": "env", "variable": "T"}],
            "notebook_local": {"rse": "NB", "mount_path": str(tmp_path / "mnt"), "pfn_prefix": "/rucio/nb"},
        },
        "instances[0]",
    )
    with ThreadPoolExecutor(1) as pool:
        yield InstanceService(config, pool, logging.getLogger("test"))


def replica(pfn, rse="NB"):
    return {"pfns": {pfn: {"rse": rse}}}


def test_pfn_under_the_prefix_maps_into_the_mount(service, tmp_path):
    assert service._local_path(replica("file://localhost/rucio/nb/ska/ab/cd/f.fits")) == str(
        tmp_path / "mnt" / "ska" / "ab" / "cd" / "f.fits"
    )


@pytest.mark.parametrize(
    "pfn",
    [
        "file://localhost/rucio/nb/../../etc/passwd",
        "file://localhost/rucio/nb/ska/../../../etc/passwd",
        "file://localhost/rucio/nbx/f.fits",
        "file://localhost/elsewhere/f.fits",
        "file://localhost/rucio/nb",
    ],
)
def test_nothing_outside_the_mount_or_prefix(service, pfn):
    assert service._local_path(replica(pfn)) is None


def test_other_rses_are_ignored(service):
    assert service._local_path(replica("file://localhost/rucio/nb/f", rse="SAFE")) is None
