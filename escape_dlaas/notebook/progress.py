"""Showing a handle's progress: an ipywidgets bar in a notebook, plain lines of text elsewhere."""

from __future__ import annotations

import sys
from html import escape
from typing import Any, Protocol, TextIO

from .handles import Progress


class ProgressDisplay(Protocol):
    def update(self, progress: Progress) -> None: ...

    def finish(self, message: str) -> None: ...


def in_notebook() -> bool:
    """Whether this runs in a Jupyter kernel whose front end shows widgets (not a terminal IPython or a script)."""
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    ipython = get_ipython()
    return ipython is not None and "IPKernelApp" in getattr(ipython, "config", {})


class SilentDisplay:
    def update(self, progress: Progress) -> None:
        pass

    def finish(self, message: str) -> None:
        pass


class TextDisplay:
    """A line each time the state or the counts change; a last line when done."""

    def __init__(self, title: str, stream: TextIO | None = None):
        self.title = title
        self.stream = stream or sys.stdout
        self._last: str | None = None

    def update(self, progress: Progress) -> None:
        line = progress.text()
        if line != self._last:
            self._last = line
            print(f"{self.title}: {line}", file=self.stream, flush=True)

    def finish(self, message: str) -> None:
        print(f"{self.title}: {message}", file=self.stream, flush=True)


class WidgetDisplay:
    """A progress bar with the state, files, bytes and Rucio's reasons, shown in the cell's output."""

    def __init__(self, title: str, box: Any = None):
        import ipywidgets as widgets

        self.bar = widgets.FloatProgress(value=0.0, min=0.0, max=1.0, description="", bar_style="info")
        self.bar.layout.width = "20em"
        self.label = widgets.HTML()
        self.reasons = widgets.HTML()
        self.title = title
        # one below the other: in a row, a long label could be squeezed to nothing next to the bar
        self.box = widgets.VBox([widgets.HTML(f"<b>{escape(title)}</b>"), self.bar, self.label, self.reasons])
        self.box.add_class("jp-DLaaS-progress")
        if box is None:
            from IPython.display import display

            display(self.box)
        else:
            box.children = (*box.children, self.box)

    def update(self, progress: Progress) -> None:
        self.bar.value = progress.fraction
        self.bar.bar_style = {"AVAILABLE": "success", "STUCK": "warning", "FAILED": "danger"}.get(
            progress.state, "info"
        )
        counts = progress.text().split(" — ")[0]
        self.label.value = escape(counts)
        self.reasons.value = "".join(f"<div>Rucio: {escape(r)}</div>" for r in progress.reasons)

    def finish(self, message: str) -> None:
        self.label.value = f"{self.label.value} — {escape(message)}" if self.label.value else escape(message)


def progress_display(title: str, *, enabled: bool = True) -> ProgressDisplay:
    """The display fit for where this runs: a widget in a notebook, text elsewhere, nothing when disabled."""
    if not enabled:
        return SilentDisplay()
    if in_notebook():
        try:
            return WidgetDisplay(title)
        except ImportError:  # ipywidgets missing from this kernel's environment
            pass
    return TextDisplay(title)
