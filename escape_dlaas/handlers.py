"""Thin tornado handlers: parse, call the domain service, serialise.

Every handler requires Jupyter authentication; state changes are POST/PUT/DELETE so
that Jupyter's XSRF check applies. :func:`status_for` is the one place where domain
errors become HTTP status codes.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

import tornado.web
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin

from .errors import (
    ConfigurationError,
    Conflict,
    CredentialsExpired,
    CredentialsMissing,
    DLaaSError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Refused,
    ServiceTimeout,
    ServiceUnavailable,
)
from .filters import Filter, parse_filter_json, parse_filter_string
from .service import DID, DataLakeService, InstanceService, parse_did

NAMESPACE = "escape-dlaas"
log = logging.getLogger("escape_dlaas")

_STATUS: list[tuple[type[DLaaSError], int]] = [
    (InvalidInput, 400),
    (CredentialsMissing, 401),
    (CredentialsExpired, 401),
    (PermissionDenied, 403),
    (NotFound, 404),
    (Conflict, 409),
    (Refused, 422),
    (ConfigurationError, 503),
    (ServiceTimeout, 504),
    (ServiceUnavailable, 502),
]


def status_for(error: DLaaSError) -> int:
    """The HTTP status of a domain error."""
    if isinstance(error, ServiceUnavailable) and not isinstance(error, ServiceTimeout) and error.service != "Rucio":
        return 503  # the token issuer, oidc-agent or the hub: our side of sign-in is down
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return status
    return 500


Handler = Callable[..., Awaitable[None]]


def api(method: Handler) -> Handler:
    """Authenticate, then turn domain errors into JSON answers with the right status."""

    @tornado.web.authenticated
    @functools.wraps(method)
    async def wrapper(self: BaseHandler, *args: Any, **kwargs: Any) -> None:
        try:
            await method(self, *args, **kwargs)
        except DLaaSError as error:
            self.set_status(status_for(error))
            self.finish(json.dumps(error.to_dict()))
        except tornado.web.HTTPError:
            raise
        except Exception:
            # A bug of ours: log it (messages are built without tokens) and say so plainly.
            log.exception("escape-dlaas: unexpected error in %s %s", self.request.method, self.request.path)
            self.set_status(500)
            self.finish(
                json.dumps(
                    {"message": "escape-dlaas hit an internal error; the server log has details", "reason": "internal"}
                )
            )

    return wrapper  # type: ignore[return-value]


class BaseHandler(ExtensionHandlerMixin, APIHandler):
    @property
    def service(self) -> DataLakeService:
        service: DataLakeService = self.settings["escape_dlaas"]["service"]
        return service

    def instance(self, name: str) -> InstanceService:
        return self.service.instance(name)

    def reply(self, body: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(json.dumps(body, default=str))

    def body(self) -> dict[str, Any]:
        if not self.request.body:
            return {}
        try:
            data = json.loads(self.request.body)
        except (ValueError, UnicodeDecodeError):
            raise InvalidInput("the request body is not valid JSON", field="body") from None
        if not isinstance(data, dict):
            raise InvalidInput("the request body must be a JSON object", field="body")
        return data

    def dids_from_body(self) -> list[DID]:
        """The ``{"dids": [...]}`` of a bulk request, parsed, without repeats, in order."""
        raw = self.body().get("dids")
        if not isinstance(raw, list):
            raise InvalidInput('send {"dids": ["scope:name", ...]}', field="dids")
        return list(dict.fromkeys(parse_did(d, "dids") for d in raw))

    def arg(self, name: str) -> str | None:
        value = self.get_query_argument(name, None)
        return value if value not in (None, "") else None


class StatusHandler(BaseHandler):
    @api
    async def get(self) -> None:
        self.reply(await self.service.status(self.settings["escape_dlaas"]["version"]))


class WhoAmIHandler(BaseHandler):
    @api
    async def get(self, instance: str) -> None:
        self.reply(await self.instance(instance).whoami())


def _filters_from(handler: BaseHandler) -> Filter:
    text, structured = handler.arg("filter"), handler.arg("filters")
    if text and structured:
        raise InvalidInput(
            "give the metadata filter either as 'filter' (text) or as 'filters' (JSON), not both", field="filter"
        )
    if structured:
        try:
            data = json.loads(structured)
        except ValueError:
            raise InvalidInput("'filters' is not valid JSON", field="filters") from None
        return parse_filter_json(data)
    return parse_filter_string(text) if text else []


class SearchHandler(BaseHandler):
    @api
    async def get(self, instance: str) -> None:
        service = self.instance(instance)
        result = await service.search(
            pattern=self.arg("q"),
            scope=self.arg("scope"),
            did_type=self.arg("type") or "all",
            filters=_filters_from(self),
            page_size=self.service.page_size(self.arg("page_size")),
            cursor=self.arg("cursor"),
            details=self.arg("details") or "full",
        )
        self.reply(result)


class DidHandler(BaseHandler):
    @api
    async def get(self, instance: str) -> None:
        self.reply(await self.instance(instance).did_details(parse_did(self.arg("did"))))


class DidFilesHandler(BaseHandler):
    @api
    async def get(self, instance: str) -> None:
        service = self.instance(instance)
        did = parse_did(self.arg("did"))
        self.reply(await service.did_files(did, self.service.page_size(self.arg("page_size")), self.arg("cursor")))


class DidPathsHandler(BaseHandler):
    @api
    async def get(self, instance: str) -> None:
        answer = await self.instance(instance).local_paths(parse_did(self.arg("did")))
        # For the file browser: the folder relative to Jupyter's root, when it lies inside it.
        answer["relative_directory"] = relative_to_root(answer.get("directory"), self.settings.get("server_root_dir"))
        self.reply(answer)


def relative_to_root(directory: str | None, root: str | None) -> str | None:
    if not directory or not root:
        return None
    root = os.path.normpath(os.path.expanduser(root))
    directory = os.path.normpath(directory)
    if directory == root:
        return ""
    if not directory.startswith(root + os.sep):
        return None
    return directory[len(root) + 1 :].replace(os.sep, "/")


class AvailabilityHandler(BaseHandler):
    """Bulk state of many DIDs: what the panel polls. POST because the list can be long."""

    @api
    async def post(self, instance: str) -> None:
        service = self.instance(instance)
        self.reply({"items": await service.availability(self.dids_from_body(), self.service.availability_max_age)})


class DescribeHandler(BaseHandler):
    """Type, size, metadata and availability of a page of search results (the second step of a search)."""

    @api
    async def post(self, instance: str) -> None:
        self.reply({"items": await self.instance(instance).describe(self.dids_from_body())})


class DownloadsHandler(BaseHandler):
    """Download mode: fetch a DID into the server's cache (sites without notebook-local storage)."""

    @api
    async def get(self, instance: str) -> None:
        did = self.arg("did")
        progress = await self.instance(instance).download_progress(parse_did(did) if did else None)
        if did and not progress:
            raise NotFound(f"no download of {did} was started", reason="no_download")
        self.reply({"downloads": progress})

    @api
    async def post(self, instance: str) -> None:
        result = await self.instance(instance).start_download(parse_did(self.body().get("did")))
        self.reply(result, status=202 if result["started"] else 200)


