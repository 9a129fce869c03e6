"""Commands packed by hiredis (C) instead of redis-py's asyncio packer (Python).

redis-py's synchronous client packs commands with `hiredis.pack_command`; its asyncio client
packs them in Python and runs every argument through `Encoder.encode`. For the sidecar's two
30-argument commands per frame that was about 75 µs of event-loop time per frame; hiredis takes
about 8. The bytes on the wire are the same (`tests/vision/sidecar/test_redis_packing.py`).
"""

from __future__ import annotations

from typing import Any, List, Type

import hiredis
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import DataError

_UTF8 = ("utf-8", "utf8")


class HiredisPacking:
    """Mixin for a redis-py asyncio connection class: `pack_command` through hiredis."""

    encoder: Any

    def pack_command(self, *args: Any) -> List[bytes]:
        """The RESP bytes of one command (same result as redis-py's packer)."""
        if self.encoder.encoding.lower() not in _UTF8:
            return super().pack_command(*args)  # type: ignore[misc]
        if isinstance(args[0], str):
            args = tuple(args[0].encode().split()) + args[1:]
        elif b" " in args[0]:
            args = tuple(args[0].split()) + args[1:]
        args = tuple(a if type(a) in (str, bytes) else self._encode_one(a) for a in args)
        try:
            return [hiredis.pack_command(args)]
        except TypeError as exc:
            raise DataError(str(exc)) from exc

    def _encode_one(self, arg: Any) -> bytes:
        value = self.encoder.encode(arg)  # numbers; DataError for bool, None, …
        return bytes(value) if isinstance(value, (bytearray, memoryview)) else value


def with_hiredis_packing(cls: Type[AbstractConnection]) -> Type[AbstractConnection]:
    """`cls` (Connection, UnixDomainSocketConnection, SSLConnection, …) packing with hiredis."""
    if issubclass(cls, HiredisPacking):
        return cls
    return type(f"HiredisPacked{cls.__name__}", (HiredisPacking, cls), {})
