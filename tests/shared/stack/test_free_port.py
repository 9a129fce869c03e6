"""`free_port`: ports that an outgoing connection cannot take while a server is still loading."""

from __future__ import annotations

import socket

from stack.redis_server import _ephemeral_range, free_port


def test_ports_are_outside_the_ephemeral_range_distinct_and_bindable_on_all_interfaces() -> None:
    low, high = _ephemeral_range()
    ports = [free_port() for _ in range(50)]
    assert len(set(ports)) == len(ports), "a port was handed out twice"
    for port in ports:
        assert not low <= port <= high, f"{port} lies in the ephemeral range {low}-{high}"
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("0.0.0.0", port))  # Rasa binds every interface: this must not fail


def test_a_port_in_use_is_skipped(monkeypatch) -> None:
    """The random pick lands on a port another socket listens on: free_port goes on looking."""
    import stack.redis_server as rs

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        held = busy.getsockname()[1]
        picks = iter([held, held, 23457 if held == 23456 else 23456])

        class Scripted:
            def choice(self, _candidates):
                return next(picks)

        monkeypatch.setattr(rs.random, "SystemRandom", Scripted)
        monkeypatch.setattr(rs, "_ephemeral_range", lambda: (60000, 60001))
        port = rs.free_port()
        assert port != held and port in (23456, 23457)
