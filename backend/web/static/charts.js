// SVG charts drawn here (no library, nothing fetched from elsewhere): a time-series line chart
// with a hover read-out, and a horizontal bar chart comparing pairs of values.
import { el } from "./ui.js";

const SVG = "http://www.w3.org/2000/svg";
const DAY = 86400000;
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function s(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== undefined && v !== null) node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

const toTime = (iso) => Date.parse(`${String(iso).slice(0, 10)}T00:00:00Z`);
const isoOf = (t) => new Date(t).toISOString().slice(0, 10);

export function niceTicks(min, max, count = 5) {
  if (!(max > min)) {
    const pad = Math.abs(min) * 0.05 || 1;
    min -= pad;
    max += pad;
  }
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((st) => st >= raw) || 10 * mag;
  const ticks = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) ticks.push(+v.toFixed(10));
  return { ticks, step };
}

function timeTicks(t0, t1, maxLabels) {
  const a = new Date(t0);
  const b = new Date(t1);
  const months = (b.getUTCFullYear() - a.getUTCFullYear()) * 12 + b.getUTCMonth() - a.getUTCMonth();
  if (months < 2) {
    // A short range: label about every week.
    const step = Math.max(1, Math.ceil((t1 - t0) / DAY / maxLabels));
    const ticks = [];
    for (let t = t0; t <= t1; t += step * DAY) {
      const d = new Date(t);
      ticks.push({ t, label: `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]}` });
    }
    return ticks;
  }
  const every = [1, 2, 3, 6, 12, 24].find((k) => months / k <= maxLabels) || 48;
  const ticks = [];
  const d = new Date(Date.UTC(a.getUTCFullYear(), a.getUTCMonth() + 1, 1));
  while (d.getTime() <= t1) {
    const index = d.getUTCFullYear() * 12 + d.getUTCMonth();
    if (index % every === 0) {
      const first = d.getUTCMonth() === 0 || every >= 12 || !ticks.length;
      ticks.push({ t: d.getTime(), label: first ? `${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}` : MONTHS[d.getUTCMonth()] });
    }
    d.setUTCMonth(d.getUTCMonth() + 1);
  }
  return ticks;
}

const GUIDE_CHAR_PX = 6.2;  // a 10px label's widest average character
const GUIDE_GAP_PX = 12;  // one 10px label's line height

/**
 * Vertical places for margin labels: each at its line's height, moved apart (as little as
 * possible, top to bottom, then back up from the bottom) so that no two are closer than
 * GUIDE_GAP_PX and all stay within [top, bottom].
 */
export function marginLabels(items, top, bottom) {
  const out = items.map((it) => ({ ...it })).sort((a, b) => a.at - b.at);
  for (let i = 0; i < out.length; i += 1) {
    const min = i ? out[i - 1].at + GUIDE_GAP_PX : top;
    out[i].at = Math.max(out[i].at, min);
  }
  for (let i = out.length - 1; i >= 0; i -= 1) {
    const max = i < out.length - 1 ? out[i + 1].at - GUIDE_GAP_PX : bottom;
    out[i].at = Math.min(out[i].at, max);
  }
  return out;
}

/** Redraw `draw(width)` into `container` now and whenever its width changes. */
function responsive(container, draw) {
  let last = 0;
  const render = () => {
    const width = Math.max(280, Math.floor(container.clientWidth || 800));
    if (width === last) return;
    last = width;
    draw(width);
  };
  render();
  if (window.ResizeObserver) {
    let pending = 0;
    const ro = new ResizeObserver(() => {
      cancelAnimationFrame(pending);
      pending = requestAnimationFrame(() => { if (container.isConnected) render(); else ro.disconnect(); });
    });
    ro.observe(container);
  }
}

function legend(series) {
  return el("ul.legend", series.map((sr, i) => el("li",
    el(`span.sw.sw-${sr.color ?? i}${sr.dashed ? ".dashed" : ""}`, { "aria-hidden": "true" }), sr.name)));
}

/**
 * A line chart of dated series.
 * config: {series: [{name, points: [[isoDate, value|null], ...], color, thick, dashed}],
 *          label (accessible name), height, yFormat(v), yMin, yMax, guides: [{y, label}]}
 */
