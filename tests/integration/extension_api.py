"""Requests to the server extension's REST API in the integration tests."""

from __future__ import annotations

import json
from typing import Any

from tornado.httpclient import HTTPClientError

LOCAL_LAKE = ("escape-dlaas", "instances", "local-lake")


async def call(
    jp_fetch: Any,
    *path: str,
    method: str = "GET",
    body: Any = None,
    params: dict[str, Any] | None = None,
    raw_body: str | bytes | None = None,
    instance: tuple[str, ...] = LOCAL_LAKE,
) -> tuple[int, Any]:
    """(status, JSON body) for a request to the extension, errors included.

    ``body`` is sent as JSON; ``raw_body`` as it is (for malformed input).
    """
    kwargs: dict[str, Any] = {"method": method, "params": params or {}}
    if body is not None or raw_body is not None:
        kwargs["body"] = raw_body if raw_body is not None else json.dumps(body)
    try:
        response = await jp_fetch(*instance, *path, **kwargs)
    except HTTPClientError as error:
        assert error.response is not None, error
        return error.code, json.loads(error.response.body)
    return response.code, json.loads(response.body)
