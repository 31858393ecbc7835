// Two portfolios side by side (the model or your own), and the correlation heat map of a
// portfolio's holdings (SVG drawn here, like charts.js: nothing fetched from elsewhere).
import { api, auth, qs } from "./api.js";
import {
  el, clear, load, num, money, pct, cards, field, option, sortableTable, tickerLink, text, signedClass,
} from "./ui.js";

const SVG = "http://www.w3.org/2000/svg";

function s(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== undefined && v !== null) node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

// Diverging scale: -1 blue, 0 white, +1 red (an SVG fill attribute: no inline style).
function corrColor(v) {
  const t = Math.max(-1, Math.min(1, v));
  const mix = (a, b, f) => Math.round(a + (b - a) * f);
  const [r, g, b] = t >= 0
    ? [mix(255, 200, t), mix(255, 40, t), mix(255, 40, t)]
    : [mix(255, 40, -t), mix(255, 90, -t), mix(255, 200, -t)];
  return `rgb(${r},${g},${b})`;
}

/** A correlation heat map: a cell per pair, its value inside, the reason on hover when null. */
export function heatMap(body) {
  const n = body.tickers.length;
  const cell = 44;
  const pad = { l: 64, t: 64 };
  const size = pad.l + n * cell + 4;
  const reasons = new Map(body.pairs.map((p) => [`${p.a}|${p.b}`, p.reason]));
  const svg = s("svg", {
    viewBox: `0 0 ${size} ${pad.t + n * cell + 4}`, width: size, height: pad.t + n * cell + 4,
    role: "img", class: "heat-map",
    "aria-label": `Correlation of daily returns between ${n} holdings`, "data-cells": n * n,
  }, s("title", {}, "Correlation of daily returns"));
  body.tickers.forEach((t, i) => {
    svg.append(s("text", { x: pad.l - 6, y: pad.t + i * cell + cell / 2 + 4, "text-anchor": "end", class: "heat-label" }, t));
    svg.append(s("text", {
      x: pad.l + i * cell + cell / 2, y: pad.t - 8, "text-anchor": "start", class: "heat-label",
      transform: `rotate(-45 ${pad.l + i * cell + cell / 2} ${pad.t - 8})`,
    }, t));
  });
  body.matrix.forEach((row, i) => row.forEach((v, j) => {
    const a = body.tickers[Math.min(i, j)];
    const b = body.tickers[Math.max(i, j)];
    const x = pad.l + j * cell;
    const y = pad.t + i * cell;
    const why = i === j ? null : reasons.get(`${a}|${b}`);
    const label = v === null
      ? `${body.tickers[i]} / ${body.tickers[j]}: no correlation (${why || "no returns"})`
      : `${body.tickers[i]} / ${body.tickers[j]}: ${v.toFixed(2)} over ${body.observations[i][j]} days`;
    const g = s("g", { class: "heat-cell", "data-value": v === null ? "" : v.toFixed(4) },
      s("title", {}, label),
      s("rect", { x, y, width: cell - 2, height: cell - 2, rx: 3, fill: v === null ? "none" : corrColor(v), class: v === null ? "heat-null" : null }),
      s("text", { x: x + cell / 2 - 1, y: y + cell / 2 + 3, "text-anchor": "middle", class: "heat-value" }, v === null ? "–" : v.toFixed(2)));
    svg.append(g);
  }));
  return el("div.heat-wrap", svg);
}

function correlationPanel(box, body) {
  const dr = body.diversification_ratio;
  clear(box,
    cards([
      ["Average correlation", num(body.average_correlation), `${body.pairs_defined} of ${body.pairs.length} pairs defined`],
      ["Diversification ratio", num(dr.ratio), dr.reason || `over ${dr.observations} common days`],
      ["Window", `${body.start} – ${body.end}`, `${body.days} trading days, adjusted closes`],
      ["Minimum overlap", String(body.min_observations), "daily returns per pair"],
    ]),
    body.tickers.length ? heatMap(body) : el("p.empty", "No holding with stored prices."),
    body.left_out.length
      ? el("p.meta", `Left out: ${body.left_out.map((x) => `${x.ticker} (${x.reason})`).join(", ")}`) : null);
}

function sideLabel(side) {
  return side.kind === "model" ? "Model" : side.name;
}

