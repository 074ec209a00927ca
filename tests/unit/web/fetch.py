"""Requests to the extension in the web unit tests: (status, JSON body), errors included."""

from __future__ import annotations

import json
from typing import Any

from tornado.httpclient import HTTPClientError


async def fetch_json(jp_fetch: Any, *parts: str, **kwargs: Any) -> tuple[int, Any]:
    try:
        response = await jp_fetch(*parts, **kwargs)
    except HTTPClientError as error:
        assert error.response is not None
        return error.code, json.loads(error.response.body)
    return response.code, json.loads(response.body)
