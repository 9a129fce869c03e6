// The end-of-session report: score, two Chart.js charts, every stored record, the shopper's
// profile, delete and download.
//
// `/report/{sid}` is an empty shell: its data comes from `/api/sessions/{sid}/report` with the
// session token this browser keeps for that session (util.js KEYS). Without one nothing is
// fetched: the link alone is not a capability.
import {
  el, EMOJI, authorized, errorMessage, storedSession, storedShopper, forgetSession, forgetEverything,
} from "./util.js";
import { deleteRecordings, recordings } from "./replay.js";

const PAGE_ROWS = 2000;
const NO_TOKEN = "This report can only be opened in the browser that made the session.";

const COLORS = {
  happy: "#2e9e5b", sad: "#3b6fd1", angry: "#d13b3b", surprised: "#e0a200",
  fearful: "#8e44ad", disgusted: "#6b8e23", confused: "#e67e22", calm: "#16a3b8",
};

function sessionIdFromUrl() {
  const fromPath = location.pathname.match(/^\/report\/([^/]+)$/);
  if (fromPath) return decodeURIComponent(fromPath[1]);
  return new URLSearchParams(location.search).get("session");
}

const sid = sessionIdFromUrl();
const charts = {};
let videoTimeline = null; // the video-time timeline of the report (not a Chart.js chart)

function clock(ts) {
  return new Date(ts * 1000).toLocaleTimeString();
}

function renderScore(score) {
  const value = document.getElementById("score-value");
  value.textContent = score.session === null ? "–" : String(score.session);
  value.dataset.sign = score.session === null || score.session === 0 ? "none"
    : score.session > 0 ? "positive" : "negative";
  const parts = [];
  parts.push(score.face === null ? "face: no readings" : `face ${score.face} (${score.face_frames} frames)`);
  parts.push(score.chat === null ? "chat: no messages" : `chat ${score.chat} (${score.chat_messages} messages)`);
  document.getElementById("score-parts").textContent = parts.join(" · ");
}

function chartOptions(yTitle, yMin, yMax) {
  return {
    responsive: true, maintainAspectRatio: false, animation: false, parsing: false,
    interaction: { mode: "nearest", intersect: false },
    scales: {
      x: { type: "linear", title: { display: true, text: "seconds into the session" } },
      y: { min: yMin, max: yMax, title: { display: true, text: yTitle } },
    },
    plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
  };
}

function drawCharts(report) {
  const frames = report.history.filter((row) => row.face_present);
  const chat = report.chat.filter((row) => row.score !== null);
  const t0 = Math.min(...[...report.history, ...report.chat].map((r) => r.ts), Date.now() / 1000);
  const emotionSets = report.labels.map((label) => ({
    label: `${EMOJI[label] || ""} ${label}`,
    data: frames.map((row) => ({ x: +(row.ts - t0).toFixed(2), y: row.probs[label] || 0 })),
    borderColor: COLORS[label], backgroundColor: COLORS[label], pointRadius: 0, borderWidth: 2, tension: 0.2,
  }));
  const valenceSets = [
    {
      label: "face", data: frames.filter((r) => r.valence !== null).map((r) => ({ x: +(r.ts - t0).toFixed(2), y: Math.round(r.valence * 100) })),
      borderColor: "#3559d6", backgroundColor: "#3559d6", pointRadius: 0, borderWidth: 2, tension: 0.2,
    },
    {
      label: "chat", data: chat.map((r) => ({ x: +(r.ts - t0).toFixed(2), y: Math.round(r.score * 100) })),
      borderColor: "#e67e22", backgroundColor: "#e67e22", pointRadius: 5, showLine: true, borderDash: [6, 4],
    },
  ];
  for (const chart of Object.values(charts)) chart.destroy();
  charts.emotions = new Chart(document.getElementById("chart-emotions"), {
    type: "line", data: { datasets: emotionSets }, options: chartOptions("probability", 0, 1),
  });
  charts.valence = new Chart(document.getElementById("chart-valence"), {
    type: "line", data: { datasets: valenceSets }, options: chartOptions("positivity (−100..100)", -100, 100),
  });
  const means = report.labels.map((label) => [label, frames.length ? frames.reduce((s, r) => s + (r.probs[label] || 0), 0) / frames.length : 0]);
  means.sort((a, b) => b[1] - a[1]);
  const table = " Every reading is listed in the table “Stored records” below.";
  document.getElementById("chart-emotions-summary").textContent = (frames.length
    ? `Over ${frames.length} camera readings the strongest emotions were ${means.slice(0, 3).map(([l, v]) => `${l} ${Math.round(v * 100)}%`).join(", ")}.`
    : "No camera readings were stored for this session.") + table;
  document.getElementById("chart-valence-summary").textContent =
    `Face score ${report.score.face ?? "none"}, chat score ${report.score.chat ?? "none"}, over ${frames.length} readings and ${chat.length} messages.${table}`;
  document.getElementById("chart-emotions").dataset.points = String(frames.length);
  document.getElementById("chart-valence").dataset.points = String(valenceSets[0].data.length + valenceSets[1].data.length);
}

