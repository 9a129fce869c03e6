# The shopper's web widget (vision_sidecar/static, vision_sidecar/report.py, bot/channels.py).
# `make test-browser` starts the whole stack on free ports and drives headless Chromium with
# Playwright: chat with buttons, fake camera fed by a real face photo, live mood, report, delete,
# reload. Screenshots land in var/screenshots/. Chromium comes from Debian (scripts/setup.d/50-browser.sh).

TEST_TARGETS += test-browser

.PHONY: test-browser

test-browser: setup train ## headless Chromium + Playwright against the running stack (screenshots in var/screenshots/)
	@EMOTICAL_BROWSER_TESTS=1 $(CPU_LOCK) $(VIS_PY) -m pytest tests/vision/browser -q -p no:cacheprovider