export function lineChart(config) {
  const container = el("div.chart.line-chart");
  const series = config.series.map((sr, i) => ({
    ...sr,
    color: sr.color ?? i,
    pts: sr.points.map(([d, v]) => [toTime(d), v === null || v === undefined || !Number.isFinite(v) ? null : v]),
  }));
  const all = series.flatMap((sr) => sr.pts);
  const values = all.map((p) => p[1]).filter((v) => v !== null);
  const times = [...new Set(all.map((p) => p[0]))].sort((a, b) => a - b);
  const wrapper = el("div", container, legend(series));
  if (!values.length || !times.length) {
    container.append(el("p.empty", config.empty || "No data to draw for this range."));
    container.dataset.points = "0";
    return wrapper;
  }
  const yFormat = config.yFormat || ((v) => v.toLocaleString("en-US", { maximumFractionDigits: 2 }));
  let yMin = config.yMin ?? Math.min(...values);
  let yMax = config.yMax ?? Math.max(...values);
  if (config.yMin === undefined || config.yMax === undefined) {
    const pad = (yMax - yMin) * 0.06 || Math.abs(yMax) * 0.05 || 1;
    if (config.yMin === undefined) yMin -= pad;
    if (config.yMax === undefined) yMax += pad;
  }
  const { ticks } = niceTicks(yMin, yMax, 5);
  const t0 = times[0];
  const t1 = times[times.length - 1] === t0 ? t0 + DAY : times[times.length - 1];
  const height = config.height || 280;
  const byTime = series.map((sr) => new Map(sr.pts.map(([t, v]) => [t, v])));
  container.dataset.points = String(values.length);

  // Guide labels sit in a right margin beside the plot, never over its lines.
  const guides = (config.guides || []).filter((g) => g.y >= yMin && g.y <= yMax);
  const labelChars = Math.max(0, ...guides.map((g) => (g.label ? g.label.length : 0)));

  responsive(container, (width) => {
    const m = { l: 58, r: labelChars ? 12 + Math.ceil(labelChars * GUIDE_CHAR_PX) : 14, t: 10, b: 26 };
    const w = width - m.l - m.r;
    const h = height - m.t - m.b;
    const x = (t) => m.l + ((t - t0) / (t1 - t0)) * w;
    const y = (v) => m.t + (1 - (v - yMin) / (yMax - yMin)) * h;
    const svg = s("svg", {
      viewBox: `0 0 ${width} ${height}`, width, height, role: "img",
      "aria-label": config.label || "chart", "data-points": values.length,
    }, s("title", {}, config.label || "chart"));
    const grid = s("g", { class: "grid" });
    const yAxis = s("g", { class: "axis" });
    for (const v of ticks) {
      if (v < yMin || v > yMax) continue;
      grid.append(s("line", { x1: m.l, x2: m.l + w, y1: y(v), y2: y(v) }));
      yAxis.append(s("text", { x: m.l - 6, y: y(v) + 4, "text-anchor": "end" }, yFormat(v)));
    }
    const xAxis = s("g", { class: "axis" });
    for (const { t, label } of timeTicks(t0, t1, Math.max(2, Math.floor(w / 70)))) {
      if (t < t0 || t > t1) continue;
      grid.append(s("line", { x1: x(t), x2: x(t), y1: m.t, y2: m.t + h }));
      xAxis.append(s("text", { x: x(t), y: height - 8, "text-anchor": "middle" }, label));
    }
    svg.append(grid, yAxis, xAxis);
    for (const g of guides) {
      svg.append(s("line", { class: "guide", x1: m.l, x2: m.l + w, y1: y(g.y), y2: y(g.y) }));
    }
    const placed = marginLabels(guides.filter((g) => g.label).map((g) => ({ label: g.label, at: y(g.y) })), m.t, m.t + h);
    for (const { label, at } of placed) {
      svg.append(s("text", { class: "guide-label", x: m.l + w + 6, y: at, "dominant-baseline": "middle" }, label));
    }
    series.forEach((sr) => {
      let d = "";
      let pen = false;
      let count = 0;
      for (const [t, v] of sr.pts) {
        if (v === null) { pen = false; continue; }
        d += `${pen ? "L" : "M"}${x(t).toFixed(1)},${y(v).toFixed(1)}`;
        pen = true;
        count += 1;
      }
      const cls = ["line", `series-${sr.color}`, sr.thick ? "thick" : "", sr.thin ? "thin" : "", sr.dashed ? "dashed" : ""].join(" ").trim();
      svg.append(s("path", { d, class: cls, "data-series": sr.name, "data-count": count }));
    });
    // Hover (and touch) read-out of every series at the nearest date.
    const hover = s("line", { class: "hover-line", y1: m.t, y2: m.t + h, visibility: "hidden" });
    const dots = series.map((sr) => s("circle", { r: 3, class: `series-${sr.color}`, visibility: "hidden" }));
    const overlay = s("rect", { x: m.l, y: m.t, width: w, height: h, fill: "transparent" });
    svg.append(hover, ...dots, overlay);
    const tip = el("div.tooltip", { hidden: true });
    const move = (ev) => {
      const rect = svg.getBoundingClientRect();
      const px = ((ev.clientX - rect.left) / rect.width) * width;
      const target = t0 + ((px - m.l) / w) * (t1 - t0);
      let lo = 0;
      let hi = times.length - 1;
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (times[mid] < target) lo = mid; else hi = mid;
      }
      const t = Math.abs(times[lo] - target) <= Math.abs(times[hi] - target) ? times[lo] : times[hi];
      hover.setAttribute("x1", x(t));
      hover.setAttribute("x2", x(t));
      hover.setAttribute("visibility", "visible");
      tip.replaceChildren(el("div", el("strong", isoOf(t))));
      series.forEach((sr, i) => {
        const v = byTime[i].get(t);
        if (v === null || v === undefined) { dots[i].setAttribute("visibility", "hidden"); return; }
        dots[i].setAttribute("cx", x(t));
        dots[i].setAttribute("cy", y(v));
        dots[i].setAttribute("visibility", "visible");
        tip.append(el("div", el(`span.sw.sw-${sr.color}`), `${sr.name}: ${yFormat(v)}`));
      });
      tip.hidden = false;
      const left = (x(t) / width) * rect.width;
      tip.style.left = `${Math.min(Math.max(0, left + 12), rect.width - 170)}px`;
      tip.style.top = "8px";
    };
    const leave = () => {
      hover.setAttribute("visibility", "hidden");
      dots.forEach((d) => d.setAttribute("visibility", "hidden"));
      tip.hidden = true;
    };
    overlay.addEventListener("pointermove", move);
    overlay.addEventListener("pointerdown", move);
    overlay.addEventListener("pointerleave", leave);
    container.replaceChildren(svg, tip);
  });
  return wrapper;
}

