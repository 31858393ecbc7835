// Security page: score, price chart with SMA 20/50/200, score history, the breakdown in words.
import { api, once, qs, ApiError } from "./api.js";
import { lineChart, sma } from "./charts.js";
import { categoryIndex } from "./leaderboard.js";
import { optionsSection } from "./options.js";
import {
  el, clear, load, errorBox, spinner, num, money, pct, ratingBadge, cards, facts, field, isNum, addMonths, text,
} from "./ui.js";

const RANGES = [["3M", 3], ["6M", 6], ["1Y", 12], ["2Y", 24], ["All", null]];

const p1 = (v) => (isNum(v) ? v.toFixed(1) : "—");
const signedPct = (v, d = 1) => pct(v, d, true);

function rangeButtons(ranges, current, onPick, label) {
  const group = el("div.button-group", { role: "group", "aria-label": label });
  const buttons = ranges.map(([name, months]) => el("button", {
    type: "button", "aria-pressed": String(name === current), "data-range": name,
    onclick: () => {
      buttons.forEach((b) => b.setAttribute("aria-pressed", String(b === buttons[ranges.findIndex((r) => r[0] === name)])));
      onPick(name, months);
    },
  }, name));
  group.append(...buttons);
  return group;
}

export async function securityView(main, [raw], query, ctx) {
  const ticker = raw.toUpperCase();
  ctx.title(ticker);
  const heading = el("h1", ticker);
  const subtitle = el("p.meta#security-meta");
  const head = el("div.panel#security-score", spinner("Loading the score…"));
  main.append(el("div.page-head", el("div", heading, subtitle)), head);
  const optionsBox = optionsSection(ticker, ctx);  // loads on its own; last once the rest is drawn
  main.append(optionsBox);

  let score;
  try {
    score = await api(`/api/v1/momentum/${encodeURIComponent(ticker)}`);
  } catch (e) {
    if (!ctx.alive()) return;
    clear(head, errorBox(e), el("p", "Try another ticker in the box at the top, or ", el("a", { href: "/app/", "data-nav": true }, "go back to the leaderboard"), "."));
    // No data at all: there is nothing else to draw (nor the options section, which would
    // only repeat that nothing is stored). Too short a history still has prices.
    if (!(e instanceof ApiError) || e.code !== "insufficient_history") {
      optionsBox.remove();
      return;
    }
  }
  if (!ctx.alive()) return;

  const pricesBox = el("section.panel#price-panel", { "aria-labelledby": "price-h" });
  const historyBox = el("section.panel#history-panel", { "aria-labelledby": "history-h" });
  const breakdownBody = el("div");
  const breakdownBox = el("section.panel.breakdown#breakdown-panel", { "aria-labelledby": "breakdown-h" },
    el("h2#breakdown-h", "How the latest score is made"), breakdownBody);
  main.append(pricesBox, historyBox, breakdownBox, optionsBox);

  const [pricesResult, cats] = await Promise.all([
    api(`/api/v1/prices/${encodeURIComponent(ticker)}`).then((v) => ({ ok: v }), (e) => ({ error: e })),
    once("/api/v1/categories").catch(() => ({ categories: [] })),
  ]);
  if (!ctx.alive()) return;
  const prices = pricesResult.ok;
  const info = prices || { ticker };
  const memberOf = categoryIndex(cats).get(ticker) || categoryIndex(cats).get(info.ticker) || [];
  if (score && score.name) heading.textContent = `${score.ticker} · ${score.name}`;
  else if (info.name) heading.textContent = `${info.ticker} · ${info.name}`;
  ctx.title(heading.textContent);
  clear(subtitle,
    "Sector: ", el("strong#security-sector", text(info.sector)),
    " · Category: ", el("span#security-category", memberOf.length
      ? memberOf.flatMap((c, i) => [i ? ", " : "", el("a", { href: `/app/?universe=${c.slug}`, "data-nav": true }, c.name)])
      : "not in a portfolio category"),
    score && score.requested_ticker !== score.ticker ? ` · asked as ${score.requested_ticker}, stored as ${score.ticker}` : "");

  if (score) drawScore(head, score);
  drawPrices(pricesBox, pricesResult);
  if (score) {
    drawHistory(historyBox, ticker, score, ctx);
    load(breakdownBody, api(`/api/v1/momentum/${encodeURIComponent(ticker)}/breakdown`),
      (b) => drawBreakdown(breakdownBody, b, prices), "Loading the breakdown…");
  } else {
    historyBox.remove();
    breakdownBox.remove();
  }
}

