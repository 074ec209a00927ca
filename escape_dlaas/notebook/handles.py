"""What ``make_available`` returns: a handle on the rules (or downloads) that bring data somewhere.

The handle knows, per DID, the rule Rucio keeps for it (or the download job, on a site
without notebook-local storage); its :attr:`~AvailabilityHandle.state` asks again,
:meth:`~AvailabilityHandle.wait` follows it with a progress display, and
:attr:`~AvailabilityHandle.paths` says where to open the files. Turning Rucio's rule and
the availability at the notebook into one progress is pure (:func:`rule_progress`,
:func:`download_progress`, :func:`combined`), so it is tested without a lake.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from ..errors import DLaaSError, ServiceUnavailable

# States of a handle, in the panel's words.
AVAILABLE = "AVAILABLE"  # every file is at the target
REPLICATING = "REPLICATING"  # Rucio is copying
STUCK = "STUCK"  # Rucio reports a transfer it cannot finish (its reason in ``reasons``); it keeps retrying
WAITING = "WAITING"  # the rule waits for an approval or for Rucio's judge
DOWNLOADING = "DOWNLOADING"  # download mode: files are being fetched into the cache
FAILED = "FAILED"  # download mode: the download ended without all files
CANCELLED = "CANCELLED"  # the rule was cancelled from this handle
GONE = "GONE"  # Rucio no longer lists the rule (it expired or was cancelled elsewhere)
FINAL_STATES = (AVAILABLE, FAILED, CANCELLED, GONE)
DEFAULT_POLL_SECONDS = 1.0


class WaitTimeout(DLaaSError, TimeoutError):
    """``wait(timeout=...)`` ran out before the data was available; the rule stays in place."""

    reason = "wait_timeout"


@dataclass(frozen=True)
class Progress:
    """How far one DID (or all of a handle's DIDs) is: files and bytes at the target, and Rucio's reasons."""

    state: str
    files_done: int = 0
    files_total: int = 0
    bytes_done: int | None = None
    bytes_total: int | None = None
    reasons: tuple[str, ...] = ()
    dids: tuple[str, ...] = ()

    @property
    def done(self) -> bool:
        return self.state == AVAILABLE

    @property
    def fraction(self) -> float:
        """0 to 1: by bytes when known, else by files."""
        if self.state == AVAILABLE:
            return 1.0
        if self.bytes_total:
            return min(1.0, (self.bytes_done or 0) / self.bytes_total)
        return min(1.0, self.files_done / self.files_total) if self.files_total else 0.0

    def text(self) -> str:
        """One line for a person: state, files, bytes, and the first of Rucio's reasons."""
        parts = [self.state, f"{self.files_done} of {self.files_total} files"]
        if self.bytes_total is not None:
            parts.append(f"{format_bytes(self.bytes_done or 0)} of {format_bytes(self.bytes_total)}")
        line = ", ".join(parts)
        if self.reasons:
            line += f" — {self.reasons[0]}"
        return line


def format_bytes(count: int) -> str:
    """Decimal units, as the panel shows sizes: 198 kB, 1.5 GB."""
    value = float(count)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(value) < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" or value >= 100 else f"{value:.1f} {unit}"
        value /= 1000
    return f"{count} B"  # not reached


def rule_progress(rule: Mapping[str, Any] | None, availability: Mapping[str, Any] | None = None) -> Progress:
    """Progress of one rule (as ``rule_json`` gives it); ``availability`` at the notebook adds the bytes.

    None (Rucio does not list the rule any more): :data:`GONE`.
    """
    if rule is None:
        return Progress(GONE)
    locks = rule.get("locks") or {}
    ok, copying, stuck = (int(locks.get(k) or 0) for k in ("ok", "replicating", "stuck"))
    reasons: tuple[str, ...] = ()
    state = str(rule.get("state") or "")
    if state == "OK":
        result = AVAILABLE
    elif state in ("STUCK", "SUSPENDED") or stuck:
        result = STUCK
        reasons = (str(rule.get("error") or ("Rucio suspended the rule" if state == "SUSPENDED" else "stuck")),)
    elif state in ("WAITING_APPROVAL", "INJECT"):
        result = WAITING
        reasons = ("the rule waits for approval",) if state == "WAITING_APPROVAL" else ()
    else:
        result = REPLICATING
    files_total = ok + copying + stuck
    bytes_done = bytes_total = None
    if availability is not None:
        files = availability.get("files") or {}
        size = availability.get("bytes") or {}
        files_total = max(files_total, int(files.get("total") or 0))
        ok = max(ok, int(files.get("at_notebook") or 0))
        bytes_total = int(size.get("total") or 0)
        bytes_done = bytes_total if result == AVAILABLE else int(size.get("at_notebook") or 0)
    if result == AVAILABLE:
        ok = files_total
    return Progress(result, ok, files_total, bytes_done, bytes_total, reasons, (str(rule.get("did") or ""),))


def download_progress(job: Mapping[str, Any] | None) -> Progress:
    """Progress of a download-mode job (as ``download_progress`` gives it)."""
    if job is None:
        return Progress(GONE)
    state = {"DONE": AVAILABLE, "FAILED": FAILED}.get(str(job.get("state")), DOWNLOADING)
    files, size = job.get("files") or {}, job.get("bytes") or {}
    reasons = (str(job["error"]),) if job.get("error") else ()
    return Progress(
        state,
        int(files.get("done") or 0),
        int(files.get("total") or 0),
        int(size.get("done") or 0),
        int(size.get("total") or 0),
        reasons,
        (str(job.get("did") or ""),),
    )


# Which state the whole shows when its parts differ: the first found in this order.
_PRECEDENCE = (FAILED, STUCK, GONE, CANCELLED, WAITING, DOWNLOADING, REPLICATING)


def combined(parts: Sequence[Progress]) -> Progress:
    """One progress for several DIDs: sums, and the state that needs attention first (AVAILABLE only when all are)."""
    if not parts:
        return Progress(AVAILABLE)
    states = {p.state for p in parts}
    state = next((s for s in _PRECEDENCE if s in states), AVAILABLE)
    known_bytes = all(p.bytes_total is not None for p in parts)
    return Progress(
        state,
        sum(p.files_done for p in parts),
        sum(p.files_total for p in parts),
        sum(p.bytes_done or 0 for p in parts) if known_bytes else None,
        sum(p.bytes_total or 0 for p in parts) if known_bytes else None,
        tuple(dict.fromkeys(r for p in parts for r in p.reasons)),
        tuple(d for p in parts for d in p.dids),
    )


@dataclass
class Requested:
    """One DID of a handle: the target asked for, and the rule (or download job) last seen for it."""

    did: str
    target: str
    rule: dict[str, Any] | None = None
    download: dict[str, Any] | None = None
    created: bool = False
    note: str | None = None
    cancelled: bool = False
    progress: Progress = field(default_factory=lambda: Progress(WAITING))

    @property
    def rule_id(self) -> str | None:
        return None if self.rule is None else str(self.rule.get("id"))


class HandleSource(Protocol):
    """What a handle asks of its DataLake (implemented by :class:`escape_dlaas.notebook.lake.DataLake`)."""

    def _refresh(self, items: Sequence[Requested]) -> list[Progress]: ...

    def _extend(self, item: Requested, lifetime_days: float) -> dict[str, Any]: ...

    def _cancel(self, item: Requested) -> dict[str, Any]: ...

    def paths(self, did: str) -> list[str]: ...


Display = Callable[[Progress], None]


class AvailabilityHandle:
    """Data being made available: ``.state``, ``.wait()``, ``.paths``, ``.extend()``, ``.cancel()``."""

    def __init__(self, source: HandleSource, items: Iterable[Requested]):
        self._source = source
        self.items = list(items)

    @property
    def dids(self) -> list[str]:
        return [i.did for i in self.items]

    @property
    def rule_ids(self) -> list[str]:
        return [i.rule_id for i in self.items if i.rule_id]

    @property
    def notes(self) -> list[str]:
        """What Rucio or the lake said when asked (e.g. an existing rule kept as it is)."""
        return [i.note for i in self.items if i.note]

    def progress(self) -> Progress:
        """Ask Rucio again: files and bytes at the target, and the state."""
        live = [i for i in self.items if not i.cancelled]
        for item, found in zip(live, self._source._refresh(live), strict=True):
            item.progress = found
        for item in self.items:
            if item.cancelled:
                item.progress = replace(item.progress, state=CANCELLED)
        return combined([i.progress for i in self.items])

    @property
    def state(self) -> str:
        """AVAILABLE, REPLICATING, STUCK, WAITING, DOWNLOADING, FAILED, CANCELLED or GONE (asks Rucio)."""
        return self.progress().state

    @property
    def last_seen(self) -> Progress:
        """The progress found last, without asking Rucio."""
        return combined([i.progress for i in self.items])

    def wait(
        self,
        timeout: float | None = None,
        progress: bool = True,
        poll_seconds: float = DEFAULT_POLL_SECONDS,
    ) -> AvailabilityHandle:
        """Wait until the data is available; returns the handle (``lake.make_available(did).wait().paths``).

        ``timeout`` seconds (None: no limit) end in :class:`WaitTimeout`; a failed download
        raises its error. Interrupting the kernel stops waiting and returns: the rule stays
        in place and Rucio keeps copying. ``progress``: show a progress bar in a notebook
        (lines of text elsewhere).
        """
        from .progress import progress_display

        display = progress_display(", ".join(self.dids), enabled=progress)
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while True:
                now = self.progress()
                display.update(now)
                if now.state == FAILED:
                    display.finish("Failed")
                    raise ServiceUnavailable(
                        "; ".join(now.reasons) or "the download failed", service="the download", reason="failed"
                    )
                if now.state in FINAL_STATES:
                    display.finish("Available" if now.done else now.state.capitalize())
                    return self
                if deadline is not None and time.monotonic() >= deadline:
                    display.finish("Still not available")
                    raise WaitTimeout(
                        f"{', '.join(self.dids)} is not available after {timeout:g} s ({now.text()}). "
                        "The rule stays in place and Rucio keeps copying: call .wait() again, or look at .state.",
                        reason="wait_timeout",
                    )
                left = poll_seconds if deadline is None else min(poll_seconds, max(0.0, deadline - time.monotonic()))
                time.sleep(left)
        except KeyboardInterrupt:
            display.finish("Stopped waiting: the rule stays in place and Rucio keeps copying")
            return self

    @property
    def paths(self) -> list[str]:
        """The local paths of every file of the handle's DIDs that is available at the notebook."""
        return [path for did in self.dids for path in self._source.paths(did)]

    def extend(self, lifetime_days: float) -> AvailabilityHandle:
        """Give every rule of the handle a new lifetime, counted from now."""
        for item in self.items:
            if item.rule is not None:
                item.rule = self._source._extend(item, lifetime_days)["rule"]
        return self

    def cancel(self) -> list[dict[str, Any]]:
        """Cancel the handle's rules (Rucio removes them within its grace period); what Rucio answered per rule."""
        answers = []
        for item in self.items:
            if item.rule is not None and not item.cancelled:
                answers.append(self._source._cancel(item))
                item.cancelled = True
                item.progress = replace(item.progress, state=CANCELLED)
        return answers

    def __repr__(self) -> str:
        seen = self.last_seen
        targets = ", ".join(dict.fromkeys(i.target for i in self.items))
        return f"<AvailabilityHandle {', '.join(self.dids)} → {targets}: {seen.text()}>"

    def _repr_html_(self) -> str:
        from html import escape

        seen = self.last_seen
        rows = "".join(
            f"<tr><td>{escape(i.did)}</td><td>{escape(i.target)}</td><td>{escape(i.progress.text())}</td>"
            f"<td>{escape(i.rule_id or '')}</td></tr>"
            for i in self.items
        )
        return (
            f"<div class='jp-DLaaS-handle'><b>{escape(seen.state)}</b>"
            "<table><thead><tr><th>DID</th><th>Target</th><th>Progress</th><th>Rule</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></div>"
        )
