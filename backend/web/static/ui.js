// Small DOM helpers, formatters, loading and error states, and a sortable table.
import { ApiError } from "./api.js";

/** el("div.card#id", {attrs}, ...children): children are nodes, strings or arrays. */
export function el(spec, attrs, ...children) {
  if (attrs === null || typeof attrs !== "object" || attrs instanceof Node || Array.isArray(attrs)) {
    children.unshift(attrs);
    attrs = {};
  }
  const [, tag = "div", rest = ""] = spec.match(/^([a-z0-9]*)(.*)$/i);
  const node = document.createElement(tag || "div");
  for (const part of rest.match(/[.#][^.#]+/g) || []) {
    if (part[0] === ".") node.classList.add(part.slice(1));
    else node.id = part.slice(1);
  }
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(node.dataset, v);
    // Styles through the DOM: a style="" attribute is inline style, which the CSP refuses.
    else if (k === "style") Object.assign(node.style, v);
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(node, c);
    else node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

// ---------------------------------------------------------------- formatters

const DASH = "—";
export const isNum = (v) => typeof v === "number" && Number.isFinite(v);
// One formatter per number of digits: toLocaleString with options builds one on every call.
const formatters = new Map();
function formatter(digits) {
  if (!formatters.has(digits)) {
    formatters.set(digits, new Intl.NumberFormat("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits }));
  }
  return formatters.get(digits);
}
export function num(v, digits = 2) { return isNum(v) ? formatter(digits).format(v) : DASH; }
export function int(v) { return isNum(v) ? formatter(0).format(Math.round(v)) : DASH; }
export function money(v, digits = 2) { return isNum(v) ? `$${num(v, digits)}` : DASH; }
export function pct(v, digits = 1, signed = false) {
  if (!isNum(v)) return DASH;
  const s = (v * 100).toFixed(digits);
  return `${signed && v > 0 ? "+" : ""}${s}%`;
}
export function signedClass(v) { return isNum(v) ? (v > 0 ? "pos" : v < 0 ? "neg" : "") : ""; }
export function bytes(v) {
  if (!isNum(v)) return DASH;
  const units = ["B", "KiB", "MiB", "GiB"];
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
  return `${v.toFixed(i ? 1 : 0)} ${units[i]}`;
}
export function dateTime(v) {
  if (!v) return DASH;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? String(v) : d.toLocaleString("en-GB", { timeZoneName: "short" });
}
export const text = (v) => (v === undefined || v === null || v === "" ? DASH : String(v));

export function ratingBadge(rating) {
  if (!rating) return el("span.badge", DASH);
  return el(`span.badge.rating-${rating.toLowerCase().replace(/\s+/g, "-")}`, rating);
}

export function scoreCell(score) {
  if (!isNum(score)) return DASH;
  const bar = el("span.score-bar", { "aria-hidden": "true" }, el("span", { style: { width: `${Math.max(0, Math.min(100, score))}%` } }));
  return el("span.score-cell", el("strong", num(score)), bar);
}

export function tickerLink(ticker) {
  return el("a", { href: `/app/security/${encodeURIComponent(ticker)}`, "data-nav": true, class: "ticker-link" }, ticker);
}

// ---------------------------------------------------------------- loading and errors

export function spinner(message = "Loading…") {
  return el("div.loading", { role: "status", "aria-live": "polite" }, el("span.spinner", { "aria-hidden": "true" }), message);
}

/** Whether `message` holds `value` as a whole word or phrase ("ZZZZ" in "for ZZZZ,", not "1" in "10"). */
function saysAlready(message, value) {
  if (!value || !message) return false;
  let from = 0;
  for (;;) {
    const at = message.indexOf(value, from);
    if (at < 0) return false;
    const before = message[at - 1];
    const rest = message.slice(at + value.length, at + value.length + 2);
    if (!(before && /[\w.]/.test(before)) && !/^\w|^\.\w/.test(rest)) return true;
    from = at + 1;
  }
}

/** A readable error: what happened (the API's message), its code, and the details. The title
 * says the kind of failure (from the status) unless `ownTitle` keeps the one given. */
export function errorBox(error, title = "Something went wrong", { ownTitle = false } = {}) {
  const box = el("div.error-box", { role: "alert" });
  if (error instanceof ApiError) {
    const heading = ownTitle ? title : error.status === 404 ? "No data" : error.status === 401 ? "Not logged in"
      : error.status === 422 ? "Cannot answer that" : error.status === 0 ? "Service unreachable"
        : error.status === 429 ? "Too many requests" : error.status === 503 ? "Unavailable" : title;
    box.append(el("div.error-title", heading), el("p.error-message", error.message));
    // A detail the message already says (the ticker, a provider's reason) is not said again.
    const extra = Object.entries(error.details || {})
      .filter(([k, v]) => v !== null && v !== undefined && k !== "fields" && typeof v !== "object")
      .filter(([, v]) => !saysAlready(error.message, String(v)))
      .map(([k, v]) => `${k.replace(/_/g, " ")}: ${v}`);
    if (extra.length) box.append(el("p.meta", extra.join(" · ")));
    box.append(el("span.error-code", `${error.code}${error.status ? ` (HTTP ${error.status})` : ""}`));
  } else {
    box.append(el("div.error-title", title), el("p.error-message", String((error && error.message) || error)));
  }
  return box;
}

/** Show a spinner in `node` while `promise` runs, then `render(result)` or the error. */
export async function load(node, promise, render, message) {
  clear(node, spinner(message));
  node.setAttribute("aria-busy", "true");
  try {
    const result = await promise;
    clear(node);
    render(result);
  } catch (e) {
    if (e && e.name === "AbortError") return;
    clear(node, errorBox(e));
    console.warn(e);  // eslint-disable-line no-console
  } finally {
    node.removeAttribute("aria-busy");
  }
}

export function cards(items) {
  return el("div.cards", items.filter(Boolean).map(([label, value, sub, cls]) =>
    el("div.card", el("div.label", label), el(`div.value${cls ? `.${cls}` : ""}`, value), sub ? el("div.sub", sub) : null)));
}

export function facts(pairs) {
  const dl = el("dl.facts");
  for (const [k, v] of pairs) {
    if (v === undefined) continue;
    dl.append(el("dt", k), el("dd", v));
  }
  return dl;
}

// ---------------------------------------------------------------- sortable table

const collator = new Intl.Collator("en", { numeric: true });

/**
 * columns: [{key, label, numeric, value(row) -> sort value, render(row) -> node/text, title,
 *            pin (stays at the left while the table scrolls sideways; the first columns only;
 *            "wide": not on a phone-width screen),
 *            pinEndNarrow (stays at the right edge on a phone-width screen)}]
 * options: {caption, rows, sort: {key, dir}, onSort, empty, id, rowAttrs(row),
 *           tall (a long table: it scrolls in its own box of at most the screen's height, so
 *           its sideways scroll bar is always in view)}
 */
export function sortableTable(columns, options) {
  let sort = options.sort || null;
  let rows = options.rows || [];
  const table = el("table", { id: options.id });
  if (options.caption) table.append(el("caption", options.caption));
  const headRow = el("tr");
  const pinned = columns.findIndex((c) => !c.pin);
  const cellClass = (col, i) => [col.numeric ? "num" : "", col.className || "",
    col.pin ? `pin pin-${i}${col.pin === "wide" ? " pin-wide" : ""}${i === pinned - 1 ? " pin-last" : ""}` : "", col.pinEndNarrow ? "pin-end-narrow" : ""].join(" ").trim() || null;
  const ths = columns.map((col, i) => {
    const label = col.sortable === false ? col.label
      : el("button.sort", { type: "button", "data-key": col.key, title: col.title || `Sort by ${col.label}`, onclick: () => toggle(col) },
        col.label, el("span.arrow", { "aria-hidden": "true" }));
    const th = el("th", { scope: "col", class: cellClass(col, i), "data-key": col.key }, label);
    headRow.append(th);
    return th;
  });
  const tbody = el("tbody");
  table.append(el("thead", headRow), tbody);
  const wrap = el("div.table-wrap", {
    tabindex: "0", role: "region", "aria-label": options.caption || "table", class: options.tall ? "table-wrap tall" : null,
  }, table);
  // A pinned column after the first sits where the ones before it end (their measured width);
  // a column pinned at the right edge on a phone stops there when scrolled past, not under them.
  if (pinned > 0 && window.ResizeObserver) {
    const place = () => {
      let left = 0;
      for (let i = 0; i < pinned; i += 1) {
        table.style.setProperty(`--pin-left-${i}`, `${left}px`);
        if (getComputedStyle(ths[i]).left !== "auto") left += ths[i].getBoundingClientRect().width;
      }
      table.style.setProperty("--pin-end-left", `${left}px`);
    };
    new ResizeObserver(place).observe(ths[pinned - 1]);
  }

  function valueOf(col, row) {
    const v = col.value ? col.value(row) : row[col.key];
    return v === undefined ? null : v;
  }

  function toggle(col) {
    const dir = sort && sort.key === col.key ? (sort.dir === "asc" ? "desc" : "asc") : (col.numeric ? "desc" : "asc");
    sort = { key: col.key, dir };
    render();
    if (options.onSort) options.onSort(sort);
  }

  function render() {
    ths.forEach((th, i) => {
      const col = columns[i];
      const arrow = th.querySelector(".arrow");
      if (sort && sort.key === col.key) {
        th.setAttribute("aria-sort", sort.dir === "asc" ? "ascending" : "descending");
        if (arrow) arrow.textContent = sort.dir === "asc" ? "▲" : "▼";
      } else {
        th.removeAttribute("aria-sort");
        if (arrow) arrow.textContent = "↕";
      }
    });
    let ordered = rows;
    if (sort) {
      const col = columns.find((c) => c.key === sort.key);
      if (col) {
        const sign = sort.dir === "asc" ? 1 : -1;
        ordered = rows.slice().sort((a, b) => {
          const va = valueOf(col, a);
          const vb = valueOf(col, b);
          if (va === null && vb === null) return 0;
          if (va === null) return 1;  // blanks last either way
          if (vb === null) return -1;
          if (typeof va === "number" && typeof vb === "number") return sign * (va - vb);
          return sign * collator.compare(String(va), String(vb));
        });
      }
    }
    tbody.replaceChildren();
    if (!ordered.length) {
      tbody.append(el("tr", el("td.table-note", { colspan: columns.length }, options.empty || "Nothing to show.")));
      return;
    }
    // Rows are built once and moved after that: sorting and filtering only reorder them.
    const frag = document.createDocumentFragment();
    for (const row of ordered) frag.append(rowNode(row));
    tbody.append(frag);
  }

  const built = new WeakMap();
  function rowNode(row) {
    let tr = built.get(row);
    if (!tr) {
      tr = el("tr", options.rowAttrs ? options.rowAttrs(row) : {});
      columns.forEach((col, i) => {
        const content = col.render ? col.render(row) : text(row[col.key]);
        tr.append(el("td", { class: cellClass(col, i) }, content));
      });
      built.set(row, tr);
    }
    return tr;
  }

  render();
  wrap.update = (newRows) => { rows = newRows; render(); };
  wrap.table = table;
  return wrap;
}

/** A labelled form field. */
export function field(label, control, id) {
  control.id = control.id || id || `f-${Math.random().toString(36).slice(2, 8)}`;
  return el("div.field", el("label", { for: control.id }, label), control);
}

export function option(value, label, selected) {
  return el("option", { value, selected: selected ? true : null }, label);
}

export const todayISO = () => new Date().toISOString().slice(0, 10);

/** Shift an ISO date by months (negative: back). */
export function addMonths(iso, months) {
  const d = new Date(`${iso}T00:00:00Z`);
  d.setUTCMonth(d.getUTCMonth() + months);
  return d.toISOString().slice(0, 10);
}
