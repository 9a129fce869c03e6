"""The shop page in headless Chromium against the whole running stack, as a shopper uses it.

One shopper, one product session, in order: open the shop (the sidecar mints the session), chat
with buttons, turn the camera on (Chromium's fake camera plays a real face photo), complain, turn
the camera off, reload, read the report, delete everything; no CSP violation on the way. Then the
browser's share of "shoppers' data belongs to them": only web links are rendered, the report
opens only in the browser holding the session's token, delete leaves nothing in the browser, and
the widget says so while Rasa is down. Each step saves a screenshot in var/screenshots/.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, Dict, Iterator

import pytest
import redis

from emotical_shared import redis_schema
from emotical_shared.labels import LABELS
from emotical_shared.tokens import SESSION
from tests.vision.browser.conftest import watch_csp
from vision_sidecar.expression.local import LocalOnnxBackend

pytestmark = pytest.mark.timeout(600)

PRODUCT = "shoe-01"


def wait_until(check: Callable[[], Any], timeout: float, what: str, every: float = 0.25) -> Any:
    """Poll `check` until it returns something truthy; fail naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    pytest.fail(f"after {timeout:.0f} s still waiting for {what} (last value: {last!r})")


def bot_texts(page: Any) -> list[str]:
    return page.locator('#chat-log .msg-bot .msg-text').all_inner_texts()


NO_TOKEN = "This report can only be opened in the browser that made the session."


def tracker(stack: Any, sid: str) -> Dict[str, Any]:
    url = f"{stack.rasa_url}/conversations/{sid}/tracker?token={stack.rasa_api_token}"
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.load(resp)


def request(url: str, method: str = "GET", token: str = "", body: Any = None) -> tuple:
    """(status, headers, parsed JSON or None) of one HTTP request, errors included."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            raw, status, got = resp.read(), resp.status, resp.headers
    except urllib.error.HTTPError as exc:
        raw, status, got = exc.read(), exc.code, exc.headers
    try:
        return status, got, json.loads(raw)
    except ValueError:
        return status, got, None


def kept(page: Any) -> Dict[str, Any]:
    """Everything of this site in the page's localStorage, parsed."""
    return page.evaluate("""() => Object.fromEntries(Object.keys(localStorage).map(
        k => [k, JSON.parse(localStorage.getItem(k))]))""")


def open_product(page: Any, url: str) -> str:
    """Open the shop at `url` (a `?product=` view) and wait for the chat; the session id."""
    page.goto(url)
    page.wait_for_selector("body[data-ready=true]")
    wait_until(lambda: page.locator("#chat-status").inner_text() == "online", 30,
               "the chat to connect to Rasa")
    return page.evaluate("document.body.dataset.session")


