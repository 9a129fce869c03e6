"""bot.channels.PersistentSocketIOInput over a real socket.io connection (Sanic + python-socketio).

With `session_persistence: true` Rasa 3.6.21's own channel never puts the socket in the
session's room, so replies are lost (RasaHQ/rasa issue 13027); ours must deliver them, also to a
new socket that rejoins the same session after a reconnect (a page reload).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Iterator, List

import pytest
import socketio

from stack.redis_server import ROOT, free_port

HERE = Path(__file__).resolve().parent


def _serve(kind: str) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(HERE / "echo_server.py"), str(port), kind],
                            cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"echo server exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            urllib.request.urlopen(url + "/socket.io/?EIO=4&transport=polling", timeout=1)
            break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        raise RuntimeError("echo server did not start within 60 s")
    yield url
    os.killpg(proc.pid, signal.SIGTERM)  # its own group: Sanic's children go too
    try:
        proc.wait(timeout=3)
    except subprocess.TimeoutExpired:  # open long-poll requests keep Sanic waiting
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.fixture(scope="module")
def persistent_url() -> Iterator[str]:
    yield from _serve("persistent")


@pytest.fixture(scope="module")
def stock_url() -> Iterator[str]:
    yield from _serve("stock")


def _converse(url: str, session_id: str, text: str, wait_s: float = 5.0) -> List[dict]:
    """Connect, join `session_id`, send `text`; return the bot messages received.

    The synchronous client over long-polling: the bot environment's aiohttp (pinned by Rasa) is
    too old for python-engineio's asyncio client.
    """
    received: List[dict] = []
    done = threading.Event()
    confirmed = threading.Event()
    client = socketio.Client(reconnection=False)
    client.on("session_confirm", lambda sid: confirmed.set())

    def on_bot(message: dict) -> None:
        received.append(message)
        if "quick_replies" in message:
            done.set()

    client.on("bot_uttered", on_bot)
    client.connect(url, transports=["polling"], socketio_path="/socket.io")
    try:
        client.emit("session_request", {"session_id": session_id})
        assert confirmed.wait(5), "the server never confirmed the session"
        client.emit("user_uttered", {"message": text, "session_id": session_id,
                                     "customData": {"session_id": session_id,
                                                    "shopper_id": "u-1", "product_id": "p-1"}})
        done.wait(wait_s)
    finally:
        # abort: do not wait up to 25 s for the pending long-poll request to come back.
        client.eio.disconnect(abort=True)
    return received


def test_replies_reach_the_session_room_with_metadata_custom_payload_and_buttons(persistent_url):
    messages = (_converse(persistent_url, "s-room-1", "hello"))
    texts = [m.get("text") for m in messages]
    assert texts[0] == ('echo hello {"product_id": "p-1", "session_id": "s-room-1", '
                        '"shopper_id": "u-1"}'), f"the browser would have seen {messages}"
    assert {"custom": {"products": [{"id": "shoe-01"}]}} in messages
    assert messages[-1]["quick_replies"] == [{"content_type": "text", "title": "Yes",
                                              "payload": "/affirm"}]


def test_a_new_socket_rejoining_the_session_gets_replies(persistent_url):
    first = (_converse(persistent_url, "s-room-2", "one"))
    second = (_converse(persistent_url, "s-room-2", "two"))
    assert first and first[0]["text"].startswith("echo one")
    assert second and second[0]["text"].startswith("echo two"), "after a reload the chat went silent"


def test_rasa_stock_channel_loses_replies_with_session_persistence(stock_url):
    """Why bot.channels exists: the unpatched channel never delivers (if this starts failing,
    Rasa fixed issue 13027 and the subclass can go)."""
    messages = (_converse(stock_url, "s-room-3", "hello", wait_s=2.0))
    assert messages == []