function drawScore(box, s) {
  clear(box,
    el("h2", "Momentum score"),
    el("div.score-hero",
      el("div", el("div.big#overall-score", num(s.overall_momentum_score)), el("div.meta", "out of 100")),
      el("div", ratingBadge(s.rating), el("p.meta",
        `Percentile ${num(s.percentile_rank, 1)}: stronger than ${num(s.percentile_rank, 0)}% of the ${s.universe_size} securities scored on ${s.as_of}.`))),
    cards([
      ["Price momentum", p1(s.price_momentum), "trend, return, acceleration"],
      ["Technical momentum", p1(s.technical_momentum), "RSI, volume, rate of change"],
      ["Relative momentum", p1(s.relative_momentum), "against its benchmark"],
      ["Last close", money(s.current_price), `${s.as_of} (${s.price_basis})`],
    ]),
    facts([
      ["As of", s.as_of],
      ["Data source", el("span#security-source", text(s.data_source))],
      ["Closes used", String(s.closes_used)],
      ["Model", s.model_version],
    ]),
    s.complete ? null : el("div.note-box",
      el("strong", "Incomplete score: "), "left out of this score — ",
      s.left_out.map((l) => `${l.name} (${l.reason})`).join("; ")));
}

function drawPrices(box, result) {
  clear(box, el("h2#price-h", "Price and moving averages"));
  if (result.error) {
    box.append(errorBox(result.error));
    return;
  }
  const bars = result.ok.prices;
  if (!bars.length) {
    box.append(el("p.empty", "No prices stored for this security."));
    return;
  }
  const dates = bars.map((b) => b.date);
  const closes = bars.map((b) => b.adj_close);
  // The averages run over the whole history, so a short window still starts with real values.
  const averages = [20, 50, 200].map((k) => sma(closes, k));
  const last = bars.length - 1;
  box.append(el("p.meta", `Adjusted daily close (splits and dividends adjusted — what the model scores) and its simple moving averages over 20, 50 and 200 trading days, computed in the page from ${bars.length} stored bars (${dates[0]} to ${dates[last]}, source ${text(result.ok.data_source)}).`));
  const chartBox = el("div#price-chart");
  const draw = (name, months) => {
    const from = months ? addMonths(dates[last], -months) : dates[0];
    const start = dates.findIndex((d) => d >= from);
    const pick = (arr) => dates.slice(start).map((d, i) => [d, arr[start + i]]);
    clear(chartBox, lineChart({
      label: `${result.ok.ticker} adjusted close with SMA 20, 50 and 200, ${name}`,
      series: [
        { name: "Adj. close", points: pick(closes), thick: true },
        { name: "SMA 20", points: pick(averages[0]) },
        { name: "SMA 50", points: pick(averages[1]) },
        { name: "SMA 200", points: pick(averages[2]), dashed: true },
      ],
      yFormat: (v) => `$${v.toLocaleString("en-US", { maximumFractionDigits: v < 10 ? 2 : 0 })}`,
    }));
  };
  box.append(el("div.controls", rangeButtons(RANGES, "1Y", draw, "Price chart range")), chartBox);
  draw("1Y", 12);
  const c = closes[last];
  box.append(facts([
    [`Adjusted close ${dates[last]}`, money(c)],
    ...[20, 50, 200].map((k, i) => [`SMA ${k}`, isNum(averages[i][last])
      ? `${money(averages[i][last])} — the close is ${c > averages[i][last] ? "above" : "at or below"} it`
      : `needs ${k} closes`]),
  ]));
}

