"""Accessibility of the shop page and the report (WCAG 2.1 A/AA, the European Accessibility Act's
bar), in headless Chromium against the whole running stack.

axe-core (pinned in web/package.json, copied to var/vendor/axe.min.js by
scripts/setup.d/50-browser.sh, never served to shoppers) checks every state a shopper sees, at
desktop and phone size: the shop, a product view with the chat open and the camera on (fake
camera) with its consent text and mood indicator, the report with its charts, both delete
confirmations and the delete result. Any WCAG 2.1 A/AA violation fails, printing the rule, its
impact, the nodes and axe's help.

How axe gets in: `page.evaluate(<axe.min.js source>)`. Playwright evaluates through the DevTools
protocol (`Runtime.evaluate`), which the page's CSP does not govern, so the pages keep
`script-src 'self'` exactly as shoppers get it (the test checks that no CSP violation happened).
`page.add_script_tag` would insert a <script> the CSP refuses, and a `bypass_csp=True` context
would test pages under a policy shoppers never get.

What axe cannot judge is checked by hand below: the keyboard's focus order through product →
chat → camera → report, the skip link, focus after the delete confirmation, and what the live
regions announce (bot replies, mood changes, only when the mood changes).
"""

from __future__ import annotations

import itertools
from typing import Any, Dict, Iterator, List

import pytest

from emotical_shared.labels import LABELS
from stack.redis_server import ROOT
from tests.vision.browser.conftest import watch_csp
from tests.vision.browser.test_shop_browser import PRODUCT, bot_texts, open_product, wait_until

pytestmark = pytest.mark.timeout(600)

AXE = ROOT / "var" / "vendor" / "axe.min.js"
#: axe-core's tags of the WCAG 2.0 and 2.1 success criteria at levels A and AA.
WCAG21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
VIEWPORTS = {
    "desktop": {"viewport": {"width": 1280, "height": 900}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
              "device_scale_factor": 2},
}


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.exists():
        pytest.fail(f"{AXE} missing: run `make setup` (scripts/setup.d/50-browser.sh copies axe-core there)")
    return AXE.read_text()


