"""Thin tornado handlers: parse the request, call a domain function, serialise the answer.

Every handler requires Jupyter authentication (:func:`.http_errors.api`); state changes
are POST/PUT/DELETE so that Jupyter's XSRF check applies.
"""

from __future__ import annotations

import json
import os
from typing import Any

from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin

from ..domain import catalogue, dataset_folders, describe, details, downloads, paths, preview, rules, search
from ..domain.did import DID, parse_did
from ..domain.filters import Filter, parse_filter_json, parse_filter_string
from ..domain.instances import Instance, InstanceRegistry
from ..domain.session import RucioSession
from ..errors import InvalidInput, NotFound
from .http_errors import api
from .request_json import MAX_BODY_BYTES, MAX_QUERY_JSON_BYTES, loads_bounded

NAMESPACE = "escape-dlaas"


class BaseHandler(ExtensionHandlerMixin, APIHandler):
    @property
    def registry(self) -> InstanceRegistry:
        registry: InstanceRegistry = self.settings["escape_dlaas"]["instances"]
        return registry

    def instance(self, name: str) -> Instance:
        return self.registry.instance(name)

    def session(self, name: str) -> RucioSession:
        return self.registry.instance(name).session

    def reply(self, body: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(json.dumps(body, default=str))

    def body(self) -> dict[str, Any]:
        """The JSON object sent, bounded in size and nesting before it is parsed."""
        if not self.request.body:
            return {}
        data = loads_bounded(self.request.body, field="body", what="the request body", max_bytes=MAX_BODY_BYTES)
        if not isinstance(data, dict):
            raise InvalidInput("the request body must be a JSON object", field="body")
        return data

    def dids_from_body(self, max_dids: int) -> list[DID]:
        """The ``{"dids": [...]}`` of a bulk request, parsed, without repeats, in order."""
        raw = self.body().get("dids")
        if not isinstance(raw, list):
            raise InvalidInput('send {"dids": ["scope:name", ...]}', field="dids")
        if len(raw) > max_dids:
            raise InvalidInput(f"at most {max_dids} DIDs per request (got {len(raw)})", field="dids")
        return list(dict.fromkeys(parse_did(d, "dids") for d in raw))

    def arg(self, name: str) -> str | None:
        """A query parameter as sent (trimmed; None when absent or empty).

        Read from the raw query, not through tornado's argument helpers, which silently
        delete control characters: a DID with one must be refused, not changed into another.
        """
        values = self.request.query_arguments.get(name)
        if not values:
            return None
        try:
            value = values[-1].decode("utf-8").strip()
        except UnicodeDecodeError:
            raise InvalidInput(f"the parameter '{name}' is not UTF-8 text", field=name) from None
        return value or None

    def metadata_filter(self) -> Filter:
        """The metadata filter, as text (``filter``) or as the builder's JSON (``filters``)."""
        text, structured = self.arg("filter"), self.arg("filters")
        if text and structured:
            raise InvalidInput(
                "give the metadata filter either as 'filter' (text) or as 'filters' (JSON), not both", field="filter"
            )
        if structured:
            data = loads_bounded(structured, field="filters", what="'filters'", max_bytes=MAX_QUERY_JSON_BYTES)
            return parse_filter_json(data)
        return parse_filter_string(text) if text else []


class StatusHandler(BaseHandler):
    @api
    async def get(self) -> None:
        self.reply(await self.registry.status(self.settings["escape_dlaas"]["version"]))


class WhoAmIHandler(BaseHandler):
    @api
    async def get(self, instance: str) -> None:
        self.reply(await self.session(instance).whoami())


class SearchHandler(BaseHandler):
    @api
    async def get(self, instance: str) -> None:
        session = self.session(instance)
        result = await search.search(
            session,
            pattern=self.arg("q"),
            scope=self.arg("scope"),
            did_type=self.arg("type") or "all",
            filters=self.metadata_filter(),
            page_size=self.registry.page_size(self.arg("page_size")),
            cursor=self.arg("cursor"),
            details=self.arg("details") or "full",
        )
        self.reply(result)


class DescribeHandler(BaseHandler):
    """Type, size, metadata and availability of a page of search results (the second step of a search)."""

    @api
    async def post(self, instance: str) -> None:
        session = self.session(instance)
        self.reply({"items": await describe.describe(session, self.dids_from_body(describe.MAX_DESCRIBED_DIDS))})


class AvailabilityHandler(BaseHandler):
    """Bulk state of many DIDs: what the panel polls. POST because the list can be long."""

    @api
    async def post(self, instance: str) -> None:
        session = self.session(instance)
        items = await describe.availability(
            session, self.dids_from_body(describe.MAX_WATCHED_DIDS), self.registry.availability_max_age
        )
        # the poll is also when links to replicas that are gone leave the dataset folders
        dataset_folders.tidy_soon(session, self.settings.get("server_root_dir"))
        self.reply({"items": items})


class DidHandler(BaseHandler):
    @api
    async def get(self, instance: str) -> None:
        session = self.session(instance)
        self.reply(await details.did_details(session, parse_did(self.arg("did"))))


class DidFilesHandler(BaseHandler):
    @api
    async def get(self, instance: str) -> None:
        session = self.session(instance)
        did = parse_did(self.arg("did"))
        self.reply(
            await details.did_files(session, did, self.registry.page_size(self.arg("page_size")), self.arg("cursor"))
        )


class DidPathsHandler(BaseHandler):
    @api
    async def get(self, instance: str) -> None:
        found = self.instance(instance)
        root = self.settings.get("server_root_dir")
        answer = await paths.local_paths(found.session, parse_did(self.arg("did")), found.downloads, root)
        # For the file browser: the folder relative to Jupyter's root, when it lies inside it.
        answer["relative_directory"] = relative_to_root(answer.get("directory"), root)
        self.reply(answer)


def relative_to_root(directory: str | None, root: str | None) -> str | None:
    """``directory`` relative to Jupyter's root ("" for the root itself), or None when outside it."""
    if not directory or not root:
        return None
    root = os.path.normpath(os.path.expanduser(root))
    directory = os.path.normpath(directory)
    if directory == root:
        return ""
    if not directory.startswith(root + os.sep):
        return None
    return directory[len(root) + 1 :].replace(os.sep, "/")


class DownloadsHandler(BaseHandler):
    """Download mode: fetch a DID into the server's cache (sites without notebook-local storage)."""

    @api
    async def get(self, instance: str) -> None:
        found = self.instance(instance)
        did = self.arg("did")
        progress = await downloads.download_progress(found.session, found.downloads, parse_did(did) if did else None)
        if did and not progress:
            raise NotFound(f"no download of {did} was started", reason="no_download")
        self.reply({"downloads": progress})

    @api
    async def post(self, instance: str) -> None:
        found = self.instance(instance)
        result = await downloads.start_download(found.session, found.downloads, parse_did(self.body().get("did")))
        self.reply(result, status=202 if result["started"] else 200)


class RulesHandler(BaseHandler):
    @api
    async def get(self, instance: str) -> None:
        self.reply({"rules": await rules.my_rules_json(self.session(instance))})

    @api
    async def post(self, instance: str) -> None:
        """Make a DID available: idempotent; 201 when a rule was created, 200 when it existed."""
        session = self.session(instance)
        body = self.body()
        did = parse_did(body.get("did"))
        result = await rules.make_available(session, did, body.get("target"), body.get("lifetime_days"))
        self.reply(result, status=201 if result["created"] else 200)


class RulePreviewHandler(BaseHandler):
    """What making a DID available would do (size to move, quota, embargo, storage, existing rule); changes nothing."""

    @api
    async def get(self, instance: str) -> None:
        session = self.session(instance)
        did = parse_did(self.arg("did"))
        lifetime = rules.lifetime_from_text(self.arg("lifetime_days"))
        self.reply(await preview.preview(session, did, self.arg("target"), lifetime))


class RuleHandler(BaseHandler):
    @api
    async def put(self, instance: str, rule_id: str) -> None:
        body = self.body()
        if "lifetime_days" not in body:
            raise InvalidInput('send {"lifetime_days": N}', field="lifetime_days")
        self.reply(await rules.extend_rule(self.session(instance), rule_id, body["lifetime_days"]))

    @api
    async def delete(self, instance: str, rule_id: str) -> None:
        self.reply(await rules.cancel_rule(self.session(instance), rule_id))


class RsesHandler(BaseHandler):
    @api
    async def get(self, instance: str) -> None:
        session = self.session(instance)
        self.reply({"rses": await catalogue.rses(session), "targets": catalogue.targets(session.config)})


class ScopesHandler(BaseHandler):
    @api
    async def get(self, instance: str) -> None:
        self.reply({"scopes": await catalogue.scopes(self.session(instance))})


class MetadataKeysHandler(BaseHandler):
    @api
    async def get(self, instance: str) -> None:
        self.reply({"keys": await catalogue.metadata_keys(self.session(instance))})


def route_table() -> list[tuple[str, type[BaseHandler]]]:
    """Routes relative to base_url (the ExtensionApp joins them)."""
    from .basket_handlers import BasketHandler  # here: it subclasses BaseHandler from this module
    from .events_handlers import events_routes  # here too, for the same reason
    from .upload_handlers import upload_routes  # here too, for the same reason

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
        (instance + r"/rules/preview", RulePreviewHandler),  # before rules/{rule_id}, which would match it
        (instance + r"/rules/(?P<rule_id>[^/]+)", RuleHandler),
        (instance + r"/rses", RsesHandler),
        (instance + r"/scopes", ScopesHandler),
        (instance + r"/metadata-keys", MetadataKeysHandler),
        *upload_routes(instance),
        *events_routes(instance),
        (r"/basket", BasketHandler),
    ]
    return [(f"/{NAMESPACE}{path}", handler) for path, handler in routes]
