"""The user's ESAP basket: ``GET /escape-dlaas/basket`` (its Rucio items resolved against an instance)."""

from __future__ import annotations

import os

from ..config import EsapConfig
from ..domain import basket
from ..errors import ConfigurationError
from .handlers import BaseHandler
from .http_errors import api


class BasketHandler(BaseHandler):
    """The basket ESAP (or the launch) hands over; ``{"enabled": false}`` where the site configured none."""

    @api
    async def get(self) -> None:
        config: EsapConfig | ConfigurationError = self.settings["escape_dlaas"].get("esap") or EsapConfig()
        if isinstance(config, ConfigurationError):
            raise config
        if not config.enabled:
            self.reply(basket.switched_off())
            return
        instance = self.registry.instance(self.arg("instance") or config.instance)
        self.reply(await basket.load_basket(instance.session, config, os.environ))
