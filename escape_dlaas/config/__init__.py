"""Typed, validated configuration of the Rucio instances an admin sets up.

Traitlets hold the raw dicts (``c.DLaaS.instances``); this package turns them into
frozen dataclasses once at start-up, so that a mistake fails early with a message
naming the key (``instances[0].token_sources[1].path: ...``). One module per section:
:mod:`.instances` (the instances), :mod:`.tokens` (token sources and exchange),
:mod:`.services` (uploads and events), :mod:`.esap` (the ESAP basket), :mod:`.listings`
(Rucio listings kept open between pages); :mod:`.checks` holds the checks they share.
"""

from __future__ import annotations

from .esap import DEFAULT_BASKET_ENV, ESAP_AUTH_MODES, EsapConfig, parse_esap
from .instances import DEFAULT_DATASET_FOLDER, InstanceConfig, NotebookLocalConfig, parse_instance, parse_instances
from .listings import ListingLimits, parse_listing_limits
from .services import EventsConfig, UploadConfig, parse_events, parse_upload
from .tokens import (
    TOKEN_SOURCE_TYPES,
    TokenExchangeConfig,
    TokenSourceConfig,
    parse_token_exchange,
    parse_token_source,
)

__all__ = [
    "DEFAULT_BASKET_ENV",
    "DEFAULT_DATASET_FOLDER",
    "ESAP_AUTH_MODES",
    "TOKEN_SOURCE_TYPES",
    "EsapConfig",
    "EventsConfig",
    "InstanceConfig",
    "ListingLimits",
    "NotebookLocalConfig",
    "TokenExchangeConfig",
    "TokenSourceConfig",
    "UploadConfig",
    "parse_esap",
    "parse_events",
    "parse_instance",
    "parse_instances",
    "parse_listing_limits",
    "parse_token_exchange",
    "parse_token_source",
    "parse_upload",
]
