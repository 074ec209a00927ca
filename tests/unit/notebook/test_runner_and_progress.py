"""The private domain loop (results, errors, a kernel interrupt) and the progress displays."""

from __future__ import annotations

import asyncio
import io
import signal
import threading

import pytest

from escape_dlaas.errors import NotFound
from escape_dlaas.notebook.handles import Progress
from escape_dlaas.notebook.progress import TextDisplay, WidgetDisplay, in_notebook, progress_display
from escape_dlaas.notebook.runner import DomainLoop
from escape_dlaas.resilience import time_budget, time_left


def test_coroutines_run_on_a_loop_of_their_own_in_a_daemon_thread():
    loop = DomainLoop()

    async def where() -> tuple[str, bool]:
        return threading.current_thread().name, threading.current_thread().daemon

    assert loop.run(where) == ("escape-dlaas-domain", True)
    assert loop.call(lambda: threading.current_thread().name) == "escape-dlaas-domain"


def test_it_works_while_the_callers_own_loop_runs():
    """As in ipykernel, whose cells run while its asyncio loop runs."""
    loop = DomainLoop()

    async def seven() -> int:
        await asyncio.sleep(0)
        return 7

    async def cell() -> int:
        return loop.run(seven)

    assert asyncio.run(cell()) == 7


def test_each_call_is_one_request_with_its_own_deadline():
    loop = DomainLoop()

    async def left() -> float | None:
        with time_budget(30):
            return time_left()

    assert 29 < loop.run(left) <= 30
    assert 29 < loop.run(left) <= 30, "the next call's deadline counts from its own start"


def test_errors_reach_the_caller():
    loop = DomainLoop()

    async def missing() -> None:
        raise NotFound("ska:obs does not exist")

    with pytest.raises(NotFound, match="ska:obs does not exist"):
        loop.run(missing)


def test_a_kernel_interrupt_cancels_the_call_and_reaches_the_caller():
    loop = DomainLoop()
    cancelled = threading.Event()

    async def forever() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 0.2)
    try:
        with pytest.raises(KeyboardInterrupt):
            loop.run(forever)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert cancelled.wait(5), "the coroutine was cancelled on the domain loop"


def test_outside_a_notebook_progress_is_text():
    assert not in_notebook()
    assert isinstance(progress_display("ska:obs"), TextDisplay)


def test_text_progress_writes_a_line_per_change():
    out = io.StringIO()
    display = TextDisplay("ska:obs", stream=out)
    display.update(Progress("REPLICATING", 0, 2, 0, 2000))
    display.update(Progress("REPLICATING", 0, 2, 0, 2000))
    display.update(Progress("STUCK", 1, 2, 1000, 2000, ("no source replica",)))
    display.finish("Stopped waiting")
    assert out.getvalue().splitlines() == [
        "ska:obs: REPLICATING, 0 of 2 files, 0 B of 2.0 kB",
        "ska:obs: STUCK, 1 of 2 files, 1.0 kB of 2.0 kB — no source replica",
        "ska:obs: Stopped waiting",
    ]


def test_the_widget_shows_the_fraction_the_counts_and_rucios_reasons_escaped():
    ipywidgets = pytest.importorskip("ipywidgets")
    box = ipywidgets.VBox()
    display = WidgetDisplay("ska:obs → notebook", box=box)
    assert box.children == (display.box,)
    display.update(Progress("STUCK", 1, 4, 250, 1000, ("<b>no</b> source",)))
    assert display.bar.value == pytest.approx(0.25)
    assert display.bar.bar_style == "warning"
    assert display.label.value == "STUCK, 1 of 4 files, 250 B of 1.0 kB"
    assert display.reasons.value == "<div>Rucio: &lt;b&gt;no&lt;/b&gt; source</div>"
    display.update(Progress("AVAILABLE", 4, 4, 1000, 1000))
    display.finish("Available")
    assert (display.bar.value, display.bar.bar_style) == (1.0, "success")
    assert display.label.value.endswith("— Available")
