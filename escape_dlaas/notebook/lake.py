"""``DataLake``: the data lake from Python, in a notebook or a script, with the server extension's domain core.

Every method calls the same domain functions the REST handlers call, with a
:class:`~escape_dlaas.domain.session.RucioSession` made from the same configuration and
the same token sources (see :mod:`.config`), on a private event loop (:mod:`.runner`).
Errors are the project's own (:mod:`escape_dlaas.errors`) with the panel's messages,
raised without the domain's frames. Nothing here holds a token.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from ..auth.redact import get_logger
from ..config import InstanceConfig
from ..domain import describe as describe_domain
from ..domain import details, downloads, paths, rules, search
from ..domain.catalogue import NOTEBOOK_TARGET, target_expression
from ..domain.describe import availability_map
from ..domain.did import DID, parse_did
from ..domain.filters import Filter, parse_filter_json, parse_filter_string
from ..domain.instances import Instance, InstanceRegistry
from ..domain.session import RucioSession
from ..errors import CredentialsMissing, DLaaSError, InvalidInput
from .config import NotebookSettings, load_settings
from .handles import AvailabilityHandle, Progress, Requested, download_progress, rule_progress
from .results import SearchResults
from .runner import DomainLoop, shared_loop

T = TypeVar("T")
DOWNLOAD_TARGET = "download"  # download mode: fetch into the site's download cache
SEARCH_TYPES = search.DID_TYPES
CREDENTIALS_ADVICE = (
    "A kernel looks for your sign-in where the Jupyter server looks (the same files and environment "
    "variables): use a kernel started by that server, or make one of these sources available and try again."
)


class DataLake:
    """One configured data lake instance: search, describe, make available, wait, open.

    ``DataLake()`` uses the default instance of the Jupyter server's configuration;
    ``DataLake("name")`` another one; ``config=`` a configuration of its own (the c.DLaaS
    settings as a dict, or a jupyter_server_config file or folder). ``root_dir``: the
    Jupyter server's root, where datasets get browsable folders (``data-lake/...``) as
    in the panel (default: ``ServerApp.root_dir`` of the same config files, when set);
    without one, paths are those of the replicas themselves.
    """

    def __init__(
        self,
        instance: str | None = None,
        *,
        config: Mapping[str, Any] | str | os.PathLike[str] | None = None,
        root_dir: str | os.PathLike[str] | None = None,
    ):
        _kernel_logging()
        self._settings: NotebookSettings = load_settings(config)
        instance_config = self._settings.instance_config(instance)
        self._loop: DomainLoop = shared_loop()
        self._root_dir = self._settings.root_dir if root_dir is None else os.fspath(root_dir)
        settings = self._settings

        def registry() -> InstanceRegistry:
            return InstanceRegistry(
                instances=[instance_config],
                default_instance=instance_config.name,
                max_workers=settings.max_workers,
                search_page_size=settings.search_page_size,
                max_search_page_size=settings.max_search_page_size,
            )

        # made on the loop's thread: its locks and tasks belong to that loop
        self._registry = self._loop.call(registry)
        self._instance: Instance = self._registry.instance(instance_config.name)

    # -- who and where -----------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def config(self) -> InstanceConfig:
        """The instance's validated configuration (no secret: token sources name where tokens are, not what)."""
        return self._instance.config

    def __repr__(self) -> str:
        return f"DataLake({self.name!r}: {self.config.label} at {self.config.rucio_url})"

    def close(self) -> None:
        """Stop this lake's worker threads (a kernel ending does it too)."""
        self._loop.call(self._registry.close)

    def __enter__(self) -> DataLake:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self, make: Callable[[], Awaitable[T]]) -> T:
        """Run a domain coroutine as one request; its error is raised without the domain's frames."""
        try:
            return self._loop.run(make)
        except CredentialsMissing as error:
            raise CredentialsMissing(f"{error.message} {CREDENTIALS_ADVICE}", reason=error.reason) from None
        except DLaaSError as error:
            raise error.with_traceback(None) from None

    @property
    def _session(self) -> RucioSession:
        return self._instance.session

    def whoami(self) -> dict[str, Any]:
        """The instance, the Rucio account, and a summary of the sign-in (subject, issuer, expiry; never the token)."""
        return self._run(self._session.whoami)

    def targets(self) -> list[str]:
        """Where make_available can bring data: 'notebook' (or 'download') and the QoS classes."""
        local = [NOTEBOOK_TARGET] if self.config.notebook_local else []
        cache = [DOWNLOAD_TARGET] if self._instance.downloads is not None else []
        return local + cache + sorted(self.config.qos_classes)

    # -- finding data --------------------------------------------------------------------------------

    def search(
        self,
        name: str | None = None,
        filters: str | list[Any] | None = None,
        scope: str | None = None,
        type: str = "dataset",  # the word the panel uses
        limit: int | None = None,
        page_size: int | None = None,
    ) -> SearchResults:
        """DIDs matching a name pattern (``*.fits``, ``lofar:L2023_*``) and/or a metadata filter.

        ``filters`` in the panel's language (``"telescope=lofar,energy>5"``: ``,`` is AND,
        ``;`` OR, ``2<energy<5`` a range), or the panel builder's JSON. ``type``: dataset,
        container, collection, file or all. The result fetches pages lazily as it is
        iterated, up to ``limit`` DIDs (None: all): nothing is asked before it is used (the
        filter's language is checked at once, the rest with the first page).
        """
        parsed = _filter(filters)
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise InvalidInput("limit must be a whole number of at least 1 (or None for all)", field="limit")
        size = page_size or self._settings.search_page_size
        if not isinstance(size, int) or not 1 <= size <= self._settings.max_search_page_size:
            raise InvalidInput(
                f"page_size must be between 1 and {self._settings.max_search_page_size}", field="page_size"
            )
        if limit is not None:
            size = min(size, limit)
        session = self._session

        def page(cursor: str | None) -> dict[str, Any]:
            return self._run(
                lambda: search.search(
                    session,
                    pattern=name,
                    scope=scope,
                    did_type=type,
                    filters=parsed,
                    page_size=size,
                    cursor=cursor,
                )
            )

        query = {"name": name, "filters": filters, "scope": scope, "type": type}
        return SearchResults(page, limit=limit, query={k: v for k, v in query.items() if v is not None})

    def describe(self, did: str) -> dict[str, Any]:
        """One DID in detail: type, size, metadata, the rules on it, its availability, the RSEs' QoS classes."""
        parsed = parse_did(did)
        return self._run(lambda: details.did_details(self._session, parsed))

    def availability(self, dids: str | Iterable[str]) -> dict[str, dict[str, Any]]:
        """The state of each DID at the notebook, keyed by DID (a single DID may be given as a string)."""
        parsed = _dids(dids)
        answer = self._run(
            lambda: describe_domain.availability(self._session, parsed, self._registry.availability_max_age)
        )
        return {item["did"]: item for item in answer}

    def local_paths(self, did: str) -> dict[str, Any]:
        """Where the files of ``did`` are at the notebook, as the panel's 'paths' answer gives it.

        ``paths`` (file DID → path to open), ``missing`` (files not at the notebook yet),
        ``directory`` (the dataset's folder), ``folder_problem``.
        """
        parsed = parse_did(did)
        return self._run(lambda: paths.local_paths(self._session, parsed, self._instance.downloads, self._root_dir))

    def paths(self, did: str) -> list[str]:
        """The local paths of the files of ``did`` that are at the notebook, in the order of their DIDs."""
        found = self.local_paths(did)["paths"]
        return [found[key] for key in sorted(found)]

    # -- bringing data -------------------------------------------------------------------------------

    def make_available(
        self,
        dids: str | Iterable[str],
        target: str = NOTEBOOK_TARGET,
        lifetime_days: float | None = None,
    ) -> AvailabilityHandle:
        """Bring one or more DIDs to ``target`` ('notebook', a QoS class such as 'FAST', or 'download').

        Idempotent, as in the panel: the account's rule for the same DID and target is reused
        (and extended when asked for longer). On a site without notebook-local storage,
        'notebook' means download mode: the files are fetched into the site's download cache.
        Returns a handle: ``.state``, ``.wait()``, ``.paths``, ``.extend()``, ``.cancel()``.
        Refusals (embargo, quota with numbers, unknown target) raise the panel's message.
        """
        parsed = _dids(dids)
        download = target == DOWNLOAD_TARGET or (target == NOTEBOOK_TARGET and self.config.notebook_local is None)
        if not download:
            target_expression(self.config, target)  # an unknown target is refused before anything is asked
        items = []
        for did in parsed:  # one request (and one deadline) per DID
            if download:
                answer = self._run(lambda d=did: downloads.start_download(self._session, self._instance.downloads, d))  # type: ignore[misc]
                job = answer["download"]
                items.append(
                    Requested(
                        str(did),
                        DOWNLOAD_TARGET,
                        download=job,
                        created=answer["started"],
                        progress=download_progress(job),
                    )
                )
            else:
                made = self._run(lambda d=did: rules.make_available(self._session, d, target, lifetime_days))  # type: ignore[misc]
                rule = made["rule"]
                items.append(
                    Requested(
                        str(did),
                        target,
                        rule=rule,
                        created=made["created"],
                        note=made.get("note"),
                        progress=rule_progress(rule),
                    )
                )
        return AvailabilityHandle(self, items)

    def rules(self) -> list[AvailabilityHandle]:
        """The account's rules, each as a handle (``.state``, ``.extend()``, ``.cancel()``, ``.paths``)."""
        found = self._run(lambda: rules.my_rules_json(self._session))
        return [
            AvailabilityHandle(self, [Requested(r["did"], self._target_of(r), rule=r, progress=rule_progress(r))])
            for r in found
        ]

    def basket(self, esap: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The user's ESAP basket as the panel's Basket tab shows it: every item, Rucio items with size and availability.

        ``esap``: the ``c.DLaaS.esap`` settings (default: those in the Jupyter server's configuration files).
        """
        from ..config import parse_esap
        from ..domain.basket import load_basket
        from .config import read_server_config

        settings = parse_esap(esap if esap is not None else read_server_config()[0].get("esap"))
        return self._run(lambda: load_basket(self._session, settings, os.environ))

    def upload(
        self,
        paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
        dataset: str,
        *,
        scope: str | None = None,
        target: str | None = None,
        lifetime_days: float | None = None,
        metadata: Mapping[str, Any] | None = None,
        metadata_on: str = "dataset",
        attach_identical: bool = True,
    ) -> dict[str, Any]:
        """Upload local files and folders into ``dataset`` (new or existing) and wait for the outcome.

        As the file browser's upload: into ``scope`` (default ``user.<account>``), to an upload
        ``target`` of the instance, kept by a rule for ``lifetime_days``, with ``metadata`` on
        the dataset, the files or both (``metadata_on``). Files identical (adler32 and size) to
        ones the scope holds are attached instead of copied unless ``attach_identical`` is
        False (files too large to checksum within the instance's timeout are uploaded as new
        files). Returns the upload's outcome (``state``, ``dataset``, ``rse``, ``rule``,
        ``items``, ``error``); refusals known before copying raise the panel's message.
        """
        from ..domain import upload, upload_checks

        given = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
        # The kernel may upload any file it can read: paths are given relative to '/'.
        relative = [os.path.abspath(os.fspath(p)).lstrip(os.sep) for p in given]
        request: dict[str, Any] = {
            "paths": relative,
            "dataset": dataset,
            "scope": scope,
            "target": target,
            "lifetime_days": lifetime_days,
            "metadata": dict(metadata or {}),
            "metadata_on": metadata_on,
        }
        jobs = self._instance.uploads
        if attach_identical:
            check = self._run(lambda: upload_checks.check_upload(self._session, jobs, os.sep, request))
            request["attach"] = {f["path"]: f["identical"][0] for f in check["files"] if f["identical"]}
        job = self._run(lambda: upload.start_upload(self._session, jobs, os.sep, request))
        return self._run(lambda: jobs.wait(job.id)).progress()

    def _target_of(self, rule: Mapping[str, Any]) -> str:
        """The target a rule's RSE expression stands for ('notebook', a QoS class), else the expression."""
        expression = rule.get("rse_expression")
        if rule.get("towards_notebook"):
            return NOTEBOOK_TARGET
        return next((n for n, e in self.config.qos_classes.items() if e == expression), str(expression))

    def search_widget(self, **search: Any) -> Any:
        """An ipywidgets search form (name, metadata filter, results with availability, 'Make available')."""
        from .widgets import SearchWidget

        return SearchWidget(self, **search)

    # -- for the handles (HandleSource) ---------------------------------------------------------------

    def _refresh(self, items: Sequence[Requested]) -> list[Progress]:
        """Each item's progress: its rule as Rucio lists it now (and the bytes at the notebook), or its download."""
        session = self._session

        async def look() -> list[Progress]:
            account = None
            with_rules = [i for i in items if i.rule is not None]
            if with_rules:
                account = (await rules.rule_permissions(session)).account
            at_notebook = [DID(*i.did.split(":", 1)) for i in with_rules if i.target == NOTEBOOK_TARGET]
            states = await availability_map(session, at_notebook) if at_notebook else {}
            found: list[Progress] = []
            for item in items:
                if item.download is not None:
                    jobs = await downloads.download_progress(session, self._instance.downloads, parse_did(item.did))
                    job = jobs[0] if jobs else None
                    if job is not None:
                        item.download = job
                    found.append(download_progress(job))
                    continue
                assert item.rule is not None
                assert account is not None
                rule = await rules.find_rule(session, parse_did(item.did), account, str(item.rule["rse_expression"]))
                if rule is not None:
                    item.rule = rules.rule_json(rule, await rules.rule_permissions(session))
                state = states.get(item.did)
                found.append(rule_progress(item.rule if rule else None, state.to_json() if state else None))
            return found

        return self._run(look)

    def _extend(self, item: Requested, lifetime_days: float) -> dict[str, Any]:
        rule_id = item.rule_id
        return self._run(lambda: rules.extend_rule(self._session, rule_id, lifetime_days))

    def _cancel(self, item: Requested) -> dict[str, Any]:
        rule_id = item.rule_id
        return self._run(lambda: rules.cancel_rule(self._session, rule_id))


def _kernel_logging() -> None:
    """Logging as the server sets it up, minus the server's log: nobody reads a kernel's log.

    Without a handler, Python's last-resort handler would print the domain's warnings (a
    breaker opening) into the cell, next to the error that already says it. rucio-clients
    stays above DEBUG (it logs request headers) and token-shaped text is redacted, in case
    someone attaches a handler.
    """
    ours = logging.getLogger("escape_dlaas")
    if not any(isinstance(h, logging.NullHandler) for h in ours.handlers):
        ours.addHandler(logging.NullHandler())
    rucio = logging.getLogger("rucio")
    rucio.setLevel(max(logging.INFO, rucio.level))
    for name in ("escape_dlaas", "rucio", "requests", "urllib3"):
        get_logger(name)


def _dids(dids: str | Iterable[str]) -> list[DID]:
    """One DID or several, parsed, without repeats, in order."""
    items = [dids] if isinstance(dids, str) else list(dids)
    if not items:
        raise InvalidInput("give at least one DID (scope:name)", field="dids")
    return list(dict.fromkeys(parse_did(d, "dids") for d in items))


def _filter(filters: str | list[Any] | None) -> Filter:
    """The metadata filter in the panel's text language, or as the panel builder's JSON."""
    if filters is None or filters == "":
        return []
    if isinstance(filters, str):
        return parse_filter_string(filters)
    return parse_filter_json(filters)
