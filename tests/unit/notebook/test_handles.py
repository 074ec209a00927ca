"""Handles: Rucio's rule (or a download) as one progress; wait, timeout, interrupt, cancel, extend."""

from __future__ import annotations

import pytest

from escape_dlaas.errors import DLaaSError, ServiceUnavailable
from escape_dlaas.notebook.handles import (
    AVAILABLE,
    CANCELLED,
    DOWNLOADING,
    FAILED,
    GONE,
    REPLICATING,
    STUCK,
    WAITING,
    AvailabilityHandle,
    Progress,
    Requested,
    WaitTimeout,
    combined,
    download_progress,
    format_bytes,
    rule_progress,
)


def rule(state: str, ok: int = 0, replicating: int = 0, stuck: int = 0, error: str | None = None) -> dict:
    return {
        "id": "a" * 32,
        "did": "ska:obs",
        "state": state,
        "rse_expression": "NOTEBOOK-LOCAL",
        "locks": {"ok": ok, "replicating": replicating, "stuck": stuck},
        "error": error,
    }


def at_notebook(total_files: int, here_files: int, total_bytes: int, here_bytes: int) -> dict:
    return {
        "files": {"total": total_files, "at_notebook": here_files, "replicating": 0},
        "bytes": {"total": total_bytes, "at_notebook": here_bytes},
    }


@pytest.mark.parametrize(
    ("state", "stuck", "expected"),
    [
        ("OK", 0, AVAILABLE),
        ("REPLICATING", 0, REPLICATING),
        ("REPLICATING", 1, STUCK),
        ("STUCK", 0, STUCK),
        ("SUSPENDED", 0, STUCK),
        ("WAITING_APPROVAL", 0, WAITING),
        ("INJECT", 0, WAITING),
    ],
)
def test_a_rules_state_in_the_panels_words(state, stuck, expected):
    assert rule_progress(rule(state, ok=1, replicating=1, stuck=stuck)).state == expected


def test_a_stuck_rule_carries_rucios_reason():
    found = rule_progress(rule("STUCK", ok=1, stuck=1, error="RSE ESCAPE-FAST is blocklisted for writes"))
    assert found.reasons == ("RSE ESCAPE-FAST is blocklisted for writes",)
    assert found.text() == "STUCK, 1 of 2 files — RSE ESCAPE-FAST is blocklisted for writes"


def test_files_from_the_locks_and_bytes_from_the_notebook():
    found = rule_progress(rule("REPLICATING", ok=1, replicating=2), at_notebook(3, 1, 3000, 1000))
    assert (found.files_done, found.files_total, found.bytes_done, found.bytes_total) == (1, 3, 1000, 3000)
    assert found.fraction == pytest.approx(1 / 3)
    assert found.text() == "REPLICATING, 1 of 3 files, 1.0 kB of 3.0 kB"
    done = rule_progress(rule("OK", ok=3), at_notebook(3, 0, 3000, 0))
    assert (done.files_done, done.bytes_done, done.fraction) == (3, 3000, 1.0), "an OK rule has every file there"


def test_a_rule_rucio_no_longer_lists_is_gone():
    assert rule_progress(None).state == GONE


def test_download_jobs():
    job = {
        "did": "ska:obs",
        "state": "RUNNING",
        "error": None,
        "files": {"total": 2, "done": 1},
        "bytes": {"total": 10, "done": 4},
    }
    assert download_progress(job) == Progress(DOWNLOADING, 1, 2, 4, 10, (), ("ska:obs",))
    assert download_progress({**job, "state": "DONE"}).state == AVAILABLE
    failed = download_progress({**job, "state": "FAILED", "error": "1 file(s) did not arrive"})
    assert (failed.state, failed.reasons) == (FAILED, ("1 file(s) did not arrive",))


def test_several_dids_add_up_and_show_what_needs_attention_first():
    ok = Progress(AVAILABLE, 2, 2, 20, 20, (), ("a:1",))
    copying = Progress(REPLICATING, 0, 1, 0, 5, (), ("a:2",))
    stuck = Progress(STUCK, 0, 1, None, None, ("no source",), ("a:3",))
    assert combined([ok, ok]).state == AVAILABLE
    both = combined([ok, copying])
    assert (both.state, both.files_done, both.files_total, both.bytes_done, both.bytes_total) == (
        REPLICATING,
        2,
        3,
        20,
        25,
    )
    worst = combined([ok, copying, stuck])
    assert (worst.state, worst.reasons, worst.bytes_total) == (STUCK, ("no source",), None)
    assert worst.dids == ("a:1", "a:2", "a:3")


@pytest.mark.parametrize(
    ("count", "text"), [(0, "0 B"), (999, "999 B"), (1000, "1.0 kB"), (198_000, "198 kB"), (1_500_000_000, "1.5 GB")]
)
def test_sizes_read_as_in_the_panel(count, text):
    assert format_bytes(count) == text


