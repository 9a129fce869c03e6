// Small helpers shared by the shop page and the report page.

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

/** Text with http(s) links and /report/… paths turned into anchors (safe: no innerHTML). */
export function linkify(text) {
  const frag = document.createDocumentFragment();
  const re = /(https?:\/\/[^\s<>"')]+|\/report\/[A-Za-z0-9_.:-]+)/g;
  let last = 0;
  for (const match of text.matchAll(re)) {
    if (match.index > last) frag.append(text.slice(last, match.index));
    frag.append(el("a", { href: match[0], target: "_self" }, match[0]));
    last = match.index + match[0].length;
  }
  if (last < text.length) frag.append(text.slice(last));
  return frag;
}

/** A random id with a prefix, from the browser's CSPRNG; fits redis_schema.validate_id. */
export function newId(prefix) {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return prefix + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
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

export async function getJSON(url, options = {}) {
  const response = await fetch(url, { headers: { Accept: "application/json" }, ...options });
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) {
    const message = body && body.error ? body.error.message : `${response.status} ${response.statusText}`;
    throw new Error(message);
  }
  return body;
}

export const EMOJI = {
  happy: "😊", sad: "😢", angry: "😠", surprised: "😮",
  fearful: "😨", disgusted: "😖", confused: "😕", calm: "😌",
};

export function formatPrice(product) {
  if (product.price === null || product.price === undefined) return "";
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency: product.currency || "EUR" })
      .format(product.price);
  } catch {
    return `${product.price} ${product.currency || ""}`.trim();
  }
}
