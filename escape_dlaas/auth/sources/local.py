"""Sources on the server's own machine: a token file, an environment variable, WLCG discovery."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from ...errors import CredentialsMissing
from ..files import FileStamp, read_private_text, stamp
from .base import FoundToken, TokenSource


class FileTokenSource(TokenSource):
    """A token file the admin configured (e.g. rewritten by a JupyterHub sidecar or the lake).

    Re-read only when the file changes (stat stamp), so polling it is cheap.
    """

    kind = "file"

    def __init__(self, path: Path, *, label: str | None = None, what: str = "token file", require_owner: bool = False):
        super().__init__(label or f"file:{path}")
        self.path = path
        self._what = what
        self._require_owner = require_owner
        self._cache: tuple[FileStamp, FoundToken] | None = None

    def fetch(self) -> FoundToken:
        try:
            current = stamp(self.path)
        except FileNotFoundError:
            self._cache = None
            raise CredentialsMissing(f"{self._what} {self.path} does not exist") from None
        cached = self._cache
        if cached is not None and cached[0] == current:
            return cached[1]
        try:
            # Group-readable is allowed (sidecars often share a group); world-readable is not.
            text, read_stamp = read_private_text(
                self.path, what=self._what, refuse_bits=0o006, require_owner=self._require_owner
            )
        except FileNotFoundError:
            raise CredentialsMissing(f"{self._what} {self.path} does not exist") from None
        if not text:
            raise CredentialsMissing(f"{self._what} {self.path} is empty")
        found = FoundToken.from_text(text, self.label)
        self._cache = (read_stamp, found)
        return found


class EnvTokenSource(TokenSource):
    """A token in an environment variable. Frozen at spawn: it cannot be refreshed."""

    kind = "env"

    def __init__(self, variable: str, *, environ: Mapping[str, str] | None = None):
        super().__init__(f"env:{variable}")
        self.variable = variable
        self._environ = os.environ if environ is None else environ

    def fetch(self) -> FoundToken:
        value = self._environ.get(self.variable, "").strip()
        if not value:
            raise CredentialsMissing(f"environment variable {self.variable} is not set")
        return FoundToken.from_text(value, self.label)


class WlcgTokenSource(TokenSource):
    """WLCG bearer-token discovery, in the order the WLCG profile fixes.

    ``BEARER_TOKEN``, then the file named by ``BEARER_TOKEN_FILE``, then
    ``$XDG_RUNTIME_DIR/bt_u<uid>``, then ``/tmp/bt_u<uid>``. As in the profile, the
    first place that holds a token decides, even if that token has expired.
    """

    kind = "wlcg"

    def __init__(
        self,
        *,
        environ: Mapping[str, str] | None = None,
        uid: int | None = None,
        tmp_dir: Path = Path("/tmp"),  # noqa: S108 - the WLCG profile names this path
    ):
        super().__init__("wlcg")
        self._environ = os.environ if environ is None else environ
        self._uid = os.geteuid() if uid is None else uid
        self._tmp_dir = tmp_dir
        self._files: dict[Path, FileTokenSource] = {}

    def _file(self, path: Path, *, shared_dir: bool) -> FoundToken | None:
        if not os.path.lexists(path):
            return None
        source = self._files.get(path)
        if source is None:
            source = self._files[path] = FileTokenSource(
                path, label=f"wlcg:{path}", what="WLCG token file", require_owner=shared_dir
            )
        return source.fetch()

    def fetch(self) -> FoundToken:
        value = self._environ.get("BEARER_TOKEN", "").strip()
        if value:
            return FoundToken.from_text(value, "wlcg:BEARER_TOKEN")
        candidates: list[tuple[Path, bool]] = []
        if self._environ.get("BEARER_TOKEN_FILE"):
            candidates.append((Path(self._environ["BEARER_TOKEN_FILE"]), False))
        if self._environ.get("XDG_RUNTIME_DIR"):
            candidates.append((Path(self._environ["XDG_RUNTIME_DIR"]) / f"bt_u{self._uid}", False))
        # Anyone can create a file in /tmp: accept it only if it is ours.
        candidates.append((self._tmp_dir / f"bt_u{self._uid}", True))
        for path, shared_dir in candidates:
            found = self._file(path, shared_dir=shared_dir)
            if found is not None:
                return found
        raise CredentialsMissing(
            "no WLCG bearer token (BEARER_TOKEN, BEARER_TOKEN_FILE, $XDG_RUNTIME_DIR/bt_u<uid>, /tmp/bt_u<uid>)"
        )