class RulesHandler(BaseHandler):
    @api
    async def get(self, instance: str) -> None:
        rules = await self.instance(instance).my_rules()
        self.reply({"rules": [r.to_json() for r in rules]})

    @api
    async def post(self, instance: str) -> None:
        """Make a DID available: idempotent; 201 when a rule was created, 200 when it existed."""
        service = self.instance(instance)
        body = self.body()
        result = await service.make_available(parse_did(body.get("did")), body.get("target"), body.get("lifetime_days"))
        self.reply(result, status=201 if result["created"] else 200)


class RuleHandler(BaseHandler):
    @api
    async def put(self, instance: str, rule_id: str) -> None:
        body = self.body()
        if "lifetime_days" not in body:
            raise InvalidInput('send {"lifetime_days": N}', field="lifetime_days")
        self.reply(await self.instance(instance).extend_rule(rule_id, body["lifetime_days"]))

    @api
    async def delete(self, instance: str, rule_id: str) -> None:
        self.reply(await self.instance(instance).cancel_rule(rule_id))


class RsesHandler(BaseHandler):
    @api
    async def get(self, instance: str) -> None:
        service = self.instance(instance)
        self.reply({"rses": await service.rses(), "targets": await service.targets()})


class ScopesHandler(BaseHandler):
    @api
    async def get(self, instance: str) -> None:
        self.reply({"scopes": await self.instance(instance).scopes()})


class MetadataKeysHandler(BaseHandler):
    @api
    async def get(self, instance: str) -> None:
        self.reply({"keys": await self.instance(instance).metadata_keys()})


def route_table() -> list[tuple[str, type[BaseHandler]]]:
    """Routes relative to base_url (the ExtensionApp joins them)."""
    instance = r"/instances/(?P<instance>[A-Za-z0-9_.\-]+)"
    routes: list[tuple[str, type[BaseHandler]]] = [
        (r"/status", StatusHandler),
        (instance + r"/whoami", WhoAmIHandler),
        (instance + r"/search", SearchHandler),
        (instance + r"/describe", DescribeHandler),
        (instance + r"/did", DidHandler),
        (instance + r"/did/files", DidFilesHandler),
        (instance + r"/did/paths", DidPathsHandler),
        (instance + r"/availability", AvailabilityHandler),
        (instance + r"/downloads", DownloadsHandler),
        (instance + r"/rules", RulesHandler),
        (instance + r"/rules/(?P<rule_id>[^/]+)", RuleHandler),
        (instance + r"/rses", RsesHandler),
        (instance + r"/scopes", ScopesHandler),
        (instance + r"/metadata-keys", MetadataKeysHandler),
    ]
    return [(f"/{NAMESPACE}{path}", handler) for path, handler in routes]