class FakeLake:
    """A HandleSource answering a scripted sequence of rule states."""

    def __init__(self, states: list[str], *, interrupt_after: int | None = None):
        self.states = states
        self.asked = 0
        self.interrupt_after = interrupt_after
        self.cancelled: list[str] = []
        self.extended: list[tuple[str, float]] = []

    def _refresh(self, items):
        if self.interrupt_after is not None and self.asked >= self.interrupt_after:
            raise KeyboardInterrupt
        state = self.states[min(self.asked, len(self.states) - 1)]
        self.asked += 1
        if state in ("RUNNING", "DONE", "FAILED"):
            return [
                download_progress({"did": i.did, "state": state, "error": "lost", "files": {}, "bytes": {}})
                for i in items
            ]
        return [rule_progress(rule(state, ok=1, replicating=1)) for _ in items]

    def _extend(self, item, lifetime_days):
        self.extended.append((item.rule_id, lifetime_days))
        return {"rule": {**item.rule, "expires_at": "2030-01-01T00:00:00+00:00"}}

    def _cancel(self, item):
        self.cancelled.append(item.rule_id)
        return {"deleted": item.rule_id, "removal_at": "soon"}

    def paths(self, did):
        return [f"/data/{did}/file.fits"]


def handle(lake: FakeLake, did: str = "ska:obs") -> AvailabilityHandle:
    return AvailabilityHandle(lake, [Requested(did, "notebook", rule=rule("REPLICATING"))])


def test_wait_follows_the_rule_until_it_is_available(capsys):
    lake = FakeLake(["REPLICATING", "REPLICATING", "OK"])
    done = handle(lake).wait(poll_seconds=0)
    assert lake.asked == 3
    assert done.last_seen.state == AVAILABLE
    assert done.paths == ["/data/ska:obs/file.fits"]
    lines = capsys.readouterr().out.splitlines()
    # plain text outside a notebook: a line per change, then the end
    assert lines == [
        "ska:obs: REPLICATING, 1 of 2 files",
        "ska:obs: AVAILABLE, 2 of 2 files",
        "ska:obs: Available",
    ]


def test_wait_without_progress_prints_nothing(capsys):
    handle(FakeLake(["OK"])).wait(progress=False)
    assert capsys.readouterr().out == ""


def test_wait_times_out_with_our_error_and_leaves_the_rule():
    lake = FakeLake(["REPLICATING"])
    with pytest.raises(WaitTimeout) as raised:
        handle(lake).wait(timeout=0.05, progress=False, poll_seconds=0.01)
    assert isinstance(raised.value, DLaaSError)
    assert isinstance(raised.value, TimeoutError)
    assert raised.value.reason == "wait_timeout"
    assert "ska:obs is not available after 0.05 s (REPLICATING, 1 of 2 files)" in raised.value.message
    assert "The rule stays in place" in raised.value.message
    assert lake.cancelled == []


def test_an_interrupt_stops_waiting_and_leaves_the_rule_in_place(capsys):
    lake = FakeLake(["REPLICATING"], interrupt_after=2)
    waited = handle(lake)
    assert waited.wait(poll_seconds=0) is waited
    assert lake.cancelled == []
    assert "Stopped waiting: the rule stays in place" in capsys.readouterr().out


def test_a_failed_download_raises_its_reason():
    lake = FakeLake(["RUNNING", "FAILED"])
    item = Requested("ska:obs", "download", download={"did": "ska:obs", "state": "RUNNING"})
    with pytest.raises(ServiceUnavailable, match="lost"):
        AvailabilityHandle(lake, [item]).wait(progress=False, poll_seconds=0)


def test_cancel_and_extend_act_on_every_rule_once():
    lake = FakeLake(["REPLICATING"])
    both = AvailabilityHandle(
        lake,
        [Requested("ska:a", "FAST", rule=rule("OK")), Requested("ska:b", "FAST", rule={**rule("OK"), "id": "b" * 32})],
    )
    both.extend(3)
    assert lake.extended == [("a" * 32, 3), ("b" * 32, 3)]
    assert both.items[0].rule["expires_at"] == "2030-01-01T00:00:00+00:00"
    assert len(both.cancel()) == 2
    assert both.cancel() == [], "a cancelled rule is not cancelled again"
    assert lake.cancelled == ["a" * 32, "b" * 32]
    assert both.state == CANCELLED
    assert both.wait(progress=False).last_seen.state == CANCELLED


def test_repr_says_what_and_where_without_asking_rucio():
    lake = FakeLake(["OK"])
    shown = handle(lake)
    assert repr(shown) == "<AvailabilityHandle ska:obs → notebook: WAITING, 0 of 0 files>"
    assert lake.asked == 0
    assert "<td>ska:obs</td>" in shown._repr_html_()
