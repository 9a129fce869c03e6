// The end-of-session report: score, two Chart.js charts, every stored record, the shopper's
// profile, delete and download.
//
// `/report/{sid}` is an empty shell: its data comes from `/api/sessions/{sid}/report` with the
// session token this browser keeps for that session (util.js KEYS). Without one nothing is
// fetched: the link alone is not a capability.
import {
  el, EMOJI, authorized, errorMessage, storedSession, storedShopper, forgetSession, forgetEverything,
} from "./util.js";

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
    ...report.history.map((r) => ({ ts: r.ts, source: "camera", reading: r.face_present ? r.dominant || "" : "no face",
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