function drawHistory(box, ticker, score, ctx) {
  const end = el("input", { type: "date", name: "end", value: score.as_of });
  const start = el("input", { type: "date", name: "start", value: addMonths(score.as_of, -12) });
  const chartBox = el("div#history-chart");
  const summary = el("p.meta#history-summary", { "aria-live": "polite" });
  const show = () => load(chartBox, api(`/api/v1/momentum/${encodeURIComponent(ticker)}/history${qs({ start: start.value, end: end.value })}`), (h) => {
    if (!ctx.alive()) return;
    const pts = h.points;
    chartBox.append(lineChart({
      label: `${ticker} momentum score history from ${start.value || "the first scored day"} to ${end.value || "the last"}`,
      series: [
        { name: "Overall", points: pts.map((p) => [p.date, p.overall_momentum_score]), thick: true },
        { name: "Price", points: pts.map((p) => [p.date, p.price_momentum]), thin: true },
        { name: "Technical", points: pts.map((p) => [p.date, p.technical_momentum]), thin: true },
        { name: "Relative", points: pts.map((p) => [p.date, p.relative_momentum]), thin: true },
      ],
      yMin: 0, yMax: 100, yFormat: (v) => v.toFixed(0),
      guides: [{ y: 80, label: "Strong Buy" }, { y: 65, label: "Buy" }, { y: 50, label: "Hold" }, { y: 35, label: "Weak Hold" }],
      empty: "No scores in this range.",
    }));
    if (pts.length) {
      const hi = pts.reduce((a, b) => (b.overall_momentum_score > a.overall_momentum_score ? b : a));
      const lo = pts.reduce((a, b) => (b.overall_momentum_score < a.overall_momentum_score ? b : a));
      summary.textContent = `${pts.length} daily scores from ${pts[0].date} to ${pts[pts.length - 1].date}: `
        + `from ${num(pts[0].overall_momentum_score)} (${pts[0].rating}) to ${num(pts[pts.length - 1].overall_momentum_score)} (${pts[pts.length - 1].rating}); `
        + `highest ${num(hi.overall_momentum_score)} on ${hi.date}, lowest ${num(lo.overall_momentum_score)} on ${lo.date}. First scored day: ${h.first_scored_date || "—"}.`;
    } else {
      summary.textContent = "";
    }
  }, "Loading the score history…");
  const preset = (name, months) => {
    end.value = score.as_of;
    start.value = months ? addMonths(score.as_of, -months) : "";
    show();
  };
  const presets = rangeButtons(RANGES, "1Y", preset, "Score history range");
  const custom = () => presets.querySelectorAll("button").forEach((b) => b.setAttribute("aria-pressed", "false"));
  clear(box,
    el("h2#history-h", "Score history"),
    el("form.controls", { onsubmit: (e) => { e.preventDefault(); custom(); show(); } },
      presets,
      field("From", start, "history-start"),
      field("To", end, "history-end"),
      el("button.primary", { type: "submit" }, "Show")),
    chartBox, summary);
  show();
}

/** The API's breakdown as sentences: every score and every point shown is the one the API
 * returned (MomentumBreakdown), with the inputs it was computed from; the page derives none. */