/** The video-time timeline: chapter bands, face positivity of the frames filed under the video,
 * and a cursor at the video's current time; clicking the timeline seeks the video (one cursor
 * for both). */
class VideoTimeline {
  constructor(report) {
    this.video = document.getElementById("report-video");
    this.canvas = document.getElementById("video-timeline");
    this.chapters = report.video.chapters;
    this.replay = null;
    this.setReadings(report);
    this.duration = Math.max(1, ...this.chapters.map((c) => c.end), ...this.points.map((p) => p.t));
    this.canvas.addEventListener("click", (event) => {
      const rect = this.canvas.getBoundingClientRect();
      this.seek(((event.clientX - rect.left) / rect.width) * this.duration);
    });
    this.video.addEventListener("timeupdate", () => this.draw());
    this.video.addEventListener("seeked", () => this.draw());
    this.video.addEventListener("loadedmetadata", () => {
      if (Number.isFinite(this.video.duration) && this.video.duration > 0) this.duration = this.video.duration;
      this.draw();
    });
    this.draw();
  }

  /** The readings filed under the video (again after a delete: then none). */
  setReadings(report) {
    const onVideo = report.history.filter((r) => r.video_t !== undefined && r.video_t !== null);
    this.framesAt = onVideo.map((r) => ({ ts: r.ts, t: r.video_t })).sort((a, b) => a.ts - b.ts);
    this.points = onVideo.filter((r) => r.playing && r.face_present && r.valence !== null)
      .map((r) => ({ t: r.video_t, v: r.valence }));
    this.canvas.dataset.points = String(this.points.length);
  }

  /** Move the product video (and the replay, to the moment the shopper saw `t`) to video time `t`. */
  seek(t) {
    this.video.currentTime = Math.max(0, Math.min(t, this.duration));
    if (this.replay && this.framesAt.length) {
      const at = this.framesAt.find((f) => f.t >= t) || this.framesAt[this.framesAt.length - 1];
      this.replayTo = Math.max(0, at.ts - this.replay.startedAt);
      this.replay.video.currentTime = this.replayTo;
    }
    this.draw();
  }

  /** The shopper's own recording beside the timeline: seeking it moves the video's cursor. */
  attachReplay(video, startedAt) {
    this.replay = { video, startedAt };
    const follow = () => {
      if (this.replayTo !== undefined && Math.abs(video.currentTime - this.replayTo) < 0.3) {
        this.replayTo = undefined; // our own seek
        return;
      }
      const wall = startedAt + video.currentTime;
      let best = null;
      for (const f of this.framesAt) if (!best || Math.abs(f.ts - wall) < Math.abs(best.ts - wall)) best = f;
      if (best) {
        this.video.currentTime = Math.min(best.t, this.duration);
        this.draw();
      }
    };
    video.addEventListener("seeked", follow);
    video.addEventListener("timeupdate", () => { if (!video.paused) follow(); });
  }

  x(t) { return (t / this.duration) * this.canvas.width; }

  y(v) { return this.canvas.height / 2 - v * (this.canvas.height / 2 - 14); }

