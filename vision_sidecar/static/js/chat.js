// The chat widget: Rasa's socket.io channel, message rendering, history kept in localStorage.
//
// Protocol (Rasa 3.6 socketio channel with session_persistence, see bot/channels.py):
//   client → "session_request" {session_id, token}
//   server → "session_confirm" session_id  |  "session_refused" {error: {code, message}}
//   client → "user_uttered" {message, session_id, customData: {token, product_id}}
//   server → "bot_uttered" {text} | {text, quick_replies} | {attachment} | {custom}
// The channel takes the conversation id and the shopper from the token, never from the ids a
// client sends. Links are rendered only for http(s) URLs and this site's paths (util.safeHref),
// also when replayed from the stored transcript.
import { el, linkify, linkOrText, store, formatPrice, KEYS } from "./util.js";

const HISTORY_LIMIT = 200;
const TYPING_TIMEOUT_MS = 20000;
/** Without an answer this long, the shopper is told the assistant is unavailable. */
const REPLY_TIMEOUT_MS = 15000;
/** A first connection not confirmed in this time counts as unavailable too. */
const CONNECT_TIMEOUT_MS = 8000;
const UNAVAILABLE = "The assistant is unavailable, retrying…";
/** The longest button title kept with a message (vision_sidecar/report.py keeps as much). */
const SHOWN_TEXT_MAX = 200;

