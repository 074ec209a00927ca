"""escape-dlaas: a Rucio data lake inside JupyterLab."""

from __future__ import annotations

from typing import Any

try:
    from ._version import __version__
except ImportError:  # running from a source tree that was never built
    import warnings

    warnings.warn("escape_dlaas was not installed with pip: version unknown", stacklevel=2)
    __version__ = "dev"


def __getattr__(name: str) -> Any:
    """``escape_dlaas.DataLake``, imported on first use: loading the server extension never loads the notebook API."""
    if name == "DataLake":
        from .notebook import DataLake

        return DataLake
    if name in ("attached", "attach"):
        from .notebook import attachments

        return getattr(attachments, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "escape-dlaas"}]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .web.app import DLaaS

    return [{"module": "escape_dlaas", "app": DLaaS}]