@pytest.fixture(scope="module")
def shop(stack: Any, browser: Any, screenshots: Path) -> Iterator[Dict[str, Any]]:
    """One browser context (one shopper) for the whole walk through the shop."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    csp = watch_csp(context)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    state: Dict[str, Any] = {"page": page, "context": context, "errors": errors, "csp": csp,
                             "url": stack.sidecar_url, "rasa": stack.rasa_url, "stack": stack}
    yield state
    context.close()


def test_shop_lists_products_and_opening_one_starts_a_session(shop, screenshots):
    page = shop["page"]
    page.goto(shop["url"] + "/")
    page.wait_for_selector("body[data-ready=true]")
    cards = page.locator("#product-list .product-card")
    assert cards.count() >= 5, "the shop showed fewer than five products"
    page.screenshot(path=str(screenshots / "01-shop.png"), full_page=True)

    page.get_by_role("button", name="Shoes").click()
    page.locator(f'.product-card[data-product-id="{PRODUCT}"] button.open-product').click()
    page.wait_for_selector("body[data-session]")
    sid = page.evaluate("document.body.dataset.session")
    redis_schema.validate_id(sid)
    shop["sid"] = sid
    # The sidecar made the ids and the tokens; the browser keeps them (util.js KEYS).
    stored = kept(page)
    shopper = stored["emotical.shopper"]
    redis_schema.validate_id(shopper["shopper_id"])
    session = stored["emotical.sessions"][sid]
    claims = shop["stack"].signer.verify(session["session_token"], SESSION)
    assert (claims.session_id, claims.shopper_id) == (sid, shopper["shopper_id"])
    assert stored["emotical.session"] == {"session_id": sid, "product_id": PRODUCT}
    shop["shopper"] = shopper["shopper_id"]
    shop["token"] = session["session_token"]
    assert page.locator("#product-name").inner_text() == "Runner Pro trainers"
    wait_until(lambda: page.locator("#chat-status").inner_text() == "online", 30,
               "the chat to connect to Rasa")


def test_chat_round_trip_with_buttons(shop, screenshots):
    page, sid = shop["page"], shop["sid"]
    # The widget greets on a new session; the greeting comes back from Rasa.
    wait_until(lambda: bot_texts(page), 60, "the bot's greeting")
    page.locator("#chat-input").fill("show me some jackets")
    page.keyboard.press("Enter")
    wait_until(lambda: page.locator("#chat-log .quick-reply").count() > 0, 60,
               "a bot message with buttons (jackets, then a like/dislike question)")
    before = len(bot_texts(page))
    button = page.locator("#chat-log .quick-reply").last
    title, payload = button.inner_text(), button.get_attribute("data-payload")
    button.click()
    wait_until(lambda: len(bot_texts(page)) > before, 60, f"a reply to the button {title!r}")
    user_texts = page.locator("#chat-log .msg-user .msg-text").all_inner_texts()
    assert user_texts[-1] == title, "the clicked button's title was not shown as the shopper's message"
    shop["button"] = (title, payload)
    # Still usable after use: the old buttons stay enabled.
    assert page.locator("#chat-log .quick-reply").first.is_enabled()
    # Rasa saw the widget's metadata on the shopper's messages, the ids taken from its token.
    events = tracker(shop["stack"], sid)["events"]
    users = [e for e in events if e.get("event") == "user"]
    assert users, "Rasa has no user message for the session id the widget sent"
    sent = {"session_id": sid, "shopper_id": shop["shopper"], "product_id": PRODUCT,
            "token": shop["token"]}
    metadata = users[-1]["metadata"]
    assert {k: metadata.get(k) for k in sent} == sent, f"Rasa got metadata {metadata}"
    page.screenshot(path=str(screenshots / "02-chat-buttons.png"), full_page=True)


def test_camera_feeds_live_mood_into_redis_and_the_bot_reacts(shop, stack_redis: redis.Redis,
                                                              screenshots):
    page, sid = shop["page"], shop["sid"]
    assert page.locator("#camera-toggle").get_attribute("aria-pressed") == "false"
    assert not stack_redis.exists(redis_schema.session_history(sid)), "frames before consent"
    page.locator("#camera-toggle").click()
    wait_until(lambda: page.locator("#camera-state").inner_text() == "on", 20, "the camera to start")
    wait_until(lambda: page.locator("#mood").get_attribute("data-mood") in LABELS, 60,
               "a live mood reading from the sidecar")
    frames = wait_until(lambda: stack_redis.xlen(redis_schema.session_history(sid)) >= 10, 60,
                        "ten emotion states in Redis for the session")
    assert frames
    latest = stack_redis.hgetall(redis_schema.session_emotion(sid))
    assert latest["face_present"] == "1" and latest["dominant"] in LABELS
    page.screenshot(path=str(screenshots / "03-camera-mood.png"), full_page=True)

    before = len(bot_texts(page))
    page.locator("#chat-input").fill("This is terrible, the last pair broke after a week!")
    page.locator("#chat-send").click()
    wait_until(lambda: len(bot_texts(page)) > before, 60, "the bot's reply to the complaint")
    # The bot fused the face with the words: its mood valence is pulled from the words' score
    # towards the face's (the astronaut smiles, the words are negative).
    slots = tracker(shop["stack"], sid)["slots"]
    face_valence = float(stack_redis.hget(redis_schema.session_emotion(sid), "valence"))
    words, fused = float(slots["sentiment_score"]), float(slots["valence"])
    assert words < 0, f"the complaint's words scored {words}, expected negative"
    assert words < fused <= max(face_valence, words) + 0.05, (
        f"fused valence {fused} does not lie between the words ({words}) and the face "
        f"({face_valence}): the camera did not reach the bot")
    shop["complaint_reply"] = bot_texts(page)[before:]
    print("complaint reply:", shop["complaint_reply"], "slots:", {k: slots[k] for k in (
        "mood", "valence", "sentiment_score", "dominant_emotion", "sympathy_level")})
    page.screenshot(path=str(screenshots / "04-complaint-reply.png"), full_page=True)

    page.locator("#camera-toggle").click()
    assert page.locator("#camera-state").inner_text() == "off"
    live_tracks = page.evaluate(
        "document.getElementById('camera-video').srcObject === null")
    assert live_tracks, "the camera preview still holds a stream after turning it off"
    n = stack_redis.xlen(redis_schema.session_history(sid))
    time.sleep(1.5)
    assert stack_redis.xlen(redis_schema.session_history(sid)) == n, "frames kept coming after off"


def test_reload_keeps_the_history_and_the_conversation(shop, screenshots):
    page, sid = shop["page"], shop["sid"]
    before = page.locator("#chat-log .msg").all_inner_texts()
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    assert page.evaluate("document.body.dataset.session") == sid, "a reload started a new session"
    assert page.locator("#chat-log .msg").all_inner_texts() == before, "the chat history was lost"
    wait_until(lambda: page.locator("#chat-status").inner_text() == "online", 30,
               "the chat to reconnect after the reload")
    n_bot = len(bot_texts(page))
    page.locator("#chat-input").fill("thanks")
    page.keyboard.press("Enter")
    wait_until(lambda: len(bot_texts(page)) > n_bot, 60, "a reply after the reload")
    # The same Rasa conversation goes on (session_persistence: the sender id is the session id).
    users = [e for e in tracker(shop["stack"], sid)["events"] if e.get("event") == "user"]
    assert len(users) >= 4, f"Rasa's conversation {sid} has only {len(users)} user messages"
    assert users[-1]["text"] == "thanks"
    # A dropped connection (as when Rasa restarts): the widget reconnects and rejoins the room.
    page.evaluate("window.emotical.chat.socket.io.engine.close()")
    wait_until(lambda: page.locator("#chat-status").inner_text() == "online", 30,
               "the chat to reconnect after the connection dropped")
    n_bot = len(bot_texts(page))
    page.locator("#chat-input").fill("hello again")
    page.keyboard.press("Enter")
    wait_until(lambda: len(bot_texts(page)) > n_bot, 60, "a reply after reconnecting")
    page.screenshot(path=str(screenshots / "05-after-reload.png"), full_page=True)


def test_report_shows_both_charts_the_score_and_every_record(shop, stack_redis, screenshots):
    page, sid = shop["page"], shop["sid"]
    # Asked for, the bot tells the score and links the report page.
    page.locator("#chat-input").fill("show me my report")
    page.keyboard.press("Enter")
    link = page.locator(f'#chat-log .msg-bot a[href$="/report/{sid}"]').last
    link.wait_for(timeout=60_000)
    told = re.search(r"score is ([+-]?\d+)", link.locator("xpath=..").inner_text())
    assert told, f"the bot's report message has no score: {link.locator('xpath=..').inner_text()!r}"
    page.screenshot(path=str(screenshots / "06a-report-link.png"), full_page=True)
    link.click()
    page.wait_for_url(f"**/report/{sid}")
    page.wait_for_selector("body[data-loaded=true]")
    frames = stack_redis.xlen(redis_schema.session_history(sid))
    messages = stack_redis.xlen(redis_schema.session_chat(sid))
    assert frames >= 10 and messages >= 3
    # Chart.js drew both charts with the stored points.
    charts = page.evaluate("""() => Object.values(Chart.instances).map(c => ({
        id: c.canvas.id, sets: c.data.datasets.length,
        points: c.data.datasets.reduce((n, d) => n + d.data.length, 0)}))""")
    by_id = {c["id"]: c for c in charts}
    # One line per label the stack's backend (the local model) reads: no `confused`.
    read = list(LocalOnnxBackend.labels)
    assert "confused" not in read and by_id["chart-emotions"]["sets"] == len(read)
    face_rows = sum(1 for _, f in stack_redis.xrange(redis_schema.session_history(sid))
                    if f.get("face_present") == "1")
    assert by_id["chart-emotions"]["points"] == face_rows * len(read)
    assert by_id["chart-valence"]["points"] >= face_rows + messages - 1
    score = page.locator("#score-value").inner_text()
    assert re.fullmatch(r"-?\d{1,3}", score) and -100 <= int(score) <= 100, f"score shown: {score!r}"
    status, _, api = request(f"{shop['url']}/api/sessions/{sid}/report", token=shop["token"])
    assert status == 200, api
    assert int(score) == api["score"]["session"] == int(told.group(1)), (
        f"page {score}, API {api['score']['session']}, bot {told.group(1)}")
    said = len(api["conversation"])
    assert said >= 2 * 4, f"the report shows only {said} lines of the conversation"
    rows = page.locator("#records tbody tr")
    assert rows.count() == frames + messages + said, "the table does not list every stored record"
    # A pressed button shows as what the shopper pressed (its title); the payload Rasa got
    # stays in the JSON download only.
    title, payload = shop["button"]
    lines = page.locator('#records tbody tr[data-kind="conversation"] td:last-child').all_inner_texts()
    assert title in lines, f"the button {title!r} is not in the record table: {lines}"
    assert not [line for line in lines if line.startswith("/")], f"raw payloads in the table: {lines}"
    assert {"who": "user", "text": title, "payload": payload} in [
        {k: r.get(k) for k in ("who", "text", "payload")} for r in api["conversation"]], api["conversation"]
    assert int(page.locator("#record-count").inner_text()) == frames + messages + said
    page.screenshot(path=str(screenshots / "06-report.png"), full_page=True)

    # JSON download: the same report as a file.
    with page.expect_download() as info:
        page.locator("#download-json").click()
    download = info.value
    assert download.suggested_filename == f"emotical-report-{sid}.json"
    saved = json.loads(Path(download.path()).read_text())
    assert len(saved["history"]) == frames and len(saved["chat"]) == messages
    # The shopper's profile (tag weights) is part of the report.
    assert saved["profile"]["shopper_id"] == shop["shopper"]
    assert not page.locator("#profile").is_hidden()
    assert page.locator("#profile-tags tbody tr").count() >= 1
    # A full chat + camera + report walk without a single CSP violation.
    assert shop["csp"] == [], f"CSP violations: {shop['csp']}"
    assert shop["errors"] == [], f"page errors: {shop['errors']}"


def test_delete_leaves_no_key_of_the_session(shop, stack_redis, screenshots):
    page, sid = shop["page"], shop["sid"]
    page.locator("#delete-button").click()
    page.locator("#delete-yes").click()
    result = page.locator("#delete-result")
    result.wait_for(state="visible")
    assert result.get_attribute("data-left") == "0", result.inner_text()
    assert "Nothing is stored" in result.inner_text()
    assert page.locator("#record-count").inner_text() == "0"
    # Only the tombstone (docs/security.md: it stops late writers, and holds no data).
    left = [k for k in stack_redis.scan_iter(match=f"*{sid}*")
            if k != redis_schema.session_tombstone(sid)]
    assert left == [], f"keys of session {sid} still in Redis after delete: {left}"
    # Nor anything in the browser: no id, token or transcript of the session.
    stored = json.dumps(kept(page))
    assert sid not in stored and shop["token"] not in stored, f"the browser still keeps {stored}"
    assert page.evaluate("sessionStorage.length") == 0
    assert page.evaluate("indexedDB.databases().then(d => d.length)") == 0
    assert page.locator("#download-json").is_hidden()
    assert shop["csp"] == [], f"CSP violations: {shop['csp']}"
    page.screenshot(path=str(screenshots / "07-deleted.png"), full_page=True)


def test_phone_sized_screen_and_keyboard_only_chat(stack, browser, screenshots):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                  has_touch=True, device_scale_factor=2)
    page = context.new_page()
    try:
        page.goto(stack.sidecar_url + f"/?product={PRODUCT}&nogreet=1")
        page.wait_for_selector("body[data-ready=true]")
        wait_until(lambda: page.locator("#chat-status").inner_text() == "online", 30,
                   "the chat to connect on the phone")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways on a phone ({width}px wide)"
        # Keyboard only: the first Tab stop is the skip link, which leads to the chat input.
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "skip"
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "chat-input"
        page.keyboard.type("hello")
        page.keyboard.press("Enter")
        wait_until(lambda: bot_texts(page), 60, "a reply to a message typed with the keyboard")
        for selector in ("#chat-input", "#camera-toggle", "#chat-send"):
            name = page.evaluate(
                f"(() => {{ const e = document.querySelector('{selector}'); return e.labels?.[0]?.textContent "
                f"|| e.getAttribute('aria-label') || e.textContent; }})()")
            assert name.strip(), f"{selector} has no accessible name"
        page.screenshot(path=str(screenshots / "08-phone.png"), full_page=True)
        sid = page.evaluate("document.body.dataset.session")
        page.locator("#end-session").click()
        page.wait_for_url(f"**/report/{sid}")
        page.wait_for_selector("body[data-loaded=true]")
        assert page.evaluate("localStorage.getItem('emotical.session')") is None, "session not ended"
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the report scrolls sideways on a phone ({width}px wide)"
        page.screenshot(path=str(screenshots / "08b-phone-report.png"), full_page=True)
    finally:
        context.close()


def test_widget_renders_images_cards_and_custom_payloads(stack, browser, screenshots):
    """Every message shape Rasa's socket.io output sends (and bot.channels' custom payloads)."""
    context = browser.new_context(viewport={"width": 1024, "height": 900})
    page = context.new_page()
    try:
        page.goto(stack.sidecar_url + f"/?product={PRODUCT}&nogreet=1")
        page.wait_for_selector("body[data-ready=true]")
        first_sid = page.evaluate("document.body.dataset.session")
        page.evaluate("""() => {
          const chat = window.emotical.chat;
          chat.receive({attachment: {type: "image", payload: {src: "/api/products/hats-01/image.svg"}}});
          chat.receive({attachment: {type: "template", payload: {template_type: "generic",
            elements: [{id: "bags-01", title: "Leather tote bag", subtitle: "roomy",
                        image_url: "/api/products/bags-01/image.svg",
                        buttons: [{title: "I like it", payload: "/express_like"}]}]}}});
          chat.receive({custom: {products: [{id: "jack-01", name: "Alpine down parka", price: 299,
                                             reason: "you like warm things"}]}});
          chat.receive({custom: {text: "Your report", report_url: "/report/" + document.body.dataset.session}});
        }""")
        log = page.locator("#chat-log")
        assert log.locator("img.msg-image").count() == 1
        cards = log.locator("li.card")
        assert cards.count() == 2
        assert cards.nth(1).locator("h4").inner_text() == "Alpine down parka"
        assert "you like warm things" in cards.nth(1).inner_text()
        assert log.locator("a.report-link").get_attribute("href") == f"/report/{first_sid}"
        page.screenshot(path=str(screenshots / "09-message-shapes.png"), full_page=True)
        # Choosing a card opens that product in a new session.
        cards.nth(1).locator("button.card-open").click()
        wait_until(lambda: page.evaluate("document.body.dataset.session") != first_sid, 10,
                   "a new session for the chosen product")
        assert page.locator("#product-name").inner_text() == "Alpine down parka"
    finally:
        context.close()


def test_pages_send_the_csp_and_security_headers(stack):
    rasa_ws = "ws" + stack.rasa_url[len("http"):]
    csp = (f"default-src 'self'; script-src 'self'; connect-src 'self' {stack.rasa_url} {rasa_ws}; "
           "img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self'; "
           "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
    status, _, minted = request(stack.sidecar_url + "/api/sessions", "POST", body={})
    assert status == 201, minted
    for path in ("/", f"/report/{minted['session_id']}"):
        status, headers, _ = request(stack.sidecar_url + path)
        assert status == 200, path
        assert headers["Content-Security-Policy"] == csp, (path, headers["Content-Security-Policy"])
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert headers["Referrer-Policy"] == "no-referrer", path
    # The pages hold no inline script or style the CSP would refuse.
    for page in ("index.html", "report.html"):
        html = (Path(__file__).resolve().parents[3] / "vision_sidecar" / "static" / page).read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), f"inline script in {page}"
        assert not re.search(r"<style|\sstyle=|\son[a-z]+=", html), f"inline style or handler in {page}"


UNSAFE = ["javascript:alert(1)", " JaVaScRiPt:alert(2)", "data:text/html,<script>alert(3)</script>",
          "vbscript:msgbox(4)"]


def test_only_web_links_are_rendered_also_after_reload(stack, browser, screenshots):
    """Bot messages go through the widget's own render path (`chat.receive`, which also stores
    them in the transcript), and one more is seeded into the stored transcript directly; after
    a reload all are replayed from localStorage."""
    context = browser.new_context(viewport={"width": 1024, "height": 900})
    csp = watch_csp(context)
    page = context.new_page()
    try:
        sid = open_product(page, stack.sidecar_url + f"/?product={PRODUCT}&nogreet=1")
        page.evaluate("""(unsafe) => {
          const chat = window.emotical.chat;
          unsafe.forEach((url, i) => {
            chat.receive({custom: {text: `report ${i}`, report_url: url}});
            chat.receive({text: `buttons ${i}`, quick_replies: [{title: `Evil ${i}`, url}]});
            chat.receive({attachment: {type: "template", payload: {template_type: "generic",
              elements: [{id: "bags-01", title: `Card ${i}`, buttons: [{type: "web_url", title: `Go ${i}`, url}]}]}}});
          });
          chat.receive({custom: {text: "fine", report_url: "https://example.com/r",
                                 buttons: [{title: "Site", url: "/report/" + document.body.dataset.session}]}});
        }""", UNSAFE)
        page.evaluate("""([sid, url]) => {
          const key = `emotical.chat.${sid}`;
          const history = JSON.parse(localStorage.getItem(key));
          history.push({who: "bot", at: Date.now(), message: {custom: {text: "seeded", report_url: url}}});
          localStorage.setItem(key, JSON.stringify(history));
        }""", [sid, "javascript:alert('seeded')"])

        def check(replayed: bool) -> None:
            hrefs = page.evaluate("[...document.querySelectorAll('#chat-log a')].map(a => a.href)")
            assert all(h.startswith(("http://", "https://")) for h in hrefs), hrefs
            assert sorted(hrefs) == sorted(["https://example.com/r",
                                            f"{stack.sidecar_url}/report/{sid}"]), hrefs
            shown = page.locator("#chat-log .unsafe-link").all_inner_texts()
            assert len(shown) == 3 * len(UNSAFE) + replayed, shown
            for url in UNSAFE:
                assert sum(url.strip() in text for text in shown) == 3, (url, shown)

        check(replayed=False)
        page.reload()
        page.wait_for_selector("body[data-ready=true]")
        assert page.evaluate("document.body.dataset.session") == sid
        check(replayed=True)
        assert "javascript:alert('seeded')" in page.locator("#chat-log .unsafe-link").last.inner_text()
        assert csp == [], f"CSP violations: {csp}"
        page.screenshot(path=str(screenshots / "10-unsafe-links.png"), full_page=True)
    finally:
        context.close()


def test_report_opens_only_in_the_browser_that_made_the_session(stack, browser, screenshots):
    status, _, minted = request(stack.sidecar_url + "/api/sessions", "POST", body={})
    assert status == 201, minted
    sid = minted["session_id"]
    context = browser.new_context(viewport={"width": 1024, "height": 900})
    page = context.new_page()
    data_requests: list = []
    page.on("response", lambda r: "/api/sessions" in r.url and data_requests.append((r.url, r.status)))
    try:
        page.goto(f"{stack.sidecar_url}/report/{sid}")
        page.wait_for_selector("body[data-access=none]")
        assert page.locator("#report-status").inner_text() == NO_TOKEN
        assert page.locator("#delete-button").is_hidden()
        assert page.locator("#download-json").is_hidden()
        assert page.locator("#record-count").inner_text() == "0"
        assert not [r for r in data_requests if 200 <= r[1] < 300], data_requests
        page.screenshot(path=str(screenshots / "11-report-no-token.png"), full_page=True)
        # Nor does the link open the data for anyone else who asks without the token.
        status, _, body = request(f"{stack.sidecar_url}/api/sessions/{sid}/report")
        assert status == 401, body
    finally:
        context.close()


def test_delete_everything_clears_the_shopper_in_the_browser(stack, browser):
    context = browser.new_context(viewport={"width": 1024, "height": 900})
    page = context.new_page()
    try:
        sid = open_product(page, stack.sidecar_url + f"/?product={PRODUCT}&nogreet=1")
        token = kept(page)["emotical.sessions"][sid]["session_token"]
        page.locator("#end-session").click()
        page.wait_for_url(f"**/report/{sid}")
        page.wait_for_selector("body[data-loaded=true]")
        page.locator("#delete-all-button").click()
        page.locator("#delete-all-yes").click()
        result = page.locator("#delete-result")
        result.wait_for(state="visible")
        assert result.get_attribute("data-left") == "0", result.inner_text()
        assert kept(page) == {}, f"the browser still keeps {kept(page)}"
        status, _, body = request(f"{stack.sidecar_url}/api/sessions/{sid}/report", token=token)
        assert status == 410, body
    finally:
        context.close()


def test_widget_says_the_assistant_is_unavailable_while_rasa_is_down(stack, browser, screenshots):
    """Rasa's process is stopped (by its PID, as Stack stops it) mid-conversation and started
    again: the widget shows the aria-live notice, then recovers on its own."""
    rasa = next((s for s in stack.services if s.name == "rasa"), None)
    if rasa is None:
        pytest.skip("the stack was started elsewhere: its Rasa cannot be restarted from here")
    context = browser.new_context(viewport={"width": 1024, "height": 900})
    page = context.new_page()
    notice = page.locator("#chat-unavailable")
    try:
        open_product(page, stack.sidecar_url + f"/?product={PRODUCT}&nogreet=1")
        assert notice.is_hidden()
        assert notice.get_attribute("role") == "status"
        rasa.stop()
        notice.wait_for(state="visible", timeout=20_000)
        assert notice.inner_text() == "The assistant is unavailable, retrying…"
        page.locator("#chat-input").fill("hello")
        page.keyboard.press("Enter")
        page.screenshot(path=str(screenshots / "12-rasa-down.png"), full_page=True)
    finally:
        if rasa.proc is None or rasa.proc.poll() is not None:
            rasa.start()
            rasa.wait_healthy(300)
    try:
        notice.wait_for(state="hidden", timeout=60_000)
        wait_until(lambda: page.locator("#chat-status").inner_text() == "online", 30,
                   "the chat to come back online")
        # The message typed while Rasa was down was queued and gets its answer now.
        wait_until(lambda: bot_texts(page), 90, "a reply after Rasa came back")
        page.screenshot(path=str(screenshots / "13-rasa-back.png"), full_page=True)
    finally:
        context.close()
