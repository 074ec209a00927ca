"""The Jupyter Server extension: configuration and wiring, no domain logic."""

from __future__ import annotations

import logging
from typing import Any

from jupyter_server.extension.application import ExtensionApp
from traitlets import Dict, Float, Instance, Int, List, Type, Unicode, default

from .. import __version__
from ..auth import RedactingFilter
from ..config import ListingLimits, parse_esap, parse_instances, parse_listing_limits
from ..domain.instances import InstanceRegistry
from ..errors import ConfigurationError
from .events_handlers import close_event_hubs
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


class ServerLogHandler(logging.Handler):
    """Hands the extension's records to the Jupyter server's log: one log, with the server's format and timestamps.

    The server's logger does not propagate, and the root logger has no handler in a
    Jupyter server, so without this our INFO lines were lost and our errors printed by
    Python's last-resort handler, without a timestamp. Records still propagate to the
    root logger too, for whatever a site (or a test) attached there.
    """

    def __init__(self, server_log: logging.Logger):
        super().__init__()
        self.server_log = server_log
        self.addFilter(RedactingFilter())

    def emit(self, record: logging.LogRecord) -> None:
        self.server_log.handle(record)  # the server logger's filters and handlers (each has the redacting filter)


def route_to_server_log(server_log: logging.Logger, server_level: int) -> None:
    """Send the ``escape_dlaas`` loggers' records to ``server_log``'s handlers, at the server's level.

    As verbose as the server's log, or as the root logger when that asks for more.
    """
    ours = logging.getLogger("escape_dlaas")
    root_level = logging.getLogger().level or logging.WARNING
    ours.setLevel(min(server_level, root_level))
    ancestor: logging.Logger | None = ours
    while ancestor is not None:  # a server log that already receives our records needs no forwarding
        if ancestor is server_log:
            return
        ancestor = ancestor.parent if ancestor.propagate else None
    for handler in list(ours.handlers):
        if isinstance(handler, ServerLogHandler):
            ours.removeHandler(handler)  # a previous server's (tests start several in one process)
    ours.addHandler(ServerLogHandler(server_log))


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

    max_open_listings = Int(
        ListingLimits.max_open,
        help="Rucio listings kept open between search pages, per instance, so that a next page reads on instead "
        "of listing again (each holds a connection to Rucio); 0 to 64, 0: none, every page lists afresh.",
    ).tag(config=True)
    open_listing_idle_seconds = Float(
        ListingLimits.idle_seconds,
        help="Seconds a listing kept open between pages waits for its next page before it is closed (1 to 3600).",
    ).tag(config=True)

    esap = Dict(
        default_value={},
        help="Where users' ESAP baskets come from (api_url, auth, basket_file/url/env); see docs/configuration.md.",
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
        if self.serverapp is not None:
            route_to_server_log(self.serverapp.log, _level(self.serverapp.log_level))
        try:
            instances, default_name = parse_instances(self.instances, self.default_instance)
            listing_limits = parse_listing_limits(self.max_open_listings, self.open_listing_idle_seconds)
        except ConfigurationError as error:
            # Fail loudly at start, and keep explaining it in every answer instead of serving a half-configured lake.
            self.log.error("escape-dlaas configuration is invalid: %s (c.DLaaS.%s)", error.message, error.field)
            self.config_error = error
            instances, default_name, listing_limits = (), None, ListingLimits()
        self.registry = self.service_class(
            instances=instances,
            default_instance=default_name,
            max_workers=self.max_workers,
            search_page_size=self.search_page_size,
            max_search_page_size=self.max_search_page_size,
            availability_max_age=self.availability_max_age_seconds,
            listing_limits=listing_limits,
            config_error=self.config_error,
            log=self.log,
        )
        self.settings["escape_dlaas"] = {"instances": self.registry, "version": __version__}
        try:
            self.settings["escape_dlaas"]["esap"] = parse_esap(self.esap)
        except ConfigurationError as error:
            self.log.error(
                "escape-dlaas: the ESAP basket configuration is invalid: %s (c.DLaaS.%s)", error.message, error.field
            )
            self.settings["escape_dlaas"]["esap"] = error  # the basket endpoint keeps explaining it
        if instances:
            self.log.info(
                "escape-dlaas %s: %s",
                __version__,
                ", ".join(f"instance {c.name} at {c.rucio_url} (timeout {c.timeout_seconds:g} s)" for c in instances),
            )
        if not instances and self.config_error is None:
            self.log.warning("escape-dlaas: no Rucio instance configured (set c.DLaaS.instances)")

    def initialize_handlers(self) -> None:
        self.handlers.extend(route_table())

    async def stop_extension(self) -> None:
        # The event hubs first: their broker subscriptions read Rucio through the registry's pools.
        await close_event_hubs(self.settings)
        if self.registry is not None:
            self.registry.close()

    def _extension_info(self) -> dict[str, Any]:
        return {"version": __version__}


def _level(value: Any) -> int:
    """A log level given as a number or a name ("INFO")."""
    if isinstance(value, int):
        return value
    level = logging.getLevelName(str(value).upper())
    return level if isinstance(level, int) else logging.INFO