function drawCompare(out, r) {
  const a = sideLabel(r.a);
  const b = sideLabel(r.b);
  const perf = r.performance;
  out.append(cards([
    [a, money(r.a.total_value, 0), `score ${num(r.a.momentum_score)}`],
    [b, money(r.b.total_value, 0), `score ${num(r.b.momentum_score)}`],
    ["Common window", `${perf.start} – ${perf.end || "newest day"}`, `benchmark ${perf.benchmark}`],
  ]));
  out.append(el("h2", "Allocation by category"), sortableTable([
    { key: "name", label: "Category" },
    { key: "target", label: "Target", numeric: true, render: (x) => pct(x.target) },
    { key: "weight_a", label: a, numeric: true, render: (x) => pct(x.weight_a) },
    { key: "gap_a", label: `Gap ${a}`, numeric: true, render: (x) => el("span", { class: signedClass(x.gap_a) || null }, pct(x.gap_a, 1, true)) },
    { key: "weight_b", label: b, numeric: true, render: (x) => pct(x.weight_b) },
    { key: "gap_b", label: `Gap ${b}`, numeric: true, render: (x) => el("span", { class: signedClass(x.gap_b) || null }, pct(x.gap_b, 1, true)) },
  ], { id: "compare-allocations", caption: "Weights of total value (cash included) against the targets", rows: r.allocations }));
  out.append(el("h2", "Holdings"), sortableTable([
    { key: "ticker", label: "Ticker", render: (h) => tickerLink(h.ticker) },
    { key: "category", label: "Category" },
    { key: "weight_a", label: a, numeric: true, render: (h) => pct(h.weight_a) },
    { key: "weight_b", label: b, numeric: true, render: (h) => pct(h.weight_b) },
    { key: "score", label: "Score", numeric: true, render: (h) => num(h.score) },
  ], { id: "compare-holdings", caption: "Every ticker either holds", rows: r.holdings, sort: { key: "weight_a", dir: "desc" } }));
  const figures = [
    ["Return (TWR)", (p) => pct(p.twr, 2, true)],
    ["Benchmark return", (p) => pct(p.benchmark_return, 2, true)],
    ["Active return", (p) => pct(p.active_return, 2, true)],
    ["Max drawdown", (p) => pct(p.max_drawdown, 2)],
    ["Volatility", (p) => pct(p.volatility, 2)],
    ["Days", (p) => text(p.periods)],
    ["Why no figures", (p) => text(p.reason)],
  ];
  out.append(el("h2", "Performance over the common window"), sortableTable([
    { key: "figure", label: "Figure", sortable: false },
    { key: "a", label: a, numeric: true, sortable: false },
    { key: "b", label: b, numeric: true, sortable: false },
  ], { id: "compare-performance", caption: perf.window_rule, rows: figures.map(([name, f]) => ({ figure: name, a: f(perf.a), b: f(perf.b) })) }));
  const da = r.diversification_a;
  const db = r.diversification_b;
  const rows = [
    ["Positions", (d) => text(d.positions)],
    ["Top-5 concentration", (d) => pct(d.top5_weight)],
    ["Herfindahl index", (d) => num(d.herfindahl, 3)],
    ["Effective positions", (d) => num(d.effective_positions, 1)],
    ["Largest position", (d) => (d.largest ? `${d.largest.ticker} ${pct(d.largest.weight)}` : "–")],
    ["Sectors held", (d) => text(d.sectors_held)],
  ];
  out.append(el("h2", "Diversification"), sortableTable([
    { key: "figure", label: "Figure", sortable: false },
    { key: "a", label: a, numeric: true, sortable: false },
    { key: "b", label: b, numeric: true, sortable: false },
  ], { id: "compare-diversification", caption: "Of the invested value (cash is not a position)", rows: rows.map(([name, f]) => ({ figure: name, a: f(da), b: f(db) })) }));
}

export async function compareView(main, _params, query, ctx) {
  ctx.title("Compare");
  main.append(el("div.page-head", el("h1", "Compare portfolios"),
    el("p.meta", "The model portfolio or your own, side by side; the correlation of a portfolio's holdings.")));
  const mine = [];
  if (auth.loggedIn) {
    try { mine.push(...await api("/api/v1/portfolios", { authed: true })); } catch (e) { /* the model alone */ }
  }
  if (!ctx.alive()) return;
  const choices = (selected) => [option("model", "Model portfolio", selected === "model"),
    ...mine.map((p) => option(String(p.id), p.name, selected === String(p.id)))];
  const a = el("select", { name: "a" }, choices(query.get("a") || "model"));
  const b = el("select", { name: "b" }, choices(query.get("b") || (mine[0] ? String(mine[0].id) : "model")));
  const start = el("input", { type: "date", name: "start", value: query.get("start") || "" });
  const end = el("input", { type: "date", name: "end", value: query.get("end") || "" });
  const out = el("section.panel#compare-result", { "aria-live": "polite" });
  const corr = el("section.panel#correlation-panel", { "aria-labelledby": "correlation-h" });
  const corrOut = el("div#correlation-result");
  const corrSide = el("select", { name: "correlation" }, choices(query.get("a") || "model"));
  const run = () => {
    ctx.setQuery({ a: a.value, b: b.value, start: start.value, end: end.value });
    const path = `/api/v1/portfolios/compare${qs({ a: a.value, b: b.value, start: start.value, end: end.value })}`;
    load(out, api(path, { authed: auth.loggedIn }), (r) => drawCompare(out, r), "Comparing…");
    runCorrelation();
  };
  const runCorrelation = () => {
    const side = corrSide.value;
    const base = side === "model" ? "/api/v1/portfolio/correlation" : `/api/v1/portfolios/${side}/correlation`;
    load(corrOut, api(`${base}${qs({ start: start.value, end: end.value })}`, { authed: side !== "model" }),
      (r) => correlationPanel(corrOut, r), "Computing correlations…");
  };
  corrSide.addEventListener("change", runCorrelation);
  main.append(
    el("form.controls", { onsubmit: (e) => { e.preventDefault(); run(); } },
      field("Side A", a, "compare-a"), field("Side B", b, "compare-b"),
      field("From", start, "compare-start"), field("To", end, "compare-end"),
      el("button.primary", { type: "submit" }, "Compare")),
    ...(auth.loggedIn ? [] : [el("p.meta", el("a", { href: "/app/portfolios", "data-nav": true }, "Log in"), " to compare your own portfolios.")]),
    out,
    clear(corr, el("h2#correlation-h", "Correlation of holdings"),
      el("p.meta", "Pearson correlation of daily returns (adjusted closes) over the days both holdings have; a pair with too few is blank, with the reason on hover."),
      el("div.controls", field("Portfolio", corrSide, "correlation-side")), corrOut));
  run();
}
