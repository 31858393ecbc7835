// The strategy backtest of the model rule: its value beside SPY, the figures, every
// rebalance's trades and the caveats (GET /api/v1/research/strategy).
import { api, qs } from "./api.js";
import { lineChart } from "./charts.js";
import {
  el, load, num, int, money, pct, cards, field, option, sortableTable, tickerLink, signedClass,
} from "./ui.js";

const FIELDS = ["start", "end", "rebalance", "cash", "cost_bps", "min_trade", "risk_free"];

function figures(m) {
  if (!m) return null;
  return `TWR ${pct(m.twr, 1, true)} · CAGR ${pct(m.cagr, 1, true)} · volatility ${pct(m.volatility, 1)} · Sharpe ${num(m.sharpe)}`;
}

function draw(out, r) {
  const m = r.strategy;
  const b = r.benchmark_metrics;
  out.append(cards([
    ["End value", money(m.end_value, 0), `from ${money(r.cash, 0)}, ${r.first_day} – ${r.last_day}`],
    ["Return (TWR)", pct(m.twr, 1, true), b ? `${r.benchmark} ${pct(b.twr, 1, true)}` : null, signedClass(m.twr)],
    ["CAGR", pct(m.cagr, 1, true), b ? `${r.benchmark} ${pct(b.cagr, 1, true)}` : null],
    ["Volatility", pct(m.volatility, 1), b ? `${r.benchmark} ${pct(b.volatility, 1)}` : null],
    ["Sharpe", num(m.sharpe), b ? `${r.benchmark} ${num(b.sharpe)}` : null],
    ["Max drawdown", pct(m.max_drawdown, 1), `${m.drawdown_peak} → ${m.drawdown_trough}${m.drawdown_recovered ? `, back ${m.drawdown_recovered}` : ", not recovered"}`, "neg"],
    ["Turnover", num(r.turnover), `${num(r.annual_turnover)} a year`],
    ["Costs paid", money(r.costs_paid), `dividends ${money(r.dividends_received)}`],
  ]));
  out.append(el("div#strategy-chart", lineChart({
    label: `Value of the model rule against ${r.benchmark}`,
    series: [
      { name: "Model rule", points: r.series.map((p) => [p.date, p.value]), thick: true },
      { name: r.benchmark, points: r.series.map((p) => [p.date, p.benchmark_value]), color: 5 },
    ],
    yFormat: (v) => money(v, 0),
  })));
  out.append(el("p.meta", `Model rule: ${figures(m)}`), ...(b ? [el("p.meta", `${r.benchmark}: ${figures(b)}`)] : []));
  out.append(el("h2", "Rebalances"), sortableTable([
    { key: "date", label: "Date" },
    { key: "trades", label: "Trades", numeric: true, value: (x) => x.trades.length, render: (x) => int(x.trades.length) },
    { key: "bought", label: "Bought", numeric: true, render: (x) => money(x.bought, 0) },
    { key: "sold", label: "Sold", numeric: true, render: (x) => money(x.sold, 0) },
    { key: "costs", label: "Costs", numeric: true, render: (x) => money(x.costs) },
    { key: "turnover", label: "Turnover", numeric: true, render: (x) => pct(x.turnover) },
    { key: "cash_after", label: "Cash after", numeric: true, render: (x) => money(x.cash_after, 0) },
  ], { id: "rebalances-table", caption: `${r.rebalances.length} rebalances (${r.rebalance_day})`, rows: r.rebalances, sort: { key: "date", dir: "asc" } }));
  const trades = r.rebalances.flatMap((x) => x.trades.map((t) => ({ ...t, date: x.date })));
  out.append(el("h2", "Trades"), sortableTable([
    { key: "date", label: "Date" },
    { key: "side", label: "Side", render: (t) => el(`span.badge.side-${t.side}`, t.side.toUpperCase()) },
    { key: "ticker", label: "Ticker", render: (t) => tickerLink(t.ticker) },
    { key: "shares", label: "Shares", numeric: true, render: (t) => int(t.shares) },
    { key: "price", label: "Price", numeric: true, render: (t) => money(t.price) },
    { key: "amount", label: "Amount", numeric: true, render: (t) => money(t.amount, 0) },
    { key: "category", label: "Category" },
    { key: "score", label: "Score", numeric: true, render: (t) => num(t.score) },
  ], { id: "strategy-trades", caption: "Every trade, at the close of its rebalance day", rows: trades, sort: { key: "date", dir: "asc" }, empty: "No trade." }));
  out.append(el("h2", "Caveats"), el("ul#strategy-caveats", r.caveats.map((c) => el("li.wrap", c))),
    el("p.meta", `Data version ${r.data_version} (${r.data_sources.join(", ")}), last stored day ${r.data_last_date}.`));
}

export async function strategyView(main, _params, query, ctx) {
  ctx.title("Strategy backtest");
  main.append(el("div.page-head", el("h1", "Strategy backtest of the model rule"),
    el("p.meta", "Start with cash; on the first trading day of each month or quarter, rebalance toward the category targets with the scores of that day, in whole shares at that close.")));
  const input = (name, attrs) => el("input", { ...attrs, name, value: query.get(name) || attrs.value || "" });
  const controls = {
    start: input("start", { type: "date" }),
    end: input("end", { type: "date" }),
    rebalance: el("select", { name: "rebalance" }, ["monthly", "quarterly"].map((f) => option(f, f, (query.get("rebalance") || "monthly") === f))),
    cash: input("cash", { type: "number", min: "0", step: "any", value: "100000" }),
    cost_bps: input("cost_bps", { type: "number", min: "0", max: "1000", step: "any", value: "0" }),
    min_trade: input("min_trade", { type: "number", min: "0", step: "any", value: "0" }),
    risk_free: input("risk_free", { type: "number", min: "-0.5", max: "1", step: "any", value: "0" }),
  };
  const labels = { start: "From", end: "To", rebalance: "Rebalance", cash: "Cash ($)", cost_bps: "Cost (bps)", min_trade: "Smallest trade ($)", risk_free: "Risk-free rate" };
  const out = el("section.panel#strategy-result", { "aria-live": "polite" });
  const run = () => {
    const params = Object.fromEntries(FIELDS.map((k) => [k, controls[k].value]));
    ctx.setQuery(params);
    load(out, api(`/api/v1/research/strategy${qs(params)}`), (r) => draw(out, r), "Running the backtest…");
  };
  main.append(el("form.controls", { onsubmit: (e) => { e.preventDefault(); run(); } },
    ...FIELDS.map((k) => field(labels[k], controls[k], `strategy-${k}`)),
    el("button.primary", { type: "submit" }, "Run")), out);
  run();
}
