"""The data lake in a notebook: the Python API (:class:`DataLake`), its results, handles, progress and widgets.

Built on the same domain core, configuration and token sources as the server extension
(never its REST API). ipywidgets is imported only when a widget or a progress bar is shown.
"""

from __future__ import annotations

from .handles import AvailabilityHandle, Progress, WaitTimeout
from .lake import DataLake
from .results import SearchResults

__all__ = ["AvailabilityHandle", "DataLake", "Progress", "SearchResults", "WaitTimeout"]