export function drawBreakdown(box, b, prices) {
  const left = new Map((b.left_out || []).map((l) => [l.name, l.reason]));
  const missing = (name, what) => el("li", `${what}: left out — ${left.get(name) || "not enough data"}.`);
  // One of the API's points, e.g. "20.0 of 20", in a span the tests can find.
  const points = (id, v, max) => el(`span#bd-${id}`, `${p1(v)} of ${max}`);
  const bar = prices && prices.prices.find((p) => p.date === b.as_of);
  const close = bar ? bar.adj_close : null;
  const r = b.returns || {};
  const sections = [];

  // Price momentum: trend + magnitude + acceleration.
  const smaName = { sma20: "20-day", sma50: "50-day", sma200: "200-day" };
  const averages = ["sma20", "sma50", "sma200"].map((key) => {
    const v = b.sma[key];
    if (!isNum(v)) return `the ${smaName[key]} average needs more history (left out)`;
    if (!isNum(close)) return `${smaName[key]} average ${money(v)}`;
    return `${close > v ? "above" : "at or below"} its ${smaName[key]} average of ${money(v)}`;
  });
  const earlier = b.sma.sma20_10_days_earlier;
  sections.push(el("section",
    el("h3", el("span", "Price momentum"), el("span#bd-price", `${p1(b.price_momentum)} / 100`)),
    el("p", "The sum of trend (0–20), return magnitude (0–40) and acceleration (0–40)."),
    el("ul",
      isNum(b.trend)
        ? el("li", "Trend ", points("trend", b.trend, 20), `: ${isNum(close) ? `the adjusted close of ${money(close)} is ` : ""}${averages.join(", ")}.`)
        : missing("trend", "Trend"),
      el("li", `Returns: ${[["r21", "1 month (21 days)"], ["r63", "3 months (63 days)"], ["r126", "6 months (126 days)"], ["r252", "1 year (252 days)"]]
        .map(([k, label]) => `${label} ${isNum(r[k]) ? signedPct(r[k]) : "not available"}`).join(", ")}.`),
      isNum(b.magnitude)
        ? el("li", "Magnitude ", points("magnitude", b.magnitude, 40), `: from the weighted return of those horizons, ${signedPct(b.weighted_return)}.`)
        : missing("magnitude", "Magnitude"),
      isNum(b.acceleration)
        ? el("li", "Acceleration ", points("acceleration", b.acceleration, 40),
          `: from the last month's return annualised minus the last quarter's, (1 + r21)^12 − (1 + r63)^4 = ${b.acceleration_input.toFixed(2)}, `
          + `and the slope of the 20-day average, ${b.slope.toFixed(2)}${isNum(earlier) ? ` (it moved from ${money(earlier)} to ${money(b.sma.sma20)} in 10 days)` : ""}.`)
        : missing("acceleration", "Acceleration"))));

  // Technical momentum.
  sections.push(el("section",
    el("h3", el("span", "Technical momentum"), el("span#bd-technical", `${p1(b.technical_momentum)} / 100`)),
    el("p", "The RSI, volume and rate-of-change scores (each 0–100), weighted together."),
    el("ul",
      isNum(b.rsi_score) ? el("li", "RSI score ", points("rsi-score", b.rsi_score, 100), `: the 14-day RSI is ${p1(b.rsi)}.`) : missing("rsi", "RSI"),
      isNum(b.volume_score)
        ? el("li", "Volume score ", points("volume-score", b.volume_score, 100), `: the day's volume was ${b.volume_ratio.toFixed(2)}× the average of the 30 sessions before.`)
        : missing("volume", "Volume score"),
      isNum(b.roc_score)
        ? el("li", "Rate-of-change score ", points("roc-score", b.roc_score, 100), `: the price changed ${b.roc >= 0 ? "+" : ""}${b.roc.toFixed(2)}% over 10 trading days.`)
        : missing("roc", "Rate of change"))));

  // Relative momentum.
  const gap = b.relative_gap;
  sections.push(el("section",
    el("h3", el("span", "Relative momentum"), el("span#bd-relative", isNum(b.relative_momentum) ? `${p1(b.relative_momentum)} / 100` : "left out")),
    el("ul", isNum(b.relative_momentum)
      ? el("li", `Over 1 month it returned ${signedPct(r.r21)} against ${signedPct(b.benchmark_return_21)} for its benchmark ${b.benchmark}: `
        + `${gap >= 0 ? "ahead" : "behind"} by ${Math.abs(gap * 100).toFixed(1)} percentage points.`)
      : missing("relative", `Relative momentum against ${b.benchmark}`))));

  // The composite and the rating, as the API gives them.
  const w = b.weights || {};
  const parts = [["price", b.price_momentum], ["technical", b.technical_momentum], ["relative", b.relative_momentum]];
  sections.push(el("section",
    el("h3", el("span", "Overall score"), el("span#bd-overall", `${num(b.overall_momentum_score)} / 100`)),
    el("p", `The weighted mean of ${parts.map(([k, v]) => `${k} ${isNum(v) ? p1(v) : "(left out)"} × ${isNum(w[k]) ? w[k].toFixed(2) : "—"}`).join(", ")}`
      + `${b.complete ? "" : " — the weights of what was left out are shared among the rest"}. `,
      "That is ", ratingBadge(b.rating), "."),
    b.complete ? null : el("div.note-box", el("strong", "Left out: "), (b.left_out || []).map((l) => `${l.name} (${l.reason})`).join("; "))));

  clear(box,
    el("p.meta", `As of ${b.as_of}, from ${b.closes_used} adjusted closes; model ${b.model_version}, benchmark ${b.benchmark}.`),
    sections);
}
