// The shop page: product list, one session per product view, chat widget and camera.
import { el, getJSON, newId, store, formatPrice } from "./util.js";
import { ChatWidget } from "./chat.js";
import { Camera } from "./camera.js";

const SHOPPER_KEY = "emotical.shopper";
const SESSION_KEY = "emotical.session";

const state = { config: null, products: [], category: "featured", session: null, chat: null, camera: null };

function shopperId() {
  let id = store.get(SHOPPER_KEY);
  if (!id || !/^[A-Za-z0-9_.:-]{1,128}$/.test(id)) {
    id = newId("u-");
    store.set(SHOPPER_KEY, id);
  }
  return id;
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
        type: "button", class: "open-product", "aria-label": `View ${product.name}`,
        onclick: () => openProduct(product.id),
      }, "View product"),
    ));
  }
  document.getElementById("catalog-status").textContent =
    `${shown.length} of ${state.products.length} products${["all", "featured"].includes(state.category) ? "" : ` in ${state.category}`}`;
}

function renderProduct(product) {
  const media = document.getElementById("product-media");
  media.replaceChildren(product.video
    ? el("video", { src: product.video, poster: product.image, controls: true, muted: true, loop: true, playsinline: true, "aria-label": `Video of ${product.name}` })
    : el("img", { src: product.image, alt: `Picture of ${product.name}` }));
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
function openProduct(productId, { resume = false, focus = true } = {}) {
  const product = productById(productId);
  if (!product) return;
  let session = state.session;
  if (!resume || !session || session.product_id !== productId) {
    session = { session_id: newId("s-"), product_id: productId, started: Date.now() };
    store.set(SESSION_KEY, session);
  }
  state.session = session;
  renderProduct(product);
  document.getElementById("session-id").textContent = session.session_id;
  document.body.dataset.session = session.session_id;
  showView(true);
  state.camera.setSession(session.session_id);
  state.chat.open(session.session_id);
  if (focus && !resume) document.getElementById("product-name").focus();
}

function closeProduct() {
  state.camera.stop();
  state.chat.close();
  state.session = null;
  store.set(SESSION_KEY, null);
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
  document.getElementById("shopper-id").textContent = shopperId();
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
  const context = () => ({
    session_id: state.session && state.session.session_id,
    shopper_id: shopperId(),
    product_id: state.session && state.session.product_id,
  });
  const params = new URLSearchParams(location.search);
  state.chat = new ChatWidget({
    rasaUrl: state.config.rasa_url,
    socketPath: state.config.socket_path,
    context,
    onOpenProduct: (id) => openProduct(id),
    initPayload: params.has("nogreet") ? null : "/greet",
  });
  state.camera = new Camera({ maxFps: state.config.max_fps || 10 });
  document.getElementById("back-button").addEventListener("click", closeProduct);
  document.querySelector(".skip").addEventListener("click", (event) => {
    const input = document.getElementById("chat-input");
    if (input.offsetParent === null) return; // no product open: the link scrolls as usual
    event.preventDefault();
    input.focus();
  });
  document.getElementById("end-session").addEventListener("click", endSession);

  // Resume the session of the last product view (history across reloads), or ?product=ID.
  const saved = store.get(SESSION_KEY);
  const wanted = params.get("product");
  if (saved && productById(saved.product_id) && (!wanted || wanted === saved.product_id)) {
    state.session = saved;
    openProduct(saved.product_id, { resume: true });
  } else if (wanted && productById(wanted)) {
    openProduct(wanted, { focus: false });
  }
  document.body.dataset.ready = "true";
  window.emotical = state; // for the browser tests and for curious developers
}

main();