export class ChatWidget {
  /**
   * @param {object} opts
   * @param {string} opts.rasaUrl  e.g. http://127.0.0.1:5005
   * @param {string} opts.socketPath  e.g. /socket.io
   * @param {() => {product_id: string}} opts.context  more customData for each message
   * @param {(productId: string) => void} opts.onOpenProduct  called when a product card is chosen
   * @param {() => Promise<boolean>} opts.onRefused  Rasa refused the token: get a new session
   *        (which calls open() again); false when that failed
   * @param {string|null} opts.initPayload  sent once when a session has no history yet
   */
  constructor(opts) {
    this.opts = opts;
    this.log = document.getElementById("chat-log");
    this.form = document.getElementById("chat-form");
    this.input = document.getElementById("chat-input");
    this.status = document.getElementById("chat-status");
    this.typing = document.getElementById("typing");
    this.typingSr = document.getElementById("typing-sr");
    this.unavailable = document.getElementById("chat-unavailable");
    this.socket = null;
    this.sessionId = null;
    this.token = null;
    this.replyTimer = null;
    this.connectTimer = null;
    this.confirmed = false;
    this.queue = [];
    this.typingTimer = null;
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = this.input.value.trim();
      if (!text) return;
      this.input.value = "";
      this.send(text, text);
    });
  }

  historyKey() {
    return KEYS.chat(this.sessionId);
  }

  /** Connect for a session ({session_id, session_token}): restore its history, join its room
   * with the token, greet once if new. */
  open(session) {
    this.close();
    this.sessionId = session.session_id;
    this.token = session.session_token;
    this.log.replaceChildren();
    const history = store.get(this.historyKey(), []);
    for (const entry of history) this.render(entry.who, entry.message, false);
    this.setStatus("connecting…");
    const socket = io(this.opts.rasaUrl, {
      path: this.opts.socketPath,
      transports: ["websocket"],
      reconnection: true,
      reconnectionDelay: 500,
      reconnectionDelayMax: 3000,
    });
    this.socket = socket;
    this.connectTimer = setTimeout(() => this.setAvailable(false), CONNECT_TIMEOUT_MS);
    socket.on("connect", () => {
      this.confirmed = false;
      socket.emit("session_request", { session_id: this.sessionId, token: this.token });
    });
    socket.on("session_refused", (refusal) => this.refused(refusal));
    socket.on("session_confirm", (confirmed) => {
      const id = typeof confirmed === "string" ? confirmed : confirmed && confirmed.session_id;
      if (id && id !== this.sessionId) return;
      this.confirmed = true;
      this.setStatus("online");
      this.setAvailable(true);
      const pending = this.queue.splice(0);
      for (const data of pending) socket.emit("user_uttered", data);
      if (history.length === 0 && this.opts.initPayload && !this.greeted) {
        this.greeted = true;
        this.emit(this.opts.initPayload);
      }
    });
    socket.on("bot_uttered", (message) => this.receive(message));
    socket.on("disconnect", () => {
      this.confirmed = false;
      this.setStatus("reconnecting…");
      this.setAvailable(false);
    });
    socket.on("connect_error", () => {
      this.setStatus("assistant unreachable, retrying…");
      this.setAvailable(false);
    });
  }

  close() {
    if (this.socket) {
      this.socket.removeAllListeners();
      this.socket.disconnect();
    }
    this.socket = null;
    this.confirmed = false;
    this.greeted = false;
    this.queue = [];
    clearTimeout(this.connectTimer);
    clearTimeout(this.replyTimer);
    this.setAvailable(true);
    this.showTyping(false);
  }

  /** Rasa refused the session token: a new session once, else say so (never silently). */
  async refused(refusal) {
    const reason = refusal && refusal.error && refusal.error.message;
    const session = this.sessionId;
    this.confirmed = false;
    this.setStatus("refused");
    if (!this.renewing && this.opts.onRefused) {
      this.renewing = true;
      const renewed = await this.opts.onRefused();
      this.renewing = false;
      if (renewed && this.sessionId !== session) return;
    }
    this.setAvailable(false, `The assistant refused this session${reason ? ` (${reason})` : ""}. Reload the page to start a new one.`);
  }

  setStatus(text) {
    this.status.textContent = text;
    this.status.dataset.state = text === "online" ? "online" : "offline";
  }

  /** Show (or clear) the unavailable notice: while disconnected, reconnecting or unanswered. */
  setAvailable(available, text = UNAVAILABLE) {
    if (available) clearTimeout(this.connectTimer);
    this.unavailable.textContent = available ? "" : text;
    this.unavailable.hidden = available;
    document.getElementById("chat").dataset.available = String(available);
  }

  /** Show `shown` as the shopper's message and send `payload` to Rasa. */
  send(payload, shown) {
    if (!this.sessionId) return;
    if (shown) {
      const message = { text: shown };
      this.render("user", message);
      this.remember("user", message);
    }
    this.emit(payload, shown);
  }

  /** Send `payload`; a button's title (`shown`, when it differs) goes along as
   * `customData.shown_text`, so the report shows what the shopper pressed, not the payload. */
  emit(payload, shown = null) {
    const customData = { ...this.opts.context(), token: this.token };
    if (shown && shown !== payload) customData.shown_text = String(shown).slice(0, SHOWN_TEXT_MAX);
    const data = { message: payload, session_id: this.sessionId, customData };
    this.showTyping(true);
    clearTimeout(this.replyTimer);
    this.replyTimer = setTimeout(() => this.noReply(), REPLY_TIMEOUT_MS);
    if (this.socket && this.socket.connected && this.confirmed) this.socket.emit("user_uttered", data);
    else this.queue.push(data);
  }

  /** Rasa answered nothing in time: say so, and reconnect (a confirm clears the notice). */
  noReply() {
    this.setAvailable(false);
    const socket = this.socket;
    if (socket && socket.connected) {
      socket.disconnect();
      socket.connect();
    }
  }

  receive(message) {
    if (!message || typeof message !== "object") return;
    clearTimeout(this.replyTimer);
    this.setAvailable(true);
    this.showTyping(false);
    this.render("bot", message);
    this.remember("bot", message);
  }

  remember(who, message) {
    const history = store.get(this.historyKey(), []);
    history.push({ who, message, at: Date.now() });
    store.set(this.historyKey(), history.slice(-HISTORY_LIMIT));
  }

  showTyping(on) {
    clearTimeout(this.typingTimer);
    this.typing.hidden = !on;
    this.typingSr.textContent = on ? "The assistant is typing" : "";
    if (on) this.typingTimer = setTimeout(() => this.showTyping(false), TYPING_TIMEOUT_MS);
  }

  /** Append one message (any of the shapes Rasa's socketio output sends) to the log. */
  render(who, message, scroll = true) {
    const bubble = el("div", { class: `msg msg-${who}`, dataset: { who } });
    const label = who === "user" ? "You" : "Assistant";
    bubble.append(el("span", { class: "sr-only" }, `${label}: `));
    const custom = message.custom || null;
    const text = message.text || (custom && typeof custom.text === "string" ? custom.text : null);
    if (text) bubble.append(el("p", { class: "msg-text" }, linkify(text)));
    const attachment = message.attachment || (custom && custom.attachment) || null;
    if (attachment) bubble.append(this.renderAttachment(attachment));
    const products = findProducts(message);
    if (products.length) bubble.append(this.renderCards(products));
    const reportUrl = custom && (custom.report_url || custom.url);
    if (reportUrl) bubble.append(el("p", {}, linkOrText(String(reportUrl), "Open my session report", { class: "report-link" })));
    const buttons = message.quick_replies || message.buttons || (custom && custom.buttons) || [];
    if (buttons.length) bubble.append(this.renderButtons(buttons));
    if (bubble.childElementCount <= 1) return; // nothing we know how to show
    this.log.append(bubble);
    if (scroll) this.log.scrollTop = this.log.scrollHeight;
  }

  renderButtons(buttons) {
    const group = el("div", { class: "quick-replies", role: "group", "aria-label": "Suggested replies" });
    for (const button of buttons) {
      const title = button.title || button.payload || button.url;
      if (button.url) {
        group.append(linkOrText(String(button.url), String(title), { class: "quick-link" }));
        continue;
      }
      const payload = button.payload || button.title;
      group.append(el("button", {
        type: "button", class: "quick-reply", dataset: { payload },
        onclick: () => this.send(payload, title),
      }, title));
    }
    return group;
  }

  renderAttachment(attachment) {
    const payload = attachment.payload || {};
    if (attachment.type === "image" && (payload.src || payload.url)) {
      return el("img", { class: "msg-image", src: payload.src || payload.url, alt: payload.alt || "Image from the assistant" });
    }
    if (attachment.type === "video" && (payload.src || payload.url)) {
      return el("video", { class: "msg-image", src: payload.src || payload.url, controls: true });
    }
    if (attachment.type === "template") {
      let elements = payload.elements || [];
      if (!Array.isArray(elements)) elements = [elements];
      return this.renderCards(elements.map(cardFromElement));
    }
    return el("span", {});
  }

  renderCards(products) {
    const list = el("ul", { class: "cards", "aria-label": "Recommended products" });
    for (const product of products) {
      const title = product.name || product.title || product.id;
      const children = [];
      if (product.image) children.push(el("img", { src: product.image, alt: "", loading: "lazy" }));
      children.push(el("h4", {}, title));
      const price = formatPrice(product);
      if (price) children.push(el("p", { class: "price" }, price));
      const blurb = product.reason || product.subtitle || product.description;
      if (blurb) children.push(el("p", { class: "blurb" }, blurb));
      if (product.id) {
        children.push(el("button", {
          type: "button", class: "card-open", dataset: { productId: product.id },
          "aria-label": `View ${title}`,
          onclick: () => this.opts.onOpenProduct(product.id),
        }, "View"));
      }
      for (const button of product.buttons || []) {
        if (button.url) children.push(linkOrText(String(button.url), button.title || "Open"));
        else if (button.payload) {
          children.push(el("button", {
            type: "button", class: "quick-reply", onclick: () => this.send(button.payload, button.title),
          }, button.title || button.payload));
        }
      }
      list.append(el("li", { class: "card", dataset: { productId: product.id || "" } }, children));
    }
    return list;
  }
}

/** A product card from a Messenger-style generic template element. */
function cardFromElement(element) {
  const id = element.id || element.product_id || (element.default_action && element.default_action.payload);
  return {
    id,
    name: element.title,
    subtitle: element.subtitle,
    image: element.image_url || element.image,
    price: element.price,
    currency: element.currency,
    buttons: element.buttons || [],
  };
}

/** Products from whatever the action sent: custom {products|cards|items|recommendations} lists. */
function findProducts(message) {
  const sources = [message.custom, message.custom && message.custom.payload, message];
  for (const source of sources) {
    if (!source || typeof source !== "object") continue;
    for (const key of ["products", "cards", "items", "recommendations"]) {
      const list = source[key];
      if (Array.isArray(list) && list.length && typeof list[0] === "object") {
        return list.map((p) => ({
          ...p,
          id: p.id || p.product_id,
          name: p.name || p.title,
          image: p.image || p.image_url || (p.id || p.product_id ? `/api/products/${encodeURIComponent(p.id || p.product_id)}/image.svg` : null),
        }));
      }
    }
  }
  return [];
}
