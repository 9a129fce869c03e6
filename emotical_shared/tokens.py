"""Signed tokens: the only proof of who a shopper is and which session is theirs.

The sidecar mints them; the sidecar, Rasa's channel and the action server verify them. A token
is `v1.<payload>.<signature>`: the payload is compact JSON (base64url) with the token's kind,
the ids it binds and its expiry; the signature is HMAC-SHA256 over `v1.<payload>` with the
server secret. Nothing a client sends is an identity unless it arrives inside a valid token.

Kinds: a `session` token binds a session id to a shopper id for a few hours; a `shopper` token
binds only the shopper id, lives long, and lets a returning shopper prove they are who they say
when they open a new session.

The secret comes from `EMOTICAL_SECRET` (at least 32 characters) or is generated once into
`var/secret` (mode 0600). Rotation: set the new secret in `EMOTICAL_SECRET` and the old one in
`EMOTICAL_SECRET_PREVIOUS`; tokens signed with either verify until the old ones expire, new
tokens are signed with the new one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional, Tuple

from emotical_shared.redis_schema import InvalidIdError, validate_id

VERSION = "v1"
SESSION = "session"
SHOPPER = "shopper"
KINDS = (SESSION, SHOPPER)
MIN_SECRET_CHARS = 32
#: Longest token accepted; anything longer is refused before any work is done on it.
MAX_TOKEN_CHARS = 1024

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SECRET_FILE = ROOT / "var" / "secret"


class TokenError(ValueError):
    """A token that proves nothing: missing, malformed, forged, of the wrong kind or expired."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SecretError(RuntimeError):
    """No usable signing secret (too short, unreadable, or a file others can read)."""


@dataclass(frozen=True)
class Claims:
    """What a verified token says."""

    kind: str
    shopper_id: str
    session_id: Optional[str]
    expires_at: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    """Mints and verifies tokens with one current secret and optional previous ones."""

    def __init__(self, secret: str, previous: Tuple[str, ...] = ()) -> None:
        for s in (secret, *previous):
            if len(s) < MIN_SECRET_CHARS:
                raise SecretError(f"a signing secret needs at least {MIN_SECRET_CHARS} characters")
        self._current = secret.encode()
        self._keys = tuple(s.encode() for s in (secret, *previous))

    def _sign(self, key: bytes, signed: bytes) -> str:
        return _b64(hmac.new(key, signed, hashlib.sha256).digest())

    def mint(self, kind: str, shopper_id: str, session_id: Optional[str] = None,
             ttl_s: float = 12 * 3600, now: Optional[float] = None) -> str:
        """A token of `kind` binding the ids, valid for `ttl_s` seconds from `now`."""
        if kind not in KINDS:
            raise ValueError(f"unknown token kind {kind!r}")
        validate_id(shopper_id, "shopper")
        if kind == SESSION:
            validate_id(session_id, "session")
        elif session_id is not None:
            raise ValueError("a shopper token binds no session")
        exp = int((time.time() if now is None else now) + ttl_s)
        payload = {"k": kind, "u": shopper_id, "e": exp}
        if session_id is not None:
            payload["s"] = session_id
        body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
        signed = f"{VERSION}.{body}"
        return f"{signed}.{self._sign(self._current, signed.encode())}"

    def verify(self, token: object, kind: str, now: Optional[float] = None) -> Claims:
        """The claims of `token` if it is genuine, of `kind` and not expired; else TokenError."""
        if not isinstance(token, str) or not token:
            raise TokenError("missing token")
        if len(token) > MAX_TOKEN_CHARS:
            raise TokenError("token too long")
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != VERSION:
            raise TokenError("malformed token")
        signed = f"{parts[0]}.{parts[1]}".encode()
        if not any(hmac.compare_digest(self._sign(k, signed), parts[2]) for k in self._keys):
            raise TokenError("bad signature")
        try:
            payload = json.loads(_unb64(parts[1]))
        except (binascii.Error, ValueError, UnicodeDecodeError):
            raise TokenError("malformed token") from None
        if not isinstance(payload, dict) or payload.get("k") != kind:
            raise TokenError(f"not a {kind} token")
        exp = payload.get("e")
        if not isinstance(exp, int) or exp <= (time.time() if now is None else now):
            raise TokenError("expired token")
        try:
            shopper = validate_id(payload.get("u"), "shopper")
            session = validate_id(payload.get("s"), "session") if kind == SESSION else None
        except InvalidIdError:
            raise TokenError("malformed token") from None
        return Claims(kind=kind, shopper_id=shopper, session_id=session, expires_at=exp)


def load_secret(env: Optional[Mapping[str, str]] = None,
                path: Path = DEFAULT_SECRET_FILE, create: bool = True) -> str:
    """`EMOTICAL_SECRET`, else the contents of `path`, else (if `create`) a new one written there.

    The file is created with mode 0600 and never overwritten; a file that group or others may
    read is refused, as is a secret shorter than MIN_SECRET_CHARS.
    """
    env = os.environ if env is None else env
    path = Path(env.get("EMOTICAL_SECRET_FILE") or path)
    given = env.get("EMOTICAL_SECRET")
    if given:
        if len(given) < MIN_SECRET_CHARS:
            raise SecretError(f"EMOTICAL_SECRET must hold at least {MIN_SECRET_CHARS} characters")
        return given
    if not path.exists():
        if not create:
            raise SecretError(f"no EMOTICAL_SECRET and no secret file at {path}")
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it first: read theirs
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(48) + "\n")
    if path.stat().st_mode & 0o077:
        raise SecretError(f"{path} may be read by other users: chmod 600 it")
    secret = path.read_text().strip()
    if len(secret) < MIN_SECRET_CHARS:
        raise SecretError(f"{path} holds a secret shorter than {MIN_SECRET_CHARS} characters")
    return secret


def signer_from_env(env: Optional[Mapping[str, str]] = None, create: bool = True) -> Signer:
    """The Signer for this machine's secret and `EMOTICAL_SECRET_PREVIOUS` (comma-separated)."""
    env = os.environ if env is None else env
    previous = tuple(p for p in (env.get("EMOTICAL_SECRET_PREVIOUS") or "").split(",") if p)
    return Signer(load_secret(env, create=create), previous)


def derived_secret(secret: str, purpose: str) -> str:
    """A secret for one purpose (`actions`, `rasa-api`), derived so that it reveals no other."""
    return hmac.new(secret.encode(), f"emotical/{purpose}".encode(), hashlib.sha256).hexdigest()


def _main(argv: Optional[list] = None) -> int:
    """Developer tool: print a door token or mint a shopper's tokens with this machine's secret.

    python -m emotical_shared.tokens door actions|rasa-api
    python -m emotical_shared.tokens session SESSION_ID [SHOPPER_ID]
    """
    import sys

    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) == 2 and args[0] == "door" and args[1] in ("actions", "rasa-api"):
        print(derived_secret(load_secret(), args[1]))
        return 0
    if 2 <= len(args) <= 3 and args[0] == "session":
        sid = args[1]
        uid = args[2] if len(args) == 3 else f"u-{sid}"
        print(signer_from_env().mint(SESSION, uid, sid))
        return 0
    print(_main.__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(_main())
