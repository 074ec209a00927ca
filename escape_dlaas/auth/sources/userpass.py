"""Username and password for Rucio's userpass authentication."""

from __future__ import annotations

from pathlib import Path

from ...errors import ConfigurationError
from ..files import read_private_text
from .base import TokenSource, UserpassCredentials


class UserpassSource(TokenSource):
    """Username and password (from a private file) for Rucio's userpass authentication."""

    kind = "userpass"

    def __init__(self, username: str, password_file: Path):
        super().__init__(f"userpass:{username}")
        self.username = username
        self.password_file = password_file

    def fetch(self) -> UserpassCredentials:
        try:
            password, _ = read_private_text(self.password_file, what="password file", refuse_bits=0o077)
        except FileNotFoundError:
            raise ConfigurationError(f"password file {self.password_file} does not exist") from None
        if not password:
            raise ConfigurationError(f"password file {self.password_file} is empty")
        return UserpassCredentials(username=self.username, password=password, source=self.label)
