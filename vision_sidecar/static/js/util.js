// Small helpers shared by the shop page and the report page.
import { deleteRecordings } from "./replay.js";

/** Create an element with attributes and children (strings become text nodes, never HTML). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/**
 * The URL to put in an href, or null when it is not a web address: only http(s) URLs and paths
 * of this site (they resolve against this origin) pass; `javascript:`, `data:`, `blob:` and
 * anything unparsable do not. The check parses as the browser will (`new URL(href, origin)`)
 * and the parsed form is what goes into the page, so no parser difference slips through.
 */
export function safeHref(href) {
  if (typeof href !== "string" || !href.trim()) return null;
  let url;
  try {
    url = new URL(href, location.origin);
  } catch {
    return null;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return null;
  return url.origin === location.origin ? url.pathname + url.search + url.hash : url.href;
}

/** A link to `href` showing `text`; when `href` is not a web address, both as plain text. */
export function linkOrText(href, text, attrs = {}) {
  const safe = safeHref(href);
  if (safe) return el("a", { ...attrs, href: safe }, text);
  const shown = String(href);
  return el("span", { class: "unsafe-link" }, text === href ? shown : `${text} (${shown})`);
}

/** Text with http(s) links and /report/… paths turned into anchors (safe: no innerHTML). */
export function linkify(text) {
  const frag = document.createDocumentFragment();
  const re = /(https?:\/\/[^\s<>"')]+|\/report\/[A-Za-z0-9_.:-]+)/g;
  let last = 0;
  for (const match of text.matchAll(re)) {
    if (match.index > last) frag.append(text.slice(last, match.index));
    frag.append(linkOrText(match[0], match[0], { target: "_self" }));
    last = match.index + match[0].length;
  }
  if (last < text.length) frag.append(text.slice(last));
  return frag;
}

/** localStorage JSON get/set that survive private mode and quota errors. */
export const store = {
  get(key, fallback = null) {
    try {
      const raw = localStorage.getItem(key);
      return raw === null ? fallback : JSON.parse(raw);
    } catch {
      return fallback;
    }
  },
  set(key, value) {
    try {
      if (value === null || value === undefined) localStorage.removeItem(key);
      else localStorage.setItem(key, JSON.stringify(value));
    } catch {
      /* storage full or blocked: the page still works, only without memory */
    }
  },
};

/*
 * What the browser keeps, all in localStorage (so a reload resumes), and nothing else (no
 * cookies, sessionStorage or IndexedDB):
 *   emotical.shopper     {shopper_id, shopper_token}: this browser's shopper, so the next session
 *                        continues their profile
 *   emotical.sessions    {<session_id>: {session_id, shopper_id, session_token, expires_at,
 *                        product_id}}: each session this browser made whose token has not expired
 *                        (the report page reads its data with it; a report link alone opens nothing)
 *   emotical.session     {session_id, product_id}: the product view that is open (resumed on reload)
 *   emotical.chat.<sid>  that session's transcript (the last 200 messages)
 * Deleting a session removes its entries; deleting everything removes every `emotical.` key.
 */
export const KEYS = {
  shopper: "emotical.shopper",
  sessions: "emotical.sessions",
  current: "emotical.session",
  chat: (sid) => `emotical.chat.${sid}`,
};

const ID_RE = /^[A-Za-z0-9_.:-]{1,128}$/;

/** The stored shopper ({shopper_id, shopper_token}) or null (an old bare id counts as none). */
export function storedShopper() {
  const shopper = store.get(KEYS.shopper);
  if (!shopper || typeof shopper !== "object" || typeof shopper.shopper_token !== "string"
      || !ID_RE.test(shopper.shopper_id || "")) return null;
  return shopper;
}

/** Every session this browser holds an unexpired token for, by id (expired ones are dropped). */
export function storedSessions() {
  const all = store.get(KEYS.sessions, {});
  const entries = Object.entries(all && typeof all === "object" ? all : {});
  const now = Date.now() / 1000;
  const live = Object.fromEntries(entries.filter(([sid, s]) => ID_RE.test(sid) && s
    && typeof s.session_token === "string" && !(s.expires_at < now)));
  if (Object.keys(live).length !== entries.length) store.set(KEYS.sessions, live);
  return live;
}

/** The session `sid` as this browser keeps it ({session_id, session_token, …}), or null. */
export function storedSession(sid) {
  return storedSessions()[sid] || null;
}

/** Keep a session the sidecar minted (`POST /api/sessions`'s answer) and its product. */
export function keepSession(minted, productId) {
  const { session_id, shopper_id, session_token, shopper_token, expires_at } = minted;
  const session = { session_id, shopper_id, session_token, expires_at, product_id: productId };
  store.set(KEYS.shopper, { shopper_id, shopper_token });
  store.set(KEYS.sessions, { ...storedSessions(), [session_id]: session });
  return session;
}

/** Remove everything this browser kept about session `sid`: transcript, ids, token. */
export function forgetSession(sid) {
  deleteRecordings(sid); // the shopper's own replay (IndexedDB, js/replay.js)
  const sessions = storedSessions();
  delete sessions[sid];
  store.set(KEYS.sessions, Object.keys(sessions).length ? sessions : null);
  store.set(KEYS.chat(sid), null);
  const current = store.get(KEYS.current);
  if (current && current.session_id === sid) store.set(KEYS.current, null);
  // emotical.shopper stays: it is the profile's, which outlives the session.
}

/** Remove every `emotical.` key: the shopper, every session, every transcript. */
export function forgetEverything() {
  deleteRecordings(null);
  try {
    for (const key of Object.keys(localStorage)) if (key.startsWith("emotical.")) localStorage.removeItem(key);
  } catch {
    /* storage blocked: nothing was kept */
  }
}

/** `fetch` with `Authorization: Bearer <token>`: `{response, body}` (body: parsed JSON or null). */
export async function authorized(url, token, options = {}) {
  const headers = { Accept: "application/json", Authorization: `Bearer ${token}`, ...(options.headers || {}) };
  const response = await fetch(url, { ...options, headers });
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  return { response, body };
}

/** The message of the project's error shape, else the HTTP status line. */
export function errorMessage(response, body) {
  return body && body.error && body.error.message ? body.error.message : `${response.status} ${response.statusText}`;
}

export async function getJSON(url, options = {}) {
  const response = await fetch(url, { headers: { Accept: "application/json" }, ...options });
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) throw new Error(errorMessage(response, body));
  return body;
}

export const EMOJI = {
  happy: "😊", sad: "😢", angry: "😠", surprised: "😮",
  fearful: "😨", disgusted: "😖", confused: "😕", calm: "😌",
};

/** A price in the shopper's own format (`navigator.language`): "€129" in Ireland, "129 €" in
 * Germany; cents only when the price has them. */
export function formatPrice(product) {
  if (product.price === null || product.price === undefined || product.price === "") return "";
  const price = Number(product.price);
  const currency = product.currency || "EUR";
  if (!Number.isFinite(price)) return `${product.price} ${currency}`;
  const whole = Number.isInteger(price);
  try {
    return new Intl.NumberFormat(navigator.language || undefined, {
      style: "currency", currency, minimumFractionDigits: whole ? 0 : 2, maximumFractionDigits: whole ? 0 : 2,
    }).format(price);
  } catch {
    return `${price.toFixed(whole ? 0 : 2)} ${currency}`;
  }
}
