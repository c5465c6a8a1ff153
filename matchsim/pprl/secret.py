"""The secret key of keyed Bloom-filter encodings: held, never shown, never pickled.

Every bit position of an encoding comes from HMAC-SHA256 under this key (see
:mod:`matchsim.pprl.tokens`), as do the hardening's keyed permutation and diffusion taps (see
:mod:`matchsim.pprl.hardening`). The key comes from the caller or from an environment
variable, and no repr, description or pickle carries it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterable
from typing import NoReturn

from matchsim.errors import ConfigError

#: Environment variable read for the secret key when none is given.
KEY_ENV = "MATCHSIM_PPRL_KEY"


class Secret:
    """A secret key that never shows itself: its repr, str and pickles carry no key bytes."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes | str) -> None:
        raw = key.encode("utf-8") if isinstance(key, str) else bytes(key)
        if raw == b"<redacted>":
            raise ConfigError(
                "pprl.key",
                f"the key was redacted from this resolved scenario; set {KEY_ENV} (or key_env) instead",
            )
        if len(raw) < 8:
            raise ConfigError("pprl.key", "the secret key must be at least 8 bytes long")
        self._key = raw

    @classmethod
    def resolve(cls, key: bytes | str | Secret | None, key_env: str | None = KEY_ENV) -> Secret:
        """The key given, else the environment variable ``key_env``; a clear error otherwise."""
        if isinstance(key, Secret):
            return key
        if key is not None:
            return cls(key)
        value = os.environ.get(key_env or KEY_ENV)
        if not value:
            raise ConfigError(
                "pprl.key",
                f"no secret key: set the environment variable {key_env or KEY_ENV} "
                "(or pass key=... from Python)",
            )
        return cls(value)

    def digest(self, message: bytes) -> bytes:
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def digests(self, prefix: bytes, messages: Iterable[bytes]) -> bytes:
        """``digest(prefix + m)`` of each message, concatenated: the key and prefix are
        absorbed once and copied, not hashed again for every message."""
        start = hmac.new(self._key, prefix, hashlib.sha256)
        out = []
        for message in messages:
            h = start.copy()
            h.update(message)
            out.append(h.digest())
        return b"".join(out)

    def __repr__(self) -> str:
        return "Secret(<hidden>)"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:  # refuse to be pickled into a file with the key inside
        raise TypeError("a Secret cannot be pickled")