  draw() {
    const ctx = this.canvas.getContext("2d");
    const { width, height } = this.canvas;
    ctx.clearRect(0, 0, width, height);
    ctx.font = "11px system-ui, sans-serif";
    this.chapters.forEach((c, i) => {
      ctx.fillStyle = i % 2 ? "#e3e8f8" : "#eef7ee";
      ctx.fillRect(this.x(c.start), 0, this.x(c.end) - this.x(c.start), height);
      ctx.fillStyle = "#1d2230";
      ctx.fillText(c.caption, this.x(c.start) + 3, 12, this.x(c.end) - this.x(c.start) - 6);
    });
    ctx.strokeStyle = "#9aa0b3";
    ctx.beginPath(); ctx.moveTo(0, this.y(0)); ctx.lineTo(width, this.y(0)); ctx.stroke();
    ctx.fillStyle = "#3559d6";
    for (const p of this.points) ctx.fillRect(this.x(p.t) - 1.5, this.y(p.v) - 1.5, 3, 3);
    const t = this.video.currentTime || 0;
    ctx.strokeStyle = "#c0392b";
    ctx.lineWidth = 2;
    ctx.beginPath(); ctx.moveTo(this.x(t), 0); ctx.lineTo(this.x(t), height); ctx.stroke();
    ctx.lineWidth = 1;
    this.canvas.dataset.cursor = t.toFixed(2);
  }
}

/** The shopper's recording from IndexedDB (the latest camera segment), played from a blob: URL. */
async function showReplay(timeline) {
  const segments = await recordings(sid);
  const last = segments.filter((s) => s.chunks && s.chunks.length).pop();
  const box = document.getElementById("replay-box");
  if (!last) {
    box.hidden = true;
    return;
  }
  const video = document.getElementById("replay-video");
  video.src = URL.createObjectURL(new Blob(last.chunks, { type: last.mime }));
  video.dataset.bytes = String(last.chunks.reduce((n, c) => n + c.size, 0));
  box.hidden = false;
  timeline.attachReplay(video, last.started_at);
}

function clearReplay() {
  const video = document.getElementById("replay-video");
  if (video.src) URL.revokeObjectURL(video.src);
  video.removeAttribute("src");
  video.load();
  document.getElementById("replay-box").hidden = true;
}

function renderVideo(report) {
  const section = document.getElementById("video-section");
  if (!report.video || !report.video.chapters.length) {
    section.hidden = true;
    return;
  }
  section.hidden = false;
  const video = document.getElementById("report-video");
  if (report.video.url && video.getAttribute("src") !== report.video.url) {
    video.src = report.video.url;
    video.replaceChildren(el("track", { kind: "captions", src: `/api/products/${encodeURIComponent(report.video.product_id)}/captions.vtt`, srclang: "en", label: "Chapters" }));
  }
  if (!videoTimeline) {
    videoTimeline = new VideoTimeline(report);
    showReplay(videoTimeline);
  } else {
    videoTimeline.setReadings(report);
    videoTimeline.draw();
  }
  const body = document.querySelector("#chapters-table tbody");
  body.replaceChildren(...report.video.chapters.map((c) => el("tr", { dataset: { chapter: String(c.index) } },
    el("td", {}, el("button", { type: "button", class: "link-button", onclick: () => videoTimeline.seek(c.start) },
      `${c.caption} (${c.start}–${c.end} s)`), ` · ${c.tags.join(", ")}`),
    el("td", {}, String(c.frames)),
    el("td", {}, c.frames ? `${Math.round(c.face_share * 100)}%` : "–"),
    el("td", {}, c.mean_valence === null ? "no face seen"
      : `${c.reaction} (${c.dominant || "–"}, positivity ${Math.round(c.mean_valence * 100)})`),
    el("td", {}, c.tag_step === null ? "not yet" : c.tag_step === 0 ? "none"
      : `${c.tags.join(", ")} ${c.tag_step > 0 ? "+" : ""}${c.tag_step.toFixed(3)}`))));
  const watched = report.video.chapters.filter((c) => c.frames);
  document.getElementById("video-timeline-summary").textContent =
    `${watched.length} of ${report.video.chapters.length} chapters watched with the camera on; each dot is a camera reading at its moment in the video (higher is more positive). Click the timeline to move the video there.`;
}

/** What the shopper said or pressed: a button's title (the report's `text`; its payload stays
 * in the JSON download). A bare payload from before titles were kept, or the page's own greeting,
 * is named as such instead of shown raw. */
