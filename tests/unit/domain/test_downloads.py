"""Download mode: embargoes are checked before a download, and a site without a cache says so."""

from __future__ import annotations

from datetime import date

import pytest

from escape_dlaas.domain.did import DID
from escape_dlaas.domain.downloads import download_progress, embargo_refusal, start_download
from escape_dlaas.errors import PermissionDenied, Refused

from .fakes import FakeSession

TODAY = date(2025, 6, 1)


def test_an_embargo_in_the_future_refuses_the_download():
    refusal = embargo_refusal("s:ds", {"embargo_until": "2030-01-01T00:00:00"}, today=TODAY)
    assert isinstance(refusal, PermissionDenied)
    assert refusal.message == "s:ds is embargoed until 2030-01-01; it cannot be downloaded before then"


def test_a_past_or_missing_embargo_does_not():
    assert embargo_refusal("s:ds", {"embargo_until": "2025-05-31"}, today=TODAY) is None
    assert embargo_refusal("s:ds", {}, today=TODAY) is None


def test_an_unreadable_embargo_refuses_rather_than_guessing():
    refusal = embargo_refusal("s:ds", {"embargo_until": "next spring"}, today=TODAY)
    assert refusal is not None
    assert "cannot be read" in refusal.message


@pytest.mark.asyncio
async def test_a_site_without_download_cache_refuses_and_has_no_progress():
    session = FakeSession()
    with pytest.raises(Refused) as caught:
        await start_download(session, None, DID("s", "ds"))
    assert caught.value.reason == "no_download_cache"
    assert await download_progress(session, None, None) == []
    assert session.calls == []


@pytest.mark.asyncio
async def test_an_embargoed_did_is_refused_before_anything_is_fetched(tmp_path):
    from escape_dlaas.domain.download_jobs import DownloadManager

    session = FakeSession()
    session.client.get_metadata = lambda scope, name, plugin: {"did_type": "DATASET", "embargo_until": "2999-01-01"}
    downloads = DownloadManager(tmp_path / "cache")
    try:
        with pytest.raises(PermissionDenied) as caught:
            await start_download(session, downloads, DID("s", "ds"))
    finally:
        downloads.close()
    assert "embargoed until 2999-01-01" in caught.value.message
    assert session.calls == ["read s:ds"]
    assert downloads.jobs() == []
