"""The configuration a kernel uses: the server extension's own ``c.DLaaS`` settings, read from the same files.

A kernel started by the Jupyter server inherits its environment, so the Jupyter config
path (``jupyter_core.paths.jupyter_config_path()``, which follows ``JUPYTER_CONFIG_PATH``
and ``JUPYTER_CONFIG_DIR``) names the same ``jupyter_server_config.json``/``.py`` files
(and ``jupyter_server_config.d/*.json``) the server read. The instances are validated by
the very parser the server uses. Nothing here holds or reads a token: the instances
name where tokens come from, and the token manager reads them when needed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import InstanceConfig, parse_instances
from ..errors import ConfigurationError

CONFIG_BASENAME = "jupyter_server_config"
SECTION = "DLaaS"
WHAT_TO_DO = (
    "In a notebook of a Jupyter server that shows the Data Lake panel this is found by itself; "
    "elsewhere set JUPYTER_CONFIG_PATH to the folder holding that server's jupyter_server_config.json "
    "(for the local demo lake: <lake dir>/jupyter), or pass DataLake(config=...) a path or the c.DLaaS settings."
)


@dataclass(frozen=True)
class NotebookSettings:
    """The validated instances, which is the default, and where they were read (for messages)."""

    instances: tuple[InstanceConfig, ...]
    default_instance: str | None
    sources: tuple[str, ...]
    root_dir: str | None = None  # the Jupyter server's root, where the panel makes dataset folders
    max_workers: int = 4
    search_page_size: int = 100
    max_search_page_size: int = 1000

    def instance_config(self, name: str | None) -> InstanceConfig:
        """The instance called ``name`` (None: the default), or an error naming the configured ones."""
        if not self.instances:
            raise ConfigurationError(
                f"No data lake is configured: no c.DLaaS.instances in {_where(self.sources)}. {WHAT_TO_DO}",
                field="instances",
                reason="not_configured",
            )
        key = name or self.default_instance
        for config in self.instances:
            if config.name == key:
                return config
        configured = ", ".join(c.name for c in self.instances)
        raise ConfigurationError(
            f"There is no data lake instance called {str(name)[:40]!r}; configured: {configured}.",
            field="instance",
            reason="unknown_instance",
        )


def _where(sources: tuple[str, ...]) -> str:
    return ", ".join(sources) if sources else "no configuration file"


def config_directories() -> list[str]:
    """The Jupyter config path, highest priority first (what the server searched)."""
    from jupyter_core.paths import jupyter_config_path

    return list(jupyter_config_path())


def read_server_config(directories: list[str] | None = None) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The merged ``c.DLaaS`` section of the server's config files, and the files or folders searched."""
    merged, sources = _merged_config(directories)
    return dict(merged.get(SECTION, {})), sources


def _merged_config(directories: list[str] | None = None) -> tuple[Any, tuple[str, ...]]:
    """The server's config files merged (a traitlets ``Config``), and the files or folders searched.

    Later (higher-priority) files win, as in the server: directories are read lowest
    priority first, the ``.d`` folder's JSON files before the main files of a directory.
    """
    from traitlets.config import Config
    from traitlets.config.loader import ConfigFileNotFound, JSONFileConfigLoader, PyFileConfigLoader

    directories = config_directories() if directories is None else directories
    merged = Config()
    read: list[str] = []
    for directory in reversed(directories):
        drop_ins = Path(directory, f"{CONFIG_BASENAME}.d")
        loaders: list[JSONFileConfigLoader | PyFileConfigLoader] = [
            JSONFileConfigLoader(p.name, path=str(drop_ins)) for p in sorted(drop_ins.glob("*.json"))
        ]
        loaders += [
            PyFileConfigLoader(f"{CONFIG_BASENAME}.py", path=directory),
            JSONFileConfigLoader(f"{CONFIG_BASENAME}.json", path=directory),
        ]
        for loader in loaders:
            try:
                loaded = loader.load_config()
            except ConfigFileNotFound:
                continue
            except Exception as error:  # a broken file: say which, as the server would
                raise ConfigurationError(
                    f"Cannot read the Jupyter server configuration {loader.full_filename}: {type(error).__name__}",
                    field="config",
                ) from None
            if SECTION in loaded:
                read.append(loader.full_filename)
            merged.merge(loaded)
    return merged, tuple(read) if read else tuple(directories)


def _from_argument(config: Mapping[str, Any] | str | os.PathLike[str]) -> tuple[Any, tuple[str, ...]]:
    """The config passed: the c.DLaaS settings (or a whole config with a DLaaS section), a file or a folder."""
    from traitlets.config import Config
    from traitlets.config.loader import JSONFileConfigLoader, PyFileConfigLoader

    if isinstance(config, Mapping):
        section = config.get(SECTION, config)
        if not isinstance(section, Mapping):
            raise ConfigurationError("config: expected the c.DLaaS settings as a dict", field="config")
        return Config({SECTION: dict(section)}), ("the config given to DataLake()",)
    path = Path(config).expanduser()
    if path.is_dir():
        return _merged_config([str(path)])
    if not path.is_file():
        raise ConfigurationError(f"config: {path} does not exist. {WHAT_TO_DO}", field="config")
    loader_class = PyFileConfigLoader if path.suffix == ".py" else JSONFileConfigLoader
    try:
        return loader_class(path.name, path=str(path.parent)).load_config(), (str(path),)
    except Exception as error:
        raise ConfigurationError(f"Cannot read {path}: {type(error).__name__}", field="config") from None


def server_root_dir(merged: Any) -> str | None:
    """The Jupyter server's root (``ServerApp.root_dir``) when the config files set it."""
    server = merged.get("ServerApp", {})
    value = server.get("root_dir") or server.get("notebook_dir")
    return os.path.expanduser(value) if isinstance(value, str) and value else None


def load_settings(config: Mapping[str, Any] | str | os.PathLike[str] | None = None) -> NotebookSettings:
    """The instances a kernel may use: from ``config`` when given, else from the server's config files."""
    merged, sources = _merged_config() if config is None else _from_argument(config)
    section = dict(merged.get(SECTION, {}))
    try:
        instances, default = parse_instances(section.get("instances", []), section.get("default_instance"))
    except ConfigurationError as error:
        raise ConfigurationError(
            f"The data lake configuration in {_where(sources)} is invalid: {error.message} (c.DLaaS.{error.field})",
            field=error.field,
        ) from None
    sizes = {
        key: value
        for key in ("search_page_size", "max_search_page_size")
        if isinstance(value := section.get(key), int) and not isinstance(value, bool) and value > 0
    }
    return NotebookSettings(
        instances=instances, default_instance=default, sources=sources, root_dir=server_root_dir(merged), **sizes
    )