def axe_run(page: Any, source: str) -> List[Dict[str, Any]]:
    """axe-core's WCAG 2.1 A/AA violations of the page as it is now."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(source)
        assert page.evaluate("typeof window.axe === 'object'"), "axe-core did not load"
    return page.evaluate("""(tags) => axe.run(document, {
        runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]}).then(r => r.violations.map(v => ({
          id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
          nodes: v.nodes.map(n => ({target: n.target.join(" "), html: n.html.slice(0, 160),
                                    summary: n.failureSummary}))})))""", WCAG21_AA)


def describe(found: Dict[str, List[Dict[str, Any]]]) -> str:
    lines = []
    for state, violations in found.items():
        for v in violations:
            lines.append(f"[{state}] {v['id']} ({v['impact']}, {len(v['nodes'])} nodes): {v['help']} "
                         f"<{v['helpUrl']}>")
            for node in v["nodes"]:
                lines.append(f"    {node['target']}: {node['html']}")
                lines.append("      " + (node["summary"] or "").replace("\n", "\n      "))
    return "\n".join(lines)


def counts(found: Dict[str, List[Dict[str, Any]]]) -> str:
    return "\n".join(
        f"{state}: " + (", ".join(f"{v['id']} {v['impact']} x{len(v['nodes'])}" for v in vs) or "clean")
        for state, vs in found.items())


@pytest.fixture(params=list(VIEWPORTS))
def viewport(request: pytest.FixtureRequest, browser: Any) -> Iterator[Dict[str, Any]]:
    context = browser.new_context(**VIEWPORTS[request.param])
    csp = watch_csp(context)
    page = context.new_page()
    yield {"name": request.param, "page": page, "csp": csp}
    context.close()


def test_axe_finds_no_wcag21_aa_violation(stack, viewport, axe_source, screenshots):
    page, name = viewport["page"], viewport["name"]
    found: Dict[str, List[Dict[str, Any]]] = {}

    def check(state: str) -> None:
        found[state] = axe_run(page, axe_source)
        page.screenshot(path=str(screenshots / f"a11y-{name}-{state}.png"), full_page=True)

    page.goto(stack.sidecar_url + "/")
    page.wait_for_selector("body[data-ready=true]")
    check("shop")

    page.locator(f'.product-card[data-product-id="{PRODUCT}"] button.open-product').click()
    page.wait_for_selector("body[data-session]")
    wait_until(lambda: bot_texts(page), 60, "the bot's greeting")
    # Every message shape the widget draws: buttons, product cards, an image, a report link.
    page.evaluate("""() => {
      const chat = window.emotical.chat;
      chat.receive({text: "Do you like it?", quick_replies: [
        {title: "I like it", payload: "/express_like"}, {title: "Not for me", payload: "/express_dislike"}]});
      chat.receive({custom: {products: [{id: "jack-01", name: "Alpine down parka", price: 249,
                                         reason: "you like warm things"}]}});
      chat.receive({attachment: {type: "image", payload: {src: "/api/products/hats-01/image.svg"}}});
      chat.receive({custom: {text: "Your report", report_url: "/report/" + document.body.dataset.session}});
    }""")
    check("product-chat")

    page.locator("#camera-toggle").click()
    wait_until(lambda: page.locator("#mood").get_attribute("data-mood") in LABELS, 60,
               "a live mood reading from the sidecar")
    check("product-camera-mood")
    page.locator("#camera-toggle").click()

    page.locator("#end-session").click()
    page.wait_for_selector("body[data-loaded=true]")
    check("report")
    page.locator("#delete-button").click()
    check("report-delete-confirm")
    page.locator("#delete-no").click()
    page.locator("#delete-all-button").click()
    check("report-delete-all-confirm")
    page.locator("#delete-all-no").click()
    page.locator("#delete-button").click()
    page.locator("#delete-yes").click()
    page.locator("#delete-result").wait_for(state="visible")
    check("report-deleted")

    print(f"\naxe-core WCAG 2.1 A/AA violations, {name}:\n{counts(found)}")
    assert not any(found.values()), f"axe-core ({name}):\n{describe(found)}"
    assert viewport["csp"] == [], f"CSP violations: {viewport['csp']}"


# What axe cannot judge, checked by hand.

def focus_stop(page: Any) -> str:
    """The focused element as `#id`, else `tag.class`."""
    return page.evaluate("""() => { const e = document.activeElement;
        return e.id ? '#' + e.id : e.tagName.toLowerCase() + '.' + (e.className || ''); }""")


def tab_through(page: Any, until: str, limit: int = 60) -> List[str]:
    stops = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        stops.append(focus_stop(page))
        if stops[-1] == until:
            return stops
    pytest.fail(f"Tab never reached {until}: {stops}")


def test_keyboard_focus_order_product_chat_camera_report(stack, browser, screenshots):
    """Tab walks the product view in reading order (product → chat → camera → end session),
    Enter on "End session" opens the report, whose buttons and confirmations work by keyboard
    and put the focus where the shopper expects it."""
    context = browser.new_context(**VIEWPORTS["desktop"])
    page = context.new_page()
    try:
        sid = open_product(page, stack.sidecar_url + f"/?product={PRODUCT}&nogreet=1")
        page.evaluate("""() => window.emotical.chat.receive({text: "Do you like it?", quick_replies: [
            {title: "I like it", payload: "/express_like"}]})""")
        page.locator("#back-button").focus()
        stops = ["#back-button", *tab_through(page, "#end-session")]
        order = ["#back-button", "#chat-log", "button.quick-reply", "#chat-input", "#chat-send",
                 "#camera-toggle", "#end-session"]
        assert [s for s in stops if s in order] == order, f"focus order: {stops}"
        page.keyboard.press("Enter")
        page.wait_for_url(f"**/report/{sid}")
        page.wait_for_selector("body[data-loaded=true]")
        stops = tab_through(page, "#delete-all-button")
        assert [s for s in stops if s.startswith("#")][-3:] == [
            "#download-json", "#delete-button", "#delete-all-button"], stops
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Enter")
        assert focus_stop(page) == "#delete-yes", "the confirmation did not take the focus"
        page.keyboard.press("Tab")
        assert focus_stop(page) == "#delete-no"
        page.keyboard.press("Enter")
        assert page.locator("#delete-confirm").is_hidden()
        assert focus_stop(page) == "#delete-button", "Cancel did not give the focus back"
        page.keyboard.press("Enter")
        page.keyboard.press("Enter")  # "Yes, delete"
        page.locator("#delete-result").wait_for(state="visible")
        assert focus_stop(page) == "#delete-result", "the delete result was not focused (read out)"
    finally:
        context.close()


#: Records what enters the chat log and the mood announcer, as a screen reader would hear it.
LIVE_RECORDER = """() => {
  window.__heard = {log: [], mood: []};
  new MutationObserver((changes) => { for (const c of changes) for (const n of c.addedNodes)
    window.__heard.log.push(n.textContent); }).observe(document.getElementById("chat-log"), {childList: true});
  new MutationObserver(() => window.__heard.mood.push(document.getElementById("mood-sr").textContent))
    .observe(document.getElementById("mood-sr"), {childList: true, characterData: true, subtree: true});
}"""


def test_live_regions_announce_bot_replies_and_mood_changes(stack, browser):
    context = browser.new_context(**VIEWPORTS["desktop"])
    page = context.new_page()
    try:
        open_product(page, stack.sidecar_url + f"/?product={PRODUCT}&nogreet=1")
        log = page.locator("#chat-log")
        assert (log.get_attribute("role"), log.get_attribute("aria-live")) == ("log", "polite")
        assert log.get_attribute("aria-relevant") == "additions"
        page.evaluate(LIVE_RECORDER)
        page.locator("#chat-input").fill("hello")
        page.keyboard.press("Enter")
        assert page.locator("#typing-sr").inner_text() == "The assistant is typing"
        wait_until(lambda: bot_texts(page), 60, "the bot's reply")
        heard = page.evaluate("window.__heard.log")
        assert heard[0] == "You: hello", heard
        assert any(h.startswith("Assistant: ") and len(h) > len("Assistant: ") for h in heard[1:]), heard
        assert page.locator("#typing-sr").inner_text() == "", "'typing' still announced after the reply"

        # The mood: announced (politely) when it changes, not at every reading.
        mood_sr = page.locator("#mood-sr")
        assert (mood_sr.get_attribute("role"), mood_sr.get_attribute("aria-live")) == ("status", "polite")
        assert page.locator("#mood").get_attribute("aria-live") is None, "the mood indicator churns"
        page.locator("#camera-toggle").click()
        wait_until(lambda: page.evaluate("window.emotical.camera.replies") >= 15, 60,
                   "fifteen mood readings")
        mood = page.locator("#mood").get_attribute("data-mood")
        said = page.evaluate("window.__heard.mood")
        assert said and said[-1] == f"The assistant reads your mood as {mood}.", said
        assert all(a != b for a, b in itertools.pairwise(said)), f"the same mood announced twice: {said}"
        assert len(said) < page.evaluate("window.emotical.camera.replies"), said
        page.locator("#camera-toggle").click()
        assert mood_sr.inner_text() == ""
    finally:
        context.close()