function said(row) {
  const text = String(row.text || "");
  if (row.payload || !text.startsWith("/")) return text;
  const intent = text.slice(1).split(/[{@]/)[0].replace(/_/g, " ");
  return text === "/greet" ? "(opened the chat)" : `(pressed a button: ${intent})`;
}

function renderTable(report) {
  const rows = [
    ...report.history.map((r) => ({ ts: r.ts, source: "camera", reading: !r.face_present ? "no face"
      : r.uncertain ? "face, mood not clear" : r.dominant || "",
      valence: r.valence, details: report.labels.map((l) => `${l} ${(r.probs[l] || 0).toFixed(2)}`).join(", "), kind: "history" })),
    ...report.chat.map((r) => ({ ts: r.ts, source: "message mood", reading: r.label || "", valence: r.score,
      details: r.intent ? `intent ${r.intent}` : "", kind: "chat" })),
    ...(report.conversation || []).map((r) => ({ ts: r.ts, source: r.who === "user" ? "you said" : "assistant said",
      reading: "", valence: null, details: r.who === "user" ? said(r) : r.text, kind: "conversation" })),
  ].sort((a, b) => a.ts - b.ts);
  const body = document.querySelector("#records tbody");
  body.replaceChildren(...rows.map((r) => el("tr", { dataset: { kind: r.kind } },
    el("td", {}, clock(r.ts)), el("td", {}, r.source), el("td", {}, r.reading),
    el("td", {}, r.valence === null || r.valence === undefined ? "" : String(Math.round(r.valence * 100))),
    el("td", {}, r.details))));
  if (!rows.length) body.append(el("tr", {}, el("td", { colspan: 5 }, "No records are stored for this session.")));
  document.getElementById("record-count").textContent = String(rows.length);
  const keys = report.keys.map((k) => `${k.key} (${k.type})`);
  document.getElementById("keys-line").textContent = keys.length ? `Stored under: ${keys.join(", ")}` : "Nothing is stored under this session's keys.";
}

function renderProfile(profile) {
  const section = document.getElementById("profile");
  section.hidden = !profile;
  if (!profile) return;
  const tags = Object.entries(profile.tags || {}).sort((a, b) => b[1] - a[1]);
  const counts = profile.tag_counts || {};
  document.getElementById("profile-summary").textContent =
    `Shopper ${profile.shopper_id}: ${tags.length} tag weights, ${(profile.seen_products || []).length} products shown, `
    + `${(profile.sessions || []).length} sessions.`;
  const body = document.querySelector("#profile-tags tbody");
  body.replaceChildren(...tags.map(([tag, weight]) => el("tr", { dataset: { tag } },
    el("td", {}, tag), el("td", {}, Number(weight).toFixed(2)), el("td", {}, String(counts[tag] ?? "")))));
  if (!tags.length) body.append(el("tr", {}, el("td", { colspan: 3 }, "Nothing learned about your tastes yet.")));
}

const EMPTY = { history: [], chat: [], conversation: [], keys: [], profile: null,
  score: { session: null, face: null, chat: null } };

/** Show `report` (everything empty after a delete). */
function show(report) {
  document.getElementById("report-product").textContent =
    report.meta && report.meta.product_id ? ` · product ${report.meta.product_id}` : "";
  report.labels = report.labels || Object.keys(COLORS);
  renderScore(report.score);
  drawCharts(report);
  renderVideo(report);
  renderTable(report);
  renderProfile(report.profile);
}

let downloadUrl = null;

function offerDownload(report) {
  const link = document.getElementById("download-json");
  if (downloadUrl) URL.revokeObjectURL(downloadUrl);
  downloadUrl = report ? URL.createObjectURL(new Blob([JSON.stringify(report, null, 1)], { type: "application/json" })) : null;
  link.hidden = !downloadUrl;
  if (downloadUrl) {
    link.href = downloadUrl;
    link.download = `emotical-report-${sid}.json`;
  } else {
    link.removeAttribute("href");
  }
}

/** Every page of the report (`?after=&limit=`), the history joined; `{error, status}` on failure. */
async function fetchReport(token) {
  const url = `/api/sessions/${encodeURIComponent(sid)}/report`;
  let report = null;
  let after = null;
  do {
    const query = new URLSearchParams({ limit: String(PAGE_ROWS) });
    if (after) query.set("after", after);
    const { response, body } = await authorized(`${url}?${query}`, token);
    if (!response.ok || !body) return { status: response.status, error: errorMessage(response, body) };
    if (report) report.history.push(...body.history);
    else report = body;
    after = body.page && body.page.next;
  } while (after);
  report.page = { after: null, limit: report.history.length, next: null, total: report.history.length };
  return { report };
}

async function load() {
  const status = document.getElementById("report-status");
  if (!sid) {
    status.textContent = "No session given: open this page from the shop.";
    return null;
  }
  document.getElementById("report-session").textContent = sid;
  const session = storedSession(sid);
  if (!session) {
    status.textContent = NO_TOKEN;
    document.body.dataset.access = "none";
    return null;
  }
  let result;
  try {
    result = await fetchReport(session.session_token);
  } catch (err) {
    status.textContent = `The report could not load: ${err.message}`;
    return null;
  }
  if (!result.report) {
    if (result.status === 410) {
      forgetSession(sid);
      clearReplay();
      await deleteRecordings(sid);
      status.textContent = "This session was deleted: nothing is stored for it any more.";
    } else if (result.status === 401 || result.status === 403) {
      status.textContent = `${NO_TOKEN} (This browser's key to it is no longer valid: ${result.error}.)`;
    } else {
      status.textContent = `The report could not load: ${result.error}`;
    }
    return null;
  }
  const report = result.report;
  show(report);
  offerDownload(report);
  document.getElementById("delete-button").hidden = false;
  document.getElementById("delete-all-button").hidden = false;
  const said = (report.conversation || []).length;
  const n = (count, what) => `${count} ${what}${count === 1 ? "" : "s"}`;
  status.textContent = `${n(report.history.length, "camera reading")}, ${n(report.chat.length, "message mood")} and ${n(said, "chat line")} stored.`;
  document.body.dataset.loaded = "true";
  return report;
}

/** After a delete: nothing on the page, no download, no delete buttons. */
function showNothing(text) {
  show({ ...EMPTY });
  offerDownload(null);
  document.getElementById("report-status").textContent = text;
  document.getElementById("delete-button").hidden = true;
  document.getElementById("delete-all-button").hidden = true;
}

function showResult(text, left) {
  const result = document.getElementById("delete-result");
  result.textContent = text;
  if (left !== undefined) result.dataset.left = String(left);
  result.hidden = false;
  result.focus();
}

async function deleteAll() {
  document.getElementById("delete-confirm").hidden = true;
  const session = storedSession(sid);
  if (!session) return showResult(NO_TOKEN);
  const url = `/api/sessions/${encodeURIComponent(sid)}`;
  try {
    const { response, body } = await authorized(url, session.session_token, { method: "DELETE" });
    if (!response.ok) throw new Error(errorMessage(response, body));
    // Check: the server now answers 410 (deleted) for the report.
    const check = await authorized(`${url}/report`, session.session_token);
    forgetSession(sid);
    clearReplay();
    await deleteRecordings(sid); // done before the result is shown
    showNothing("Deleted.");
    if (check.response.status === 410) showResult("Deleted. Nothing is stored for this session any more, here or on the server.", 0);
    else showResult(`Deleted, but the server still answers ${check.response.status} for the report; reload to check.`, -1);
  } catch (err) {
    showResult(`Deleting failed: ${err.message}. Nothing was changed; try again.`);
  }
}

async function deleteEverything() {
  document.getElementById("delete-all-confirm").hidden = true;
  const shopper = storedShopper();
  const session = storedSession(sid);
  const token = (shopper && shopper.shopper_token) || (session && session.session_token);
  if (!token) return showResult(NO_TOKEN);
  try {
    const { response, body } = await authorized("/api/shoppers/me", token, { method: "DELETE" });
    if (!response.ok) throw new Error(errorMessage(response, body));
    forgetEverything();
    clearReplay();
    await deleteRecordings(null);
    const n = Array.isArray(body && body.sessions) ? body.sessions.length : 0;
    showNothing("Deleted everything.");
    showResult(`Deleted your profile and ${n} session${n === 1 ? "" : "s"}, on the server and in this browser.`, 0);
  } catch (err) {
    showResult(`Deleting failed: ${err.message}. Nothing was changed; try again.`);
  }
}

/** A button that asks first: `<prefix>-button` opens `<prefix>-confirm`, whose yes runs `action`. */
function confirmed(prefix, action) {
  const button = document.getElementById(`${prefix}-button`);
  const confirm = document.getElementById(`${prefix}-confirm`);
  button.addEventListener("click", () => {
    confirm.hidden = false;
    document.getElementById(`${prefix}-yes`).focus();
  });
  document.getElementById(`${prefix}-no`).addEventListener("click", () => {
    confirm.hidden = true;
    button.focus();
  });
  document.getElementById(`${prefix}-yes`).addEventListener("click", action);
}

confirmed("delete", deleteAll);
confirmed("delete-all", deleteEverything);
load();
