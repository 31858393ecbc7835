// Options section of the security page: the stored snapshot's ATM implied volatility by expiry
// (term structure), the IV rank as a gauge with its history length, and the premium signal in
// words. Everything comes from GET /api/v1/options/{ticker}; a ticker without a snapshot says so.
import { api, ApiError } from "./api.js";
import { lineChart } from "./charts.js";
import { el, clear, errorBox, spinner, num, money, facts, isNum, text } from "./ui.js";

const SIGNAL_WORDS = {
  sell_premium: ["Sell premium", "options are expensive against their past year: selling them is paid well"],
  cheap_hedge: ["Cheap hedge", "options are cheap against their past year: protection costs little"],
  neutral: ["Neutral", "options are priced in the middle of their past year"],
  earnings_soon: ["Earnings soon", "earnings are due within days: implied volatility carries the event, the rank says little"],
};

const volPct = (v, d = 1) => (isNum(v) ? `${num(100 * v, d)}%` : "—");

export function optionsSection(ticker, ctx) {
  const box = el("section.panel#options-panel", { "aria-labelledby": "options-h" },
    el("h2#options-h", "Options: implied volatility"), spinner("Loading the options snapshot…"));
  api(`/api/v1/options/${encodeURIComponent(ticker)}`).then(
    (o) => { if (ctx.alive()) draw(box, o); },
    (e) => {
      if (!ctx.alive()) return;
      const missing = e instanceof ApiError && e.status === 404;
      clear(box, el("h2#options-h", "Options: implied volatility"), missing
        ? el("p.empty#options-empty", `No options snapshot is stored for ${ticker}.`)
        : errorBox(e));
    },
  );
  return box;
}

function gauge(rank) {
  const value = rank.iv_rank;
  const has = isNum(value);
  const meter = el("meter#iv-rank-gauge", {
    min: "0", max: "100", low: "30", high: "50", optimum: "40",
    value: has ? String(value) : "0",
    "aria-label": has ? `IV rank ${num(value, 1)} of 100` : "IV rank not available",
    "data-history": String(rank.history),
  });
  const words = has
    ? `IV rank ${num(value, 1)} (percentile ${num(rank.iv_percentile, 1)}) over ${rank.history} daily snapshots`
      + ` (window ${rank.window}; low ${volPct(rank.low)}, high ${volPct(rank.high)}; history from ${rank.history_source}).`
    : `No IV rank yet: ${rank.history} daily snapshot${rank.history === 1 ? "" : "s"}, at least ${rank.min_history} needed`
      + ` (${text(rank.reason)}).`;
  return el("div.iv-rank", el("h3", "IV rank"), meter, el("p.meta#iv-rank-text", words));
}

function signalWords(signal) {
  const known = SIGNAL_WORDS[signal.signal];
  const head = known ? `${known[0]}: ${known[1]}.` : "No signal: there is no IV rank yet.";
  return el("div.note-box#options-signal", { "data-signal": signal.signal || "none" },
    el("strong", head), " ", `Rule: ${signal.reason}.`,
    signal.earnings_date ? ` Next earnings ${signal.earnings_date} (${signal.days_to_earnings} days).` : "");
}

function draw(box, o) {
  const thirty = o.atm_iv_30d;
  const term = o.term_structure.filter((p) => isNum(p.atm_iv));
  const chart = el("div#options-term-chart");
  chart.append(lineChart({
    label: `${o.ticker} ATM implied volatility by expiry on ${o.snapshot_day}`,
    series: [{ name: "ATM IV", points: term.map((p) => [p.expiry, 100 * p.atm_iv]), thick: true }],
    yFormat: (v) => `${v.toFixed(0)}%`,
    empty: "No expiry from 7 to 365 days has an ATM volatility.",
    height: 220,
  }));
  clear(box,
    el("h2#options-h", "Options: implied volatility"),
    el("p.meta", `Our Black–Scholes–Merton volatilities of the snapshot of ${o.snapshot_day} (taken ${o.snapshot_time}, source ${text(o.data_source)}), risk-free rate ${volPct(o.risk_free_rate, 2)}.`),
    facts([
      ["Spot", money(o.spot)],
      ["30-day ATM IV", el("span#options-atm30", isNum(thirty.iv) ? volPct(thirty.iv) : `none (${text(thirty.reason)})`)],
      ["Expiries in the term structure", String(term.length)],
    ]),
    el("h3", "Term structure"), chart,
    gauge(o.iv_rank),
    signalWords(o.signal));
}
