"""All configured Rucio instances: one session, health check and download cache each, and the shared pools."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ..config import InstanceConfig, ListingLimits
from ..errors import ConfigurationError, InvalidInput, NotFound
from .download_jobs import DownloadManager
from .health import RucioHealth
from .paging import OpenListings, keep_listings
from .session import RucioSession
from .upload_jobs import UploadJobs

STATUS_WORKERS = 4  # the checks of Rucio have their own pool: a busy main pool never delays them


@dataclass
class Instance:
    """One configured instance: how to call it, whether it answers, and its download cache (if any)."""

    session: RucioSession
    health: RucioHealth
    downloads: DownloadManager | None
    uploads: UploadJobs = field(default_factory=UploadJobs)
    listings: OpenListings | None = None  # Rucio listings kept open between pages

    @property
    def config(self) -> InstanceConfig:
        return self.session.config

    def close(self) -> None:
        self.session.close()
        self.health.close()
        if self.downloads is not None:
            self.downloads.close()
        self.uploads.close()
        if self.listings is not None:
            self.listings.close()


class InstanceRegistry:
    """All configured instances, the thread pools they share, and the answers about all of them."""

    def __init__(
        self,
        *,
        instances: Iterable[InstanceConfig],
        default_instance: str | None,
        max_workers: int = 8,
        search_page_size: int = 100,
        max_search_page_size: int = 1000,
        availability_max_age: float = 2.0,
        listing_limits: ListingLimits | None = None,
        config_error: ConfigurationError | None = None,
        log: logging.Logger | None = None,
    ):
        self.log = log or logging.getLogger("escape_dlaas")
        self.listing_limits = listing_limits or ListingLimits()
        self.executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="escape-dlaas")
        self.status_executor = ThreadPoolExecutor(max_workers=STATUS_WORKERS, thread_name_prefix="escape-dlaas-status")
        self.instances = {config.name: self._instance(config) for config in instances}
        self.default_instance = default_instance
        self.search_page_size = search_page_size
        self.max_search_page_size = max_search_page_size
        self.availability_max_age = availability_max_age
        self.config_error = config_error

    def _instance(self, config: InstanceConfig) -> Instance:
        session = RucioSession(config, self.executor, self.log, probe_executor=self.status_executor)
        return Instance(
            session=session,
            health=RucioHealth(session),
            downloads=DownloadManager(config.download_cache) if config.download_cache else None,
            listings=keep_listings(session, self.listing_limits),
        )

    def close(self) -> None:
        for instance in self.instances.values():
            instance.close()
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.status_executor.shutdown(wait=False, cancel_futures=True)

    def instance(self, name: str | None) -> Instance:
        """The instance called ``name`` (None: the default); explains a configuration error or an unknown name."""
        if self.config_error is not None:
            raise self.config_error
        if not self.instances:
            raise ConfigurationError(
                "No Rucio instance is configured for this server. An administrator sets c.DLaaS.instances "
                "(or run `escape-dlaas lake up` and use its config for a local demo).",
                field="instances",
            )
        key = name or self.default_instance
        if key not in self.instances:
            raise NotFound(
                f"unknown instance {str(name)[:40]!r}; configured: {', '.join(sorted(self.instances))}",
                reason="unknown_instance",
            )
        return self.instances[key]

    def page_size(self, value: Any) -> int:
        """The page size asked for (the default when none), within the site's maximum."""
        if value in (None, ""):
            return self.search_page_size
        # Digits only: int() would also take "1_000", " 5" or other scripts' digits.
        if not isinstance(value, str) or not value.isascii() or not value.isdigit():
            raise InvalidInput("page_size must be a whole number", field="page_size")
        # (a number of thousands of digits is just too large; int() would refuse to read it)
        size = int(value) if len(value.lstrip("0")) <= 9 else self.max_search_page_size + 1
        if not 1 <= size <= self.max_search_page_size:
            raise InvalidInput(f"page_size must be between 1 and {self.max_search_page_size}", field="page_size")
        return size

    async def status(self, version: str) -> dict[str, Any]:
        """The server's version and configuration error, and each instance's health."""
        answers = await asyncio.gather(*(i.health.status() for i in self.instances.values()))
        return {
            "version": version,
            "default_instance": self.default_instance,
            "configuration_error": self.config_error.to_dict() if self.config_error else None,
            "instances": [
                {
                    "name": i.config.name,
                    "display_name": i.config.label,
                    "rucio_url": i.config.rucio_url,
                    "vo": i.config.vo,
                    **answer,
                }
                for i, answer in zip(self.instances.values(), answers, strict=True)
            ],
        }
