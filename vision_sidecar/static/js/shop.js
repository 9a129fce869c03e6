// The shop page: product list, one session per product view, chat widget and camera.
//
// Sessions come from the sidecar (`POST /api/sessions`), never from the browser: its answer
// {session_id, shopper_id, session_token, shopper_token, expires_at} is kept in localStorage
// (see util.js KEYS for exactly what), the stored shopper token is sent along so a returning
// shopper keeps their profile.
import {
  el, getJSON, store, formatPrice, KEYS, storedShopper, storedSession, keepSession, errorMessage,
} from "./util.js";
import { ChatWidget } from "./chat.js";
import { Camera } from "./camera.js";

const state = { config: null, products: [], category: "featured", session: null, chat: null, camera: null };
let opening = null; // the product view being opened (a click while one opens replaces it)

function showSessionNotice(text) {
  const notice = document.getElementById("session-notice");
  notice.textContent = text;
  notice.hidden = !text;
}

function showShopper() {
  const shopper = storedShopper();
  document.getElementById("shopper-id").textContent = shopper ? shopper.shopper_id : "none yet";
}

/**
 * A new session from the sidecar for `productId`: with the stored shopper token (a 401 drops
 * it and starts a fresh shopper), waiting out 429s (`Retry-After`) with a visible notice.
 */
async function mintSession(productId, ticket) {
  for (;;) {
    const shopper = storedShopper();
    const body = { product_id: productId };
    if (shopper) body.shopper_token = shopper.shopper_token;
    let response;
    let answer = null;
    try {
      response = await fetch("/api/sessions", {
        method: "POST", headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(body),
      });
      answer = await response.json().catch(() => null);
    } catch (err) {
      response = null;
    }
    if (ticket !== opening) return null;
    if (response && response.status === 201 && answer && answer.session_token) {
      showSessionNotice("");
      const session = keepSession(answer, productId);
      showShopper();
      return session;
    }
    if (response && response.status === 401 && shopper) {
      store.set(KEYS.shopper, null); // not ours any more (expired, or signed with an old secret)
      continue;
    }
    const retryS = response && response.status === 429
      ? Math.max(1, Math.ceil(Number(response.headers.get("Retry-After")) || 5)) : 5;
    showSessionNotice(response && response.status === 429
      ? `Too many new sessions were started from this address. Trying again in ${retryS} s…`
      : `The shop could not start a session (${response ? errorMessage(response, answer) : "the server did not answer"}). Trying again in ${retryS} s…`);
    await new Promise((resolve) => setTimeout(resolve, retryS * 1000));
    if (ticket !== opening) return null;
  }
}

function productById(id) {
  return state.products.find((p) => p.id === id) || null;
}

function renderFilters() {
  const box = document.getElementById("category-filter");
  const categories = [...new Set(state.products.map((p) => p.category).filter(Boolean))].sort();
  box.replaceChildren(...["featured", ...categories, "all"].map((category) => el("button", {
    type: "button", class: "filter", "aria-pressed": String(category === state.category),
    onclick: () => { state.category = category; renderFilters(); renderCatalog(); },
  }, category)));
}

function renderCatalog() {
  const list = document.getElementById("product-list");
  list.replaceChildren();
  const firsts = new Set();
  const featured = (p) => !firsts.has(p.category) && firsts.add(p.category);
  const shown = state.products.filter((p) => state.category === "all" || p.category === state.category
    || (state.category === "featured" && featured(p)));
  for (const product of shown) {
    list.append(el("li", { class: "product-card", dataset: { productId: product.id } },
      el("img", { src: product.image, alt: "" }),
      el("h3", {}, product.name),
      el("p", { class: "price" }, formatPrice(product)),
      el("p", { class: "blurb" }, product.description),
      el("button", {
        type: "button", class: "open-product", "aria-label": `View product: ${product.name}`,
        onclick: () => openProduct(product.id),
      }, "View product"),
    ));
  }
  document.getElementById("catalog-status").textContent =
    `${shown.length} of ${state.products.length} products${["all", "featured"].includes(state.category) ? "" : ` in ${state.category}`}`;
}

/** The product's video with its chapter markers and captions, or its picture. */
function productMedia(product) {
  if (!product.video) return [el("img", { src: product.image, alt: `Picture of ${product.name}` })];
  const video = el("video", {
    id: "product-video", src: product.video, poster: product.image, controls: true, muted: true,
    playsinline: true, preload: "auto", "aria-label": `Video of ${product.name}`,
  }, product.captions
    ? el("track", { kind: "captions", src: product.captions, srclang: "en", label: "Chapters", default: true })
    : null);
  const chapters = product.chapters || [];
  const bar = el("ol", { class: "chapter-bar", id: "chapter-bar", "aria-label": "Chapters of the video" });
  const marks = chapters.map((c, i) => {
    const button = el("button", {
      type: "button", class: "chapter-mark", dataset: { index: String(c.index) },
      "aria-label": `Chapter ${i + 1}: ${c.caption}, from ${c.start} s`,
      onclick: () => { video.currentTime = c.start; video.play().catch(() => {}); },
    }, c.caption);
    const item = el("li", { class: "chapter" }, button);
    const place = () => { // percentages of the video's length (CSSOM: allowed by the CSP)
      const total = Number.isFinite(video.duration) && video.duration > 0 ? video.duration
        : Math.max(...chapters.map((x) => x.end));
      item.style.left = `${(100 * c.start) / total}%`;
      item.style.width = `${(100 * (c.end - c.start)) / total}%`;
    };
    place();
    video.addEventListener("loadedmetadata", place);
    return { c, button, item };
  });
  bar.append(...marks.map((m) => m.item));
  video.addEventListener("timeupdate", () => {
    for (const { c, button } of marks) {
      const on = video.currentTime >= c.start && video.currentTime < c.end;
      if (on) button.setAttribute("aria-current", "true");
      else button.removeAttribute("aria-current");
    }
  });
  return [video, bar];
}