/**
 * Horizontal bars, a group per row.
 * config: {rows: [{label, values: [number|null, ...]}], series: [{name, color}], label,
 *          format(v), max}
 */
export function barChart(config) {
  const container = el("div.chart.bar-chart");
  const wrapper = el("div", container, legend(config.series));
  const rows = config.rows;
  const values = rows.flatMap((r) => r.values).filter((v) => Number.isFinite(v));
  if (!rows.length || !values.length) {
    container.append(el("p.empty", "No data to draw."));
    container.dataset.bars = "0";
    return wrapper;
  }
  const format = config.format || ((v) => String(v));
  const max = config.max ?? Math.max(...values, 0) * 1.12;
  const n = config.series.length;
  const barH = 12;
  const rowH = 20 + n * (barH + 3) + 8;
  const height = rows.length * rowH + 6;
  container.dataset.bars = String(values.length);

  responsive(container, (width) => {
    const m = { l: 6, r: 56 };
    const w = width - m.l - m.r;
    const svg = s("svg", {
      viewBox: `0 0 ${width} ${height}`, width, height, role: "img",
      "aria-label": config.label || "bar chart", "data-bars": values.length,
    }, s("title", {}, config.label || "bar chart"));
    rows.forEach((row, r) => {
      const top = r * rowH;
      svg.append(s("text", { class: "bar-label", x: m.l, y: top + 14 }, row.label));
      row.values.forEach((v, i) => {
        const yy = top + 20 + i * (barH + 3);
        const sr = config.series[i];
        if (!Number.isFinite(v)) {
          svg.append(s("text", { class: "bar-label", x: m.l, y: yy + barH - 2 }, `${sr.name}: n/a`));
          return;
        }
        const bw = Math.max(1, (Math.max(0, v) / max) * w);
        svg.append(s("rect", {
          x: m.l, y: yy, width: bw.toFixed(1), height: barH, rx: 2,
          class: `bar series-${sr.color ?? i}`, "data-value": v, "data-series": sr.name,
        }, s("title", {}, `${row.label} — ${sr.name}: ${format(v)}`)));
        svg.append(s("text", { class: "bar-label", x: m.l + bw + 4, y: yy + barH - 2 }, format(v)));
      });
    });
    container.replaceChildren(svg);
  });
  return wrapper;
}

/** Simple moving average of `values` over `k` items (null until k values are there). */
export function sma(values, k) {
  const out = new Array(values.length).fill(null);
  let sum = 0;
  for (let i = 0; i < values.length; i += 1) {
    sum += values[i];
    if (i >= k) sum -= values[i - k];
    if (i >= k - 1) out[i] = sum / k;
  }
  return out;
}
