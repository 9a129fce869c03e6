"""A Sanic app serving one socket.io input channel whose 'bot' echoes each message back.

Run as `python echo_server.py PORT persistent|stock`: `persistent` is bot.channels'
PersistentSocketIOInput, `stock` is Rasa's own SocketIOInput (for the regression check).
"""

from __future__ import annotations

import json
import sys

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketIOInput
from sanic import Sanic

from bot.channels import PersistentSocketIOInput


async def echo(message: UserMessage) -> None:
    """Reply with the text and metadata received, then a custom payload and buttons."""
    out = message.output_channel
    await out.send_text_message(message.sender_id,
                                f"echo {message.text} {json.dumps(message.metadata, sort_keys=True)}")
    await out.send_custom_json(message.sender_id, {"products": [{"id": "shoe-01"}]})
    await out.send_text_with_buttons(message.sender_id, "more?",
                                     [{"title": "Yes", "payload": "/affirm"}])


def main() -> None:
    port, kind = int(sys.argv[1]), sys.argv[2]
    cls = PersistentSocketIOInput if kind == "persistent" else SocketIOInput
    channel = cls.from_credentials({"session_persistence": True, "metadata_key": "customData"})
    app = Sanic(f"echo_{kind}")
    app.blueprint(channel.blueprint(echo))
    app.run(host="127.0.0.1", port=port, workers=1, access_log=False, debug=False)


if __name__ == "__main__":
    main()