/** The product video's state for the frame being captured, or null without a video. */
export function videoState() {
  const video = document.getElementById("product-video");
  if (!video) return null;
  return { t: Math.round(video.currentTime * 1000) / 1000, playing: !video.paused && !video.ended, ended: video.ended };
}

function renderProduct(product) {
  const media = document.getElementById("product-media");
  media.replaceChildren(...productMedia(product));
  document.getElementById("product-name").textContent = product.name;
  document.getElementById("product-price").textContent = formatPrice(product);
  document.getElementById("product-description").textContent = product.description;
  document.getElementById("product-tags").textContent = product.tags.length ? `Tags: ${product.tags.join(", ")}` : "";
}

function showView(productOpen) {
  document.getElementById("catalog").hidden = productOpen;
  document.getElementById("product-view").hidden = !productOpen;
}

/** Open a product: a new session unless this product's session is the current one. */
async function openProduct(productId, { resume = false, focus = true } = {}) {
  const product = productById(productId);
  if (!product) return;
  const ticket = Symbol(productId);
  opening = ticket;
  let session = state.session;
  if (!resume || !session || session.product_id !== productId) {
    state.camera.stop();
    state.chat.close();
    session = await mintSession(productId, ticket);
    if (!session) return; // another product was chosen meanwhile
  }
  startSession(session, product, { focus: focus && !resume });
}

function startSession(session, product, { focus = false } = {}) {
  state.session = session;
  store.set(KEYS.current, { session_id: session.session_id, product_id: session.product_id });
  renderProduct(product);
  document.getElementById("session-id").textContent = session.session_id;
  document.body.dataset.session = session.session_id;
  showView(true);
  state.camera.setSession(session);
  state.chat.open(session);
  if (focus) document.getElementById("product-name").focus();
}

/**
 * The token of the current session was refused (expired, or the secret rotated twice): get a
 * new session for the same product, once. Resolves to false when that failed too.
 */
function renewSession() {
  const old = state.session;
  if (!old || old.renewed) return Promise.resolve(false);
  if (!state.renewing) {
    state.renewing = (async () => {
      const ticket = Symbol("renew");
      opening = ticket;
      const session = await mintSession(old.product_id, ticket);
      const product = session && productById(session.product_id);
      if (!product) return false;
      session.renewed = true;
      startSession(session, product);
      return true;
    })().finally(() => { state.renewing = null; });
  }
  return state.renewing;
}

function closeProduct() {
  opening = null;
  state.camera.stop();
  state.chat.close();
  state.session = null;
  store.set(KEYS.current, null);
  delete document.body.dataset.session;
  showView(false);
}

function endSession() {
  const session = state.session;
  if (!session) return;
  closeProduct();
  window.location.assign(`/report/${encodeURIComponent(session.session_id)}`);
}

async function main() {
  showShopper();
  try {
    state.config = await getJSON("/api/config");
    const { products } = await getJSON("/api/products");
    state.products = products;
  } catch (err) {
    document.getElementById("catalog-status").textContent = `The shop could not load: ${err.message}`;
    return;
  }
  renderFilters();
  renderCatalog();
  const context = () => ({ product_id: state.session && state.session.product_id });
  const params = new URLSearchParams(location.search);
  state.chat = new ChatWidget({
    rasaUrl: state.config.rasa_url,
    socketPath: state.config.socket_path,
    context,
    onOpenProduct: (id) => openProduct(id),
    onRefused: renewSession,
    initPayload: params.has("nogreet") ? null : "/greet",
  });
  state.camera = new Camera({ config: state.config, onUnauthorized: renewSession, videoState });
  document.getElementById("back-button").addEventListener("click", closeProduct);
  document.querySelector(".skip").addEventListener("click", (event) => {
    const input = document.getElementById("chat-input");
    if (input.offsetParent === null) return; // no product open: the link scrolls as usual
    event.preventDefault();
    input.focus();
  });
  document.getElementById("end-session").addEventListener("click", endSession);

  // Resume the session of the last product view (history across reloads), or ?product=ID.
  const current = store.get(KEYS.current);
  const saved = current && storedSession(current.session_id);
  const wanted = params.get("product");
  if (saved && productById(saved.product_id) && (!wanted || wanted === saved.product_id)) {
    state.session = saved;
    await openProduct(saved.product_id, { resume: true });
  } else {
    store.set(KEYS.current, null);
    if (wanted && productById(wanted)) await openProduct(wanted, { focus: false });
  }
  document.body.dataset.ready = "true";
  window.emotical = state; // for the browser tests and for curious developers
}

main();
