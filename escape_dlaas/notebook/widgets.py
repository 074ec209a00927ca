"""An ipywidgets search form for the data lake, driven by :class:`~escape_dlaas.notebook.lake.DataLake`.

Name pattern, metadata filter and type; a results table with each DID's availability and a
'Make available' button whose progress shows under the table (followed on a thread of its
own, so the form stays usable meanwhile). Works wherever ipywidgets render: JupyterLab,
Notebook, Voilà. Only ``--jp-*`` CSS variables, so the light and dark themes both apply.
Imported only when a widget is asked for.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from html import escape
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from ..errors import DLaaSError
from .handles import FINAL_STATES, AvailabilityHandle, format_bytes
from .progress import WidgetDisplay
from .results import SearchResults

if TYPE_CHECKING:
    from .lake import DataLake

TYPES = ("dataset", "container", "file", "all")
POLL_SECONDS = 1.0
LOCAL_TARGETS = ("notebook", "download")  # targets whose files the notebook can open
# The buttons' column takes their width: ipywidgets gives a button a fixed 148 px, wider than a
# column in em at 13 px, and the overflow scrolled the table sideways (seen in Voila).
COLUMNS = "minmax(14em, 3fr) 6em 6em 9em max-content"


def _cell(text: str, *, code: bool = False) -> widgets.HTML:
    inner = f"<code>{escape(text)}</code>" if code else escape(text)
    return widgets.HTML(f"<span style='color: var(--jp-ui-font-color1)'>{inner}</span>")


def _message(text: str, *, error: bool = False) -> str:
    colour = "var(--jp-error-color1)" if error else "var(--jp-ui-font-color2)"
    return f"<div role='{'alert' if error else 'status'}' style='color: {colour}'>{escape(text)}</div>"


class SearchWidget(widgets.VBox):
    """Search the lake by name and metadata, see availability, make data available with progress."""

    def __init__(
        self,
        lake: DataLake,
        name: str = "",
        filters: str = "",
        type: str = "dataset",  # the word the panel uses
        page_size: int = 20,
    ):
        self.lake = lake
        self.page_size = page_size
        self.results: SearchResults | None = None
        self.handles: dict[str, AvailabilityHandle] = {}
        self._threads: list[threading.Thread] = []
        self.name_box = widgets.Text(value=name, description="Name", placeholder="*.fits or scope:name*")
        self.filter_box = widgets.Text(value=filters, description="Metadata", placeholder="telescope=lofar,energy>140")
        self.type_box = widgets.Dropdown(options=TYPES, value=type, description="Type")
        targets = lake.targets()
        self.target_box = widgets.Dropdown(options=targets, value=targets[0] if targets else None, description="Target")
        self.search_button = widgets.Button(description="Search", button_style="primary", icon="search")
        self.search_button.on_click(lambda _: self.search())
        self.message = widgets.HTML()
        self.table = widgets.GridBox(layout=widgets.Layout(grid_template_columns=COLUMNS, grid_gap="2px 8px"))
        self.more_button = widgets.Button(description="More results", layout=widgets.Layout(display="none"))
        self.more_button.on_click(lambda _: self._show_more())
        self.progress_box = widgets.VBox()
        self._shown = 0
        self._state_cells: dict[str, widgets.HTML] = {}
        super().__init__(
            [
                widgets.HTML(f"<b style='color: var(--jp-ui-font-color0)'>Data lake: {escape(lake.config.label)}</b>"),
                widgets.HBox([self.name_box, self.filter_box]),
                widgets.HBox([self.type_box, self.target_box, self.search_button]),
                self.message,
                self.table,
                self.more_button,
                self.progress_box,
            ]
        )
        self.add_class("jp-DLaaS-searchWidget")

    def _report(self, error: DLaaSError) -> None:
        self.message.value = _message(error.message, error=True)

    def search(self) -> None:
        """Search with what the form holds; show the first page."""
        self.message.value = _message("Searching…")
        self.table.children = ()
        self._state_cells = {}
        self._shown = 0
        try:
            self.results = self.lake.search(
                name=self.name_box.value.strip() or None,
                filters=self.filter_box.value.strip() or None,
                type=self.type_box.value,
                page_size=self.page_size,
            )
            self._show_more()
        except DLaaSError as error:
            self._report(error)

    def _show_more(self) -> None:
        results = self.results
        if results is None:
            return
        try:
            rows = []
            for index, item in enumerate(results):
                if index < self._shown:
                    continue
                rows.append(item)
                if len(rows) >= self.page_size:
                    break
        except DLaaSError as error:
            self._report(error)
            return
        self._shown += len(rows)
        if not rows and not self._shown:
            hints = " ".join(str(h.get("message")) for h in results.hints)
            self.message.value = _message(f"No DIDs match. {hints}".strip())
        else:
            self.message.value = _message(f"{self._shown} DIDs shown" + ("" if results.complete else "; more to see"))
        header = (
            []
            if self.table.children or not rows
            else [widgets.HTML(f"<b>{h}</b>") for h in ("DID", "Type", "Size", "Availability", "")]
        )
        self.table.children = (*self.table.children, *header, *(w for item in rows for w in self._row(item)))
        self.more_button.layout.display = "none" if results.complete else ""

    def _row(self, item: dict[str, Any]) -> list[widgets.Widget]:
        did = str(item["did"])
        size = item.get("bytes")
        state = widgets.HTML()
        self._state_cells[did] = state
        self._set_state(did, (item.get("availability") or {}).get("state") or "")
        button = widgets.Button(description="Make available", tooltip=f"Make {did} available", icon="download")
        button.on_click(self._make_available_callback(did, button))
        return [
            _cell(did, code=True),
            _cell(str(item.get("type") or "")),
            _cell(format_bytes(size) if isinstance(size, int) else ""),
            state,
            button,
        ]

    def _set_state(self, did: str, state: str) -> None:
        cell = self._state_cells.get(did)
        if cell is not None:
            cell.value = f"<span class='jp-DLaaS-state' data-state='{escape(state)}'>{escape(state or '—')}</span>"

    def _make_available_callback(self, did: str, button: widgets.Button) -> Callable[[Any], None]:
        def clicked(_: Any) -> None:
            self.make_available(did, button)

        return clicked

    def make_available(self, did: str, button: widgets.Button | None = None) -> AvailabilityHandle | None:
        """Ask for ``did`` at the chosen target; its progress is followed under the table."""
        if button is not None:
            button.disabled = True
        try:
            handle = self.lake.make_available(did, target=self.target_box.value)
        except DLaaSError as error:
            self._report(error)
            if button is not None:
                button.disabled = False
            return None
        self.handles[did] = handle
        self.message.value = _message(f"{did}: " + (" ".join(handle.notes) or "asked Rucio for it"))
        display = WidgetDisplay(f"{did} → {self.target_box.value}", box=self.progress_box)
        thread = threading.Thread(target=self._follow, args=(did, handle, display), daemon=True)
        self._threads.append(thread)
        thread.start()
        return handle

    def _follow(self, did: str, handle: AvailabilityHandle, display: WidgetDisplay) -> None:
        """Poll the handle until its state is final, updating the progress and the row."""
        stop = threading.Event()
        target = handle.items[0].target
        local = target in LOCAL_TARGETS
        while not stop.is_set():
            try:
                now = handle.progress()
            except DLaaSError as error:
                display.finish(error.message)
                return
            display.update(now)
            self._set_state(did, now.state if local else f"{target}: {now.state}")
            if now.state in FINAL_STATES:
                paths = handle.paths if now.done and local else []
                display.finish("Available" + (f": {paths[0]}" + (" …" if len(paths) > 1 else "") if paths else ""))
                return
            stop.wait(POLL_SECONDS)

    def wait_idle(self, timeout: float | None = None) -> None:
        """Wait for the progress threads to end (for tests and scripts)."""
        for thread in list(self._threads):
            thread.join(timeout)
