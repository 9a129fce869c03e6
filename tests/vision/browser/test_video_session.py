"""A product video session in headless Chromium against the whole stack: the video plays with
its chapters and captions, frames carry its time into Redis, a watched chapter moves its tags,
the preview's overlay shows the face box, and the shopper's own recording stays in IndexedDB,
plays in the report and never leaves the browser; delete empties it."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List

import psutil
import pytest
import redis
import yaml

from emotical_shared import redis_schema
from emotical_shared.labels import LABELS
from stack.redis_server import ROOT
from tests.vision.browser.conftest import watch_csp
from tests.vision.browser.test_shop_browser import bot_texts, wait_until

pytestmark = pytest.mark.timeout(600)

PRODUCT = "shoe-01"  # chapters: red+mesh 0-3 s, sporty+lightweight 3-6 s, breathable 6-9 s
WEBM_MAGIC = bytes.fromhex("1A45DFA3")

RECORDINGS_JS = """async () => {
  if (!(await indexedDB.databases()).some((d) => d.name === "emotical")) return [];
  return await new Promise((resolve, reject) => {
  const open = indexedDB.open("emotical", 1);
  open.onupgradeneeded = () => open.result.createObjectStore("recordings",
      {keyPath: ["session_id", "segment", "n"]}).createIndex("session", "session_id");
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const tx = open.result.transaction("recordings", "readonly");
    const all = tx.objectStore("recordings").getAll();
    all.onsuccess = () => {
      const by = {};
      for (const r of all.result) {
        const s = by[r.session_id + "/" + r.segment] ||= {session_id: r.session_id, chunks: 0,
                                                         bytes: 0, mime: r.mime};
        s.chunks += 1; s.bytes += r.blob.size;
      }
      resolve(Object.values(by)); open.result.close();
    };
  };
  });
}"""


#: Records what the page hands to every way out (WebSocket.send, fetch, XHR, sendBeacon): the
#: kind, the size and the first 4 bytes in hex (Chromium's network log shows no payload for a
#: Blob sent over a WebSocket, so the log alone could not prove the recording stays here).
OUTBOX_JS = """
(() => {
  const out = window.__emoticalSent = [];
  const note = (kind, data) => {
    const row = {kind, size: 0, head: ""};
    out.push(row);
    const hex = (buf) => Array.from(new Uint8Array(buf)).map((b) => b.toString(16).padStart(2, "0")).join("");
    if (data instanceof Blob) { row.size = data.size; data.slice(0, 4).arrayBuffer().then((b) => { row.head = hex(b); }); }
    else if (data instanceof ArrayBuffer) { row.size = data.byteLength; row.head = hex(data.slice(0, 4)); }
    else if (ArrayBuffer.isView(data)) { row.size = data.byteLength; row.head = hex(data.buffer.slice(data.byteOffset, data.byteOffset + 4)); }
    else if (typeof data === "string") { row.size = data.length; row.head = "text"; }
    else if (data instanceof FormData) { for (const v of data.values()) note(kind + ":form", v); }
  };
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) { note("ws", data); return send.call(this, data); };
  const xsend = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.send = function (body) { if (body != null) note("xhr", body); return xsend.call(this, body); };
  const f = window.fetch;
  window.fetch = function (input, init) { if (init && init.body != null) note("fetch", init.body); return f.apply(this, arguments); };
  if (navigator.sendBeacon) { const b = navigator.sendBeacon.bind(navigator); navigator.sendBeacon = (u, d) => { note("beacon", d); return b(u, d); }; }
})();
"""


def _chromium_cpu_s() -> float:
    """CPU seconds used so far by the Chromium processes this test process started."""
    total = 0.0
    for child in psutil.Process(os.getpid()).children(recursive=True):
        try:
            if "chrom" in child.name():
                times = child.cpu_times()
                total += times.user + times.system
        except psutil.Error:
            continue
    return total


@pytest.fixture(scope="module")
def walk(stack: Any, browser: Any) -> Iterator[Dict[str, Any]]:
    """One shopper watching one product video, with every request and socket message logged."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    csp = watch_csp(context)
    context.add_init_script(OUTBOX_JS)
    page = context.new_page()
    sent: List[Dict[str, Any]] = []
    page.on("request", lambda r: sent.append({"url": r.url, "method": r.method,
                                              "body": r.post_data_buffer or b""}))

    def socket(ws: Any) -> None:
        ws.on("framesent", lambda payload: sent.append({"url": ws.url, "method": "WS",
                                                        "body": payload if isinstance(payload, bytes)
                                                        else str(payload).encode()}))

    page.on("websocket", socket)
    errors: List[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    state = {"page": page, "sent": sent, "errors": errors, "csp": csp, "url": stack.sidecar_url}
    yield state
    context.close()


def test_the_video_plays_with_chapters_and_frames_carry_its_time(walk, stack_redis: redis.Redis,
                                                                  screenshots: Path):
    page = walk["page"]
    page.goto(f"{walk['url']}/?product={PRODUCT}&nogreet=1")
    page.wait_for_selector("body[data-session]")
    sid = page.evaluate("document.body.dataset.session")
    walk["sid"] = sid
    walk["shopper"] = stack_redis.hget(redis_schema.session_meta(sid), "shopper_id")
    assert page.get_attribute("#product-video", "src") == f"/api/products/{PRODUCT}/video"
    assert page.locator("#chapter-bar .chapter-mark").all_inner_texts() == [
        "Red and mesh", "Sporty and lightweight", "Breathable"]
    wait_until(lambda: page.evaluate("document.getElementById('product-video').readyState") >= 2,
               30, "the product video to load")
    duration = page.evaluate("document.getElementById('product-video').duration")
    assert abs(duration - 9.0) < 0.2, duration
    cues = wait_until(lambda: page.evaluate("""() => { const t = document.querySelector(
        '#product-video track').track; t.mode = 'hidden'; return t.cues && t.cues.length; }"""),
                      20, "the WebVTT captions")
    assert cues == 3

    page.locator("#camera-toggle").click()
    wait_until(lambda: page.locator("#camera-state").inner_text() == "on", 20, "the camera")
    wait_until(lambda: page.locator("#mood").get_attribute("data-mood") in LABELS, 60,
               "a mood reading")
    walk["cpu_start"] = (_chromium_cpu_s(), time.monotonic())
    page.evaluate("document.getElementById('product-video').play()")

    def played() -> list:
        rows = [f for _, f in stack_redis.xrange(redis_schema.session_history(sid))
                if f.get("playing") == "1"]
        return rows if len(rows) >= 8 else []

    rows = wait_until(played, 60, "history entries of frames sent while the video played")
    times = [float(r["video_t"]) for r in rows]
    assert times == sorted(times) and times[0] >= 0 and times[-1] <= 9.0, times
    assert {r.get("chapter") for r in rows} <= {"0", "1", "2"}
    assert "video_t" not in stack_redis.hgetall(redis_schema.session_emotion(sid))
    page.screenshot(path=str(screenshots / "20-product-video-chapters.png"), full_page=True)


def test_a_watched_chapter_moves_its_tags_and_leaves_the_others(walk,
                                                               stack_redis: redis.Redis):
    sid, uid = walk["sid"], walk["shopper"]
    key = redis_schema.session_chapters(sid)
    wait_until(lambda: stack_redis.hexists(key, "0:learned"), 30,
               "chapter 1 to end and teach its tags")
    counts = stack_redis.hgetall(key)
    tags = {t: float(w) for t, w in stack_redis.hgetall(redis_schema.shopper_tags(uid)).items()}
    print("chapter counts:", counts, "tags:", tags)
    assert int(counts["0:face"]) >= 3, counts
    step = float(counts["0:learned"])
    assert step > 0, f"the smiling astronaut taught nothing: {counts}"
    assert tags["red"] == pytest.approx(step, abs=1e-5) and tags["mesh"] == pytest.approx(step, abs=1e-5)
    assert "breathable" not in tags, "the last chapter taught before it ended"


def test_the_bot_asks_about_the_chapter_the_shopper_smiled_at(walk, stack_redis: redis.Redis,
                                                               screenshots: Path):
    """After the smiled-at chapter taught its tags (the test above), a browse message gets the
    chapter question from domain.yml (`utter_ask_chapter_liked`), filled with its caption."""
    page, sid = walk["page"], walk["sid"]
    steps = {k: v for k, v in stack_redis.hgetall(redis_schema.session_chapters(sid)).items()
             if k.endswith(":learned")}
    clear = {int(k.split(":")[0]) for k, v in steps.items() if float(v) != 0.0}
    assert 0 in clear, steps
    captions = ["Red and mesh", "Sporty and lightweight", "Breathable"]
    domain = yaml.safe_load((ROOT / "domain.yml").read_text())
    template = domain["responses"]["utter_ask_chapter_liked"][0]["text"]
    wait_until(lambda: page.locator("#chat-status").inner_text() == "online", 30,
               "the chat to connect to Rasa")
    page.locator("#chat-input").fill("show me some shoes")
    page.keyboard.press("Enter")
    asked = [template.replace("{chapter}", captions[i]) for i in sorted(clear)]
    found = wait_until(lambda: [t for t in bot_texts(page) if t in asked], 90,
                       f"the bot to ask about a chapter ({asked})")
    print("chapter steps:", steps, "bot asked:", found)
    assert len(found) == 1, "one chapter question per turn"
    page.screenshot(path=str(screenshots / "23-bot-asks-about-a-chapter.png"), full_page=True)


def test_the_preview_overlay_shows_the_face_box_and_label(walk, screenshots: Path):
    page = walk["page"]
    face = wait_until(lambda: page.get_attribute("#camera-overlay", "data-face") not in
                      (None, "none") and page.get_attribute("#camera-overlay", "data-face"),
                      30, "a face box on the overlay")
    box = json.loads(face)
    label, _, pct = box["label"].partition(" ")
    assert label in LABELS and pct.endswith("%"), box
    pixels = page.evaluate("""(b) => {
      const c = document.getElementById('camera-overlay'), g = c.getContext('2d');
      const at = (x, y) => Array.from(g.getImageData(Math.round(x), Math.round(y), 1, 1).data);
      return {w: c.width, h: c.height, edge: at(b.x, b.y + b.h / 2),
              inside: at(b.x + b.w / 2, b.y + b.h / 2), corner: at(c.width - 1, c.height - 1),
              video: [document.getElementById('camera-video').clientWidth,
                      document.getElementById('camera-video').clientHeight]};
    }""", box)
    assert [pixels["w"], pixels["h"]] == pixels["video"], pixels
    r, g, b, a = pixels["edge"]
    assert a > 200 and g > 150 and r < 100 and b < 200, pixels  # the green stroke
    assert pixels["inside"][3] == 0 and pixels["corner"][3] == 0, pixels  # nothing else drawn
    assert box["x"] >= 0 and box["x"] + box["w"] <= pixels["w"] + 1
    page.locator("#camera").screenshot(path=str(screenshots / "21-preview-box.png"))


def test_the_replay_stays_in_the_browser_plays_in_the_report_and_delete_empties_it(
        walk, stack_redis: redis.Redis, screenshots: Path):
    page, sid = walk["page"], walk["sid"]
    cpu0, t0 = walk["cpu_start"]
    time.sleep(max(0.0, 10 - (time.monotonic() - t0)))
    cpu1, t1 = _chromium_cpu_s(), time.monotonic()
    print(f"chromium CPU while recording and streaming: {100 * (cpu1 - cpu0) / (t1 - t0):.0f}% "
          f"of one core over {t1 - t0:.1f} s")
    page.locator("#camera-toggle").click()  # stops the recorder: its last chunk is stored
    rows = wait_until(lambda: [r for r in page.evaluate(RECORDINGS_JS) if r["bytes"] > 10_000],
                      20, "the recording in IndexedDB")
    assert [r["session_id"] for r in rows] == [sid] and rows[0]["mime"].startswith("video/webm")
    print("recording in IndexedDB:", rows)
    uploads = [(s["method"], s["url"], len(s["body"])) for s in walk["sent"]
               if WEBM_MAGIC in s["body"] or len(s["body"]) > 200_000]
    assert uploads == [], f"the recording left the browser: {uploads}"
    outbox = page.evaluate("window.__emoticalSent")
    assert [o for o in outbox if o["head"] == WEBM_MAGIC.hex() or o["size"] > 200_000] == []
    jpegs = [o for o in outbox if o["kind"] == "ws" and o["head"].startswith("ffd8ff")]
    assert len(jpegs) >= 10, outbox[:20]  # the camera frames did go, as JPEG (the hook works)
    print(f"handed to the network: {len(outbox)} messages, {len(jpegs)} JPEG frames, largest "
          f"{max(o['size'] for o in outbox)} bytes; recording {rows[0]['bytes']} bytes")

    page.goto(f"{walk['url']}/report/{sid}")
    wait_until(lambda: page.is_visible("#replay-box"), 30, "the replay in the report")
    wait_until(lambda: page.evaluate("document.getElementById('replay-video').readyState") >= 2,
               20, "the replay to load")
    page.evaluate("document.getElementById('replay-video').play()")
    wait_until(lambda: page.evaluate("document.getElementById('replay-video').currentTime") > 0.5,
               20, "the replay to play")
    rows = page.locator("#chapters-table tbody tr")
    assert rows.count() == 3
    assert int(rows.nth(0).locator("td").nth(1).inner_text()) > 0
    assert "+" in rows.nth(0).locator("td").nth(4).inner_text()  # red, mesh moved up
    page.evaluate("document.getElementById('replay-video').pause()")
    box = page.locator("#video-timeline").bounding_box()
    before = page.evaluate("document.getElementById('replay-video').currentTime")
    page.mouse.click(box["x"] + box["width"] * 0.1, box["y"] + box["height"] / 2)
    moved = wait_until(lambda: abs(page.evaluate("document.getElementById('report-video')"
                                                 ".currentTime") - 0.9) < 0.3, 10,
                       "the product video to follow the timeline")
    assert moved
    wait_until(lambda: abs(page.evaluate("document.getElementById('replay-video').currentTime")
                           - before) > 0.2, 10, "the replay to follow the timeline")
    page.screenshot(path=str(screenshots / "22-report-replay-chapters.png"), full_page=True)

    assert [o for o in page.evaluate("window.__emoticalSent")
            if o["head"] == WEBM_MAGIC.hex() or o["size"] > 100_000] == []  # nor the report page
    page.locator("#delete-button").click()
    page.locator("#delete-yes").click()
    wait_until(lambda: page.is_visible("#delete-result"), 20, "the delete result")
    wait_until(lambda: page.evaluate("indexedDB.databases().then(d => d.length)") == 0, 10,
               "IndexedDB to be empty (its database deleted)")
    assert page.is_hidden("#replay-box")
    assert not stack_redis.exists(redis_schema.session_chapters(sid))
    assert walk["errors"] == [] and walk["csp"] == [], (walk["errors"], walk["csp"])
