// The end-of-session report: score, two Chart.js charts, every stored record, delete and download.
import { el, getJSON, EMOJI } from "./util.js";

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
  document.getElementById("chart-emotions-summary").textContent = frames.length
    ? `Over ${frames.length} camera readings the strongest emotions were ${means.slice(0, 3).map(([l, v]) => `${l} ${Math.round(v * 100)}%`).join(", ")}.`
    : "No camera readings were stored for this session.";
  document.getElementById("chart-valence-summary").textContent =
    `Face score ${report.score.face ?? "none"}, chat score ${report.score.chat ?? "none"}, over ${frames.length} readings and ${chat.length} messages.`;
  document.getElementById("chart-emotions").dataset.points = String(frames.length);
  document.getElementById("chart-valence").dataset.points = String(valenceSets[0].data.length + valenceSets[1].data.length);
}

function renderTable(report) {
  const rows = [
    ...report.history.map((r) => ({ ts: r.ts, source: "camera", reading: r.face_present ? r.dominant || "" : "no face",
      valence: r.valence, details: report.labels.map((l) => `${l} ${(r.probs[l] || 0).toFixed(2)}`).join(", "), kind: "history" })),
    ...report.chat.map((r) => ({ ts: r.ts, source: "message mood", reading: r.label || "", valence: r.score,
      details: r.intent ? `intent ${r.intent}` : "", kind: "chat" })),
    ...(report.conversation || []).map((r) => ({ ts: r.ts, source: r.who === "user" ? "you said" : "assistant said",
      reading: "", valence: null, details: r.text, kind: "conversation" })),
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

async function load() {
  const status = document.getElementById("report-status");
  if (!sid) {
    status.textContent = "No session given: open this page from the shop.";
    return null;
  }
  document.getElementById("report-session").textContent = sid;
  const url = `/api/sessions/${encodeURIComponent(sid)}/report`;
  document.getElementById("download-json").href = `${url}?download=1`;
  let report;
  try {
    report = await getJSON(url);
  } catch (err) {
    status.textContent = `The report could not load: ${err.message}`;
    return null;
  }
  document.getElementById("report-product").textContent =
    report.meta && report.meta.product_id ? ` · product ${report.meta.product_id}` : "";
  renderScore(report.score);
  drawCharts(report);
  renderTable(report);
  const said = (report.conversation || []).length;
  const n = (count, what) => `${count} ${what}${count === 1 ? "" : "s"}`;
  status.textContent = `${n(report.history.length, "camera reading")}, ${n(report.chat.length, "message mood")} and ${n(said, "chat line")} stored.`;
  document.body.dataset.loaded = "true";
  return report;
}

async function deleteAll() {
  document.getElementById("delete-confirm").hidden = true;
  const result = document.getElementById("delete-result");
  try {
    const response = await fetch(`/api/sessions/${encodeURIComponent(sid)}`, { method: "DELETE" });
    if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
  } catch (err) {
    result.textContent = `Deleting failed: ${err.message}. Nothing was changed; try again.`;
    result.hidden = false;
    return;
  }
  const report = await load();
  const left = report ? report.history.length + report.chat.length + (report.conversation || []).length + report.keys.length : -1;
  result.textContent = left === 0 ? "Deleted. Nothing is stored for this session any more."
    : `Deleted, but ${left} records are still listed; reload to check.`;
  result.dataset.left = String(left);
  result.hidden = false;
  document.getElementById("delete-button").focus();
}

document.getElementById("delete-button").addEventListener("click", () => {
  document.getElementById("delete-confirm").hidden = false;
  document.getElementById("delete-yes").focus();
});
document.getElementById("delete-no").addEventListener("click", () => {
  document.getElementById("delete-confirm").hidden = true;
  document.getElementById("delete-button").focus();
});
document.getElementById("delete-yes").addEventListener("click", deleteAll);
load();
