"""`python -m vision_sidecar`: read the settings, check the model file, serve until stopped."""

from __future__ import annotations

import sys

from aiohttp import web

from emotical_shared.tokens import SecretError, signer_from_env
from vision_sidecar.app import make_app
from vision_sidecar.runtime import configure_process, new_event_loop
from vision_sidecar.settings import Settings, SettingsError


def main() -> int:
    try:
        settings = Settings.from_env()
        settings.check_files()
        signer = signer_from_env()
    except (SettingsError, SecretError) as exc:
        print(f"vision sidecar: {exc}", file=sys.stderr)
        return 2
    configure_process(settings)
    web.run_app(make_app(settings, signer=signer), host=settings.host, port=settings.port,
                print=lambda *_: None, access_log=None, loop=new_event_loop(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
