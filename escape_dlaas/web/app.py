"""The Jupyter Server extension: configuration and wiring, no domain logic."""

from __future__ import annotations

import logging
from typing import Any

from jupyter_server.extension.application import ExtensionApp
from traitlets import Dict, Float, Instance, Int, List, Type, Unicode, default

from .. import __version__
from ..auth import RedactingFilter
from ..config import parse_instances
from ..domain.instances import InstanceRegistry
from ..errors import ConfigurationError
from .handlers import route_table


def install_redaction(server_log: logging.Logger | None) -> None:
    """A safety net: redact token-shaped text from every record the server's handlers write.

    Our code never logs a token on purpose; libraries (rucio-clients, requests, urllib3)
    might put one in an error text. A filter on a handler sees records of every logger
    that reaches it, so both the root's and the server log's handlers get one.
    """
    handlers = list(logging.getLogger().handlers)
    if server_log is not None:
        handlers += server_log.handlers
    for handler in handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
    for name in ("escape_dlaas", "rucio", "requests", "urllib3"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())


class DLaaS(ExtensionApp):
    """escape-dlaas: search, make available and watch Rucio data from JupyterLab.

    Configure with ``c.DLaaS.<trait>`` in ``jupyter_server_config.py``/``.json``.
    """

    name = "escape_dlaas"
    # Endpoints live under {base_url}/escape-dlaas/, not under the extension's name.
    load_other_extensions = True

    instances = List(
        Dict(),
        default_value=[],
        help="The Rucio instances users can reach; see docs/configuration.md for the keys of each.",
    ).tag(config=True)

    default_instance = Unicode(
        None, allow_none=True, help="Name of the instance used when a request names none (default: the first)."
    ).tag(config=True)

    max_workers = Int(
        8, help="Threads for blocking calls (rucio-clients, token sources): bounds concurrent Rucio requests."
    ).tag(config=True)

    search_page_size = Int(100, help="Default number of DIDs per search page.").tag(config=True)
    max_search_page_size = Int(1000, help="Largest page size a client may ask for.").tag(config=True)

    availability_max_age_seconds = Float(
        2.0, help="How long an availability answer may be reused for identical bulk requests (explicit freshness)."
    ).tag(config=True)

    # Named for what it held before the domain was split up; kept so that site configs keep working.
    service_class = Type(
        InstanceRegistry,
        klass=InstanceRegistry,
        help="The registry of configured instances (InstanceRegistry); sites and tests may substitute a subclass.",
    ).tag(config=True)

    registry = Instance(InstanceRegistry, allow_none=True)
    config_error = Instance(ConfigurationError, allow_none=True)

    @default("log")
    def _default_log(self) -> logging.Logger:
        return logging.getLogger("escape_dlaas")

    def initialize_settings(self) -> None:
        # rucio-clients logs request headers at DEBUG; keep it above that whatever the server's level.
        logging.getLogger("rucio").setLevel(max(logging.INFO, logging.getLogger("rucio").level))
        install_redaction(self.serverapp.log if self.serverapp else None)
        try:
            instances, default_name = parse_instances(self.instances, self.default_instance)
        except ConfigurationError as error:
            # Fail loudly at start, and keep explaining it in every answer instead of serving a half-configured lake.
            self.log.error("escape-dlaas configuration is invalid: %s (c.DLaaS.%s)", error.message, error.field)
            self.config_error = error
            instances, default_name = (), None
        self.registry = self.service_class(
            instances=instances,
            default_instance=default_name,
            max_workers=self.max_workers,
            search_page_size=self.search_page_size,
            max_search_page_size=self.max_search_page_size,
            availability_max_age=self.availability_max_age_seconds,
            config_error=self.config_error,
            log=self.log,
        )
        self.settings["escape_dlaas"] = {"instances": self.registry, "version": __version__}
        if not instances and self.config_error is None:
            self.log.warning("escape-dlaas: no Rucio instance configured (set c.DLaaS.instances)")

    def initialize_handlers(self) -> None:
        self.handlers.extend(route_table())

    async def stop_extension(self) -> None:
        if self.registry is not None:
            self.registry.close()

    def _extension_info(self) -> dict[str, Any]:
        return {"version": __version__}
