"""Reading a user's ESAP basket (the ESCAPE science platform's shopping basket)."""

from .client import ESAP_SERVICE, PROFILE_PATH, BasketSource, basket_source, read_basket

__all__ = ["ESAP_SERVICE", "PROFILE_PATH", "BasketSource", "basket_source", "read_basket"]
