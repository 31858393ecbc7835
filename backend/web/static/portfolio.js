// The model portfolio and the logged-in user's portfolios: holdings, allocation against the
// category targets, the rebalance plan and the value series against a benchmark.
import { api, auth, login, logout, register, qs, ApiError } from "./api.js";
import { barChart, lineChart } from "./charts.js";
import {
  el, clear, load, errorBox, spinner, num, int, money, pct, ratingBadge, cards, field, option,
  sortableTable, tickerLink, text, signedClass, isNum, dateTime,
} from "./ui.js";

// The market benchmarks offered for a performance, from the service's reference data
// (backend/reference/benchmarks.py, served at /app/reference.json): the page keeps no copy.
let reference = null;
const referenceData = () => (reference = reference || api("/app/reference.json"));

// Ledger figures (shares, cash, cost basis, gains) arrive as exact decimal text ("5065.1");
// they are turned into numbers only to be shown and sorted here.
const dec = (v) => (typeof v === "string" && v !== "" ? Number(v) : v);

function holdingsTable(holdings, withCost) {
  const columns = [
    { key: "ticker", label: "Ticker", render: (h) => tickerLink(h.ticker) },
    { key: "category", label: "Category" },
    { key: "shares", label: "Shares", numeric: true, render: (h) => num(h.shares, h.shares % 1 ? 4 : 0) },
    { key: "price", label: "Price", numeric: true, render: (h) => money(h.price) },
    { key: "value", label: "Value", numeric: true, render: (h) => money(h.value) },
    { key: "weight", label: "Weight", numeric: true, render: (h) => pct(h.weight) },
    { key: "score", label: "Score", numeric: true, render: (h) => num(h.score) },
    { key: "rating", label: "Rating", value: (h) => h.score, render: (h) => ratingBadge(h.rating) },
  ];
  if (withCost) {
    columns.push(
      { key: "cost_basis", label: "Cost basis", numeric: true, render: (h) => money(h.cost_basis) },
      { key: "unrealised_gain", label: "Unrealised", numeric: true,
        render: (h) => el("span", { class: signedClass(h.unrealised_gain) || null }, money(h.unrealised_gain)) },
    );
  }
  columns.push({ key: "reasons", label: "Notes", sortable: false, className: "wrap",
    render: (h) => text((h.reasons || []).join("; ") || (h.valuation !== "market" ? h.valuation : "")) });
  return sortableTable(columns, {
    id: "holdings-table", caption: "Holdings, by value. Select a column header to sort.",
    rows: holdings, sort: { key: "value", dir: "desc" }, empty: "No holdings.",
  });
}

function notes(list, title = "Notes") {
  const items = (list || []).filter(Boolean);
  if (!items.length) return null;
  return el("div.note-box", el("strong", `${title}: `), items.length === 1 ? items[0] : el("ul", items.map((n) => el("li", n))));
}

function drawAnalysis(summaryBox, holdingsBox, allocationBox, a, withCost) {
  const an = a.analysis;
  clear(summaryBox, cards([
    ["Total value", money(an.total_value), a.prices_as_of ? `prices of ${a.prices_as_of}` : null],
    ["Holdings", money(an.holdings_value), `${an.holdings.length} holdings, without cash`],
    ["Cash", money(an.cash), isNum(an.cash_weight) ? `${pct(an.cash_weight)} of the total` : null],
    ["Momentum score", num(an.momentum_score), isNum(an.score_coverage) ? `value-weighted, over ${pct(an.score_coverage, 0)} of the value` : "value-weighted"],
    withCost && isNum(an.unrealised_gain)
      ? ["Unrealised gain", money(an.unrealised_gain), pct(an.unrealised_gain_pct, 1, true), signedClass(an.unrealised_gain)] : null,
    isNum(dec(a.realised_gain)) ? ["Realised gain", money(dec(a.realised_gain)), isNum(dec(a.dividends)) ? `dividends ${money(dec(a.dividends))}` : null] : null,
  ]), notes([
    an.unpriced.length ? `no stored price (not valued): ${an.unpriced.join(", ")}` : null,
    an.unvalued.length && an.unvalued.join() !== an.unpriced.join() ? `not valued: ${an.unvalued.join(", ")}` : null,
    an.uncategorised.length ? `in no category: ${an.uncategorised.join(", ")}` : null,
    ...(an.notes || []),
  ]));
  clear(holdingsBox, el("h2#holdings-h", "Holdings"), holdingsTable(an.holdings, withCost));
  const rows = an.categories.map((c) => ({ label: c.name, values: [c.weight, c.target] }));
  if (an.cash_target > 1e-9 || an.cash > 0.005) rows.push({ label: "Cash", values: [an.cash_weight, an.cash_target] });
  const driftTable = sortableTable([
    { key: "name", label: "Category" },
    { key: "target", label: "Target", numeric: true, render: (c) => pct(c.target) },
    { key: "weight", label: "Actual", numeric: true, render: (c) => pct(c.weight) },
    { key: "drift", label: "Drift", numeric: true, render: (c) => el("span", { class: signedClass(c.drift) || null }, pct(c.drift, 1, true)) },
    { key: "value", label: "Value", numeric: true, render: (c) => money(c.value) },
    { key: "tickers", label: "Held", sortable: false, className: "wrap", render: (c) => text(c.tickers.join(", ")) },
  ], { id: "allocation-table", caption: "Allocation by category against its target", rows: an.categories, sort: { key: "target", dir: "desc" } });
  clear(allocationBox, el("h2#allocation-h", "Allocation against target"),
    el("p.meta", "Share of the portfolio's value in each category, beside the category's target."),
    el("div.grid-2",
      el("div#allocation-chart", barChart({
        label: "Allocation by category: actual weight against target weight",
        rows,
        series: [{ name: "Actual", color: 0 }, { name: "Target", color: 5 }],
        format: (v) => pct(v),
      })),
      el("div", el("h3", "Drift by category"), driftTable)));
}

function drawRebalance(box, path, authed) {
  const cash = el("input", { type: "number", min: "0", step: "100", value: "0", name: "cash" });
  const minTrade = el("input", { type: "number", min: "0", step: "10", value: "0", name: "min_trade" });
  const out = el("div#rebalance-result");
  const run = () => load(out, api(`${path}${qs({ cash: cash.value || 0, min_trade: minTrade.value || 0 })}`, { authed }), (r) => {
    const p = r.plan;
    out.append(cards([
      ["Total value", money(p.total_value)],
      ["Buys", money(p.bought), `${p.trades.filter((t) => t.side === "buy").length} trades`],
      ["Sells", money(p.sold), `${p.trades.filter((t) => t.side === "sell").length} trades`],
      ["Cash after", money(p.cash_after), `before ${money(p.cash_before)}`],
    ]));
    out.append(el("h3", "Trades"), sortableTable([
      { key: "side", label: "Side", render: (t) => el(`span.badge.side-${t.side}`, t.side.toUpperCase()) },
      { key: "ticker", label: "Ticker", render: (t) => tickerLink(t.ticker) },
      { key: "shares", label: "Shares", numeric: true, render: (t) => int(t.shares) },
      { key: "price", label: "Price", numeric: true, render: (t) => money(t.price) },
      { key: "amount", label: "Amount", numeric: true, render: (t) => money(t.amount) },
      { key: "category", label: "Category" },
      { key: "score", label: "Score", numeric: true, render: (t) => num(t.score) },
    ], { id: "trades-table", caption: "Whole-share trades toward the targets", rows: p.trades, sort: { key: "amount", dir: "desc" }, empty: "No trade needed: every category is within tolerance." }));
    out.append(el("h3", "Categories before and after"), sortableTable([
      { key: "name", label: "Category" },
      { key: "target", label: "Target", numeric: true, render: (c) => pct(c.target) },
      { key: "weight_before", label: "Before", numeric: true, render: (c) => pct(c.weight_before) },
      { key: "weight_after", label: "After", numeric: true, render: (c) => pct(c.weight_after) },
      { key: "status", label: "Status", className: "wrap" },
    ], { id: "rebalance-categories", caption: "Weights before and after the plan", rows: p.categories, sort: { key: "target", dir: "desc" } }));
    if (p.skipped.length) {
      out.append(el("details", el("summary", `${p.skipped.length} securities not traded`),
        el("ul", p.skipped.map((s) => el("li", `${s.ticker} (${s.category}): ${s.reason}`)))));
    }
    const n = notes(p.notes);
    if (n) out.append(n);
  }, "Planning trades…");
  clear(box, el("h2#rebalance-h", "Rebalance plan"),
    el("form.controls", { onsubmit: (e) => { e.preventDefault(); run(); } },
      field("New cash to invest ($)", cash, "rebalance-cash"),
      field("Smallest trade ($)", minTrade, "rebalance-min"),
      el("button.primary", { type: "submit" }, "Plan trades")),
    out);
  run();
}

async function drawPerformance(box, path, authed) {
  const start = el("input", { type: "date", name: "start" });
  const end = el("input", { type: "date", name: "end" });
  let choices;
  try {
    choices = await referenceData();
  } catch (e) {
    reference = null;  // asked again next time
    clear(box, el("h2#performance-h", "Value against a benchmark"), errorBox(e));
    return;
  }
  const bench = el("select", { name: "benchmark" }, choices.market_benchmarks.map((b) => option(b, b)));
  bench.value = choices.default_benchmark;
  const out = el("div#performance-result");
  const run = () => load(out, api(`${path}${qs({ start: start.value, end: end.value, benchmark: bench.value })}`, { authed }), (p) => {
    if (!start.value && p.start) start.value = p.start;
    out.append(cards([
      ["Return (time-weighted)", pct(p.twr, 1, true), `${p.start} to ${p.end}`, signedClass(p.twr)],
      [`${p.benchmark} return`, pct(p.benchmark_return, 1, true), "same days", signedClass(p.benchmark_return)],
      ["Against the benchmark", pct(p.active_return, 1, true), "active return", signedClass(p.active_return)],
      ["Max drawdown", pct(p.max_drawdown, 1), p.drawdown_peak ? `${p.drawdown_peak} → ${p.drawdown_trough}` : null],
      ["Volatility", pct(p.volatility, 1), "annualised"],
      ["Gain", money(p.gain), isNum(p.net_flows) && p.net_flows ? `net flows ${money(p.net_flows)}` : null, signedClass(p.gain)],
    ]));
    out.append(el("div#performance-chart", lineChart({
      label: `Growth of $100: ${p.name} against ${p.benchmark}`,
      series: [
        { name: `${p.name} (time-weighted)`, points: p.series.map((s) => [s.date, isNum(s.twr_index) ? s.twr_index * 100 : null]), thick: true },
        { name: p.benchmark, points: p.series.map((s) => [s.date, isNum(s.benchmark_index) ? s.benchmark_index * 100 : null]), color: 1 },
      ],
      yFormat: (v) => v.toFixed(0),
      guides: [{ y: 100, label: "start" }],
    })));
    const valued = p.series.filter((s) => isNum(s.total_value));
    if (valued.length) {
      const first = valued[0];
      const last = valued[valued.length - 1];
      out.append(el("p.meta", `Value (holdings and cash): ${money(first.total_value)} on ${first.date}, ${money(last.total_value)} on ${last.date} (${p.periods} daily periods). Each line is the growth of $100 from the first day.`));
    }
    const n = notes([...(p.notes || []), p.missing_prices_count ? `${p.missing_prices_count} missing prices were filled from an earlier day` : null]);
    if (n) out.append(n);
  }, "Loading the performance…");
  clear(box, el("h2#performance-h", "Value against a benchmark"),
    el("form.controls", { onsubmit: (e) => { e.preventDefault(); run(); } },
      field("From", start, "perf-start"), field("To", end, "perf-end"), field("Benchmark", bench, "perf-benchmark"),
      el("button.primary", { type: "submit" }, "Show")),
    out);
  run();
}

/** The four portfolio panels, each loading on its own. */
function portfolioPanels(main, base, { authed, withCost }) {
  const summary = el("section#portfolio-summary", { "aria-label": "Summary" });
  const holdings = el("section.panel#holdings-panel", { "aria-labelledby": "holdings-h" });
  const allocation = el("section.panel#allocation-panel", { "aria-labelledby": "allocation-h" });
  const rebalance = el("section.panel#rebalance-panel", { "aria-labelledby": "rebalance-h" });
  const performance = el("section.panel#performance-panel", { "aria-labelledby": "performance-h" });
  main.append(summary, holdings, allocation, rebalance, performance);
  clear(summary, spinner("Loading the analysis…"));
  clear(holdings, spinner("Loading the holdings…"));
  clear(allocation, spinner("Loading the allocation…"));
  api(`${base}/analysis`, { authed }).then(
    (a) => drawAnalysis(summary, holdings, allocation, a, withCost),
    (e) => {
      clear(summary);
      clear(holdings, el("h2#holdings-h", "Holdings"), errorBox(e));
      clear(allocation, el("h2#allocation-h", "Allocation against target"), errorBox(e));
    },
  );
  drawRebalance(rebalance, `${base}/rebalance`, authed);
  drawPerformance(performance, `${base}/performance`, authed);
}

export async function modelPortfolioView(main, params, query, ctx) {
  ctx.title("Model portfolio");
  main.append(el("div.page-head", el("div", el("h1", "Model portfolio"),
    el("p.meta", "The built-in “AI supply chain” allocation: nine categories, each with a target share of the portfolio. Scores and prices are the latest stored."))));
  portfolioPanels(main, "/api/v1/portfolio", { authed: false, withCost: false });
}

// ------------------------------------------------------------------------------ user portfolios

export function loginForm(main, ctx, intro) {
  const email = el("input", { type: "email", name: "email", autocomplete: "username", required: true });
  const password = el("input", { type: "password", name: "password", autocomplete: "current-password", required: true, maxlength: "128" });
  const status = el("div#login-status", { "aria-live": "polite" });
  const submit = el("button.primary#login-button", { type: "submit" }, "Log in");
  const create = el("button#register-button", { type: "button" }, "Create account");
  const busy = (on) => { submit.disabled = on; create.disabled = on; };
  const attempt = async (withRegister) => {
    if (!email.value || !password.value) {
      clear(status, errorBox(new Error("Enter your email and password."), "Missing details"));
      return;
    }
    busy(true);
    clear(status, spinner(withRegister ? "Creating the account…" : "Logging in…"));
    try {
      if (withRegister) await register(email.value, password.value);
      await login(email.value, password.value);
      ctx.rerender();
    } catch (e) {
      clear(status, errorBox(e, withRegister ? "Could not create the account" : "Could not log in"));
    } finally {
      busy(false);
    }
  };
  const form = el("form.panel#login-form", { onsubmit: (e) => { e.preventDefault(); attempt(false); }, "aria-labelledby": "login-h" },
    el("h2#login-h", "Log in"),
    el("p.meta", intro),
    el("div.form-grid", field("Email", email, "login-email"), field("Password", password, "login-password")),
    el("div.controls", submit, create),
    status);
  create.addEventListener("click", () => attempt(true));
  main.append(form);
}

async function accountBar(main, ctx) {
  const who = el("span.meta#whoami", "Signed in");
  const out = el("button#logout-button", { type: "button", onclick: async () => { await logout(); ctx.navigate("/app/portfolios"); } }, "Log out");
  main.append(el("div.controls", who, out));
  try {
    const me = await api("/api/v1/auth/me", { authed: true });
    who.textContent = `Signed in as ${me.email}`;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) { auth.clear(); ctx.rerender(); }
  }
}

export async function myPortfoliosView(main, params, query, ctx) {
  ctx.title("My portfolios");
  main.append(el("div.page-head", el("div", el("h1", "My portfolios"))));
  if (!auth.loggedIn) {
    loginForm(main, ctx, "Log in to see your portfolios, their allocation and performance. New here? Fill in an email and a password and create an account.");
    return;
  }
  await accountBar(main, ctx);
  const list = el("section.panel#portfolio-list", { "aria-labelledby": "list-h" });
  main.append(list);
  const name = el("input", { name: "name", required: true, maxlength: "100", placeholder: "e.g. Retirement" });
  const createStatus = el("div", { "aria-live": "polite" });
  main.append(el("form.panel#create-portfolio", {
    "aria-labelledby": "create-h",
    onsubmit: async (e) => {
      e.preventDefault();
      try {
        const p = await api("/api/v1/portfolios", { method: "POST", body: { name: name.value }, authed: true });
        ctx.navigate(`/app/portfolios/${p.id}`);
      } catch (err) { clear(createStatus, errorBox(err)); }
    },
  }, el("h2#create-h", "New portfolio"), el("div.controls", field("Name", name, "new-portfolio-name"), el("button.primary", { type: "submit" }, "Create")), createStatus));
  await load(list, api("/api/v1/portfolios", { authed: true }), (items) => {
    list.append(el("h2#list-h", "Your portfolios"));
    if (!items.length) {
      list.append(el("p.empty", "You have no portfolio yet: create one below, then add its transactions."));
      return;
    }
    list.append(sortableTable([
      { key: "name", label: "Portfolio", render: (p) => el("a", { href: `/app/portfolios/${p.id}`, "data-nav": true, class: "portfolio-link" }, p.name) },
      { key: "transactions", label: "Transactions", numeric: true },
      { key: "updated_at", label: "Last change", render: (p) => dateTime(p.updated_at) },
    ], { id: "portfolios-table", caption: "Your portfolios", rows: items, sort: { key: "name", dir: "asc" } }));
  }, "Loading your portfolios…");
}

/** A column of decimal text: shown and sorted as a number. */
function decimalColumn(key, label, show = money) {
  return { key, label, numeric: true, value: (p) => dec(p[key]), render: (p) => show(dec(p[key])) };
}

function positionsPanel(box, d) {
  const s = Object.fromEntries(Object.entries(d.summary).map(([k, v]) => [k, dec(v)]));
  const shares = (p) => num(dec(p.shares), dec(p.shares) % 1 ? 4 : 0);
  clear(box, el("h2#positions-h", "Positions and cash"),
    cards([
      ["Total value", money(s.total_value), s.unpriced.length ? `unpriced: ${s.unpriced.join(", ")}` : "positions and cash"],
      ["Holdings", money(s.holdings_value), "positions at market, without cash"],
      ["Cash", money(s.cash)],
      ["Net contributions", money(s.net_contributions), `deposits ${money(s.deposits)}`],
      ["Unrealised gain", money(s.unrealised_gain), null, signedClass(s.unrealised_gain)],
      ["Realised gain", money(s.realised_gain), `dividends ${money(s.dividends)} · fees ${money(s.fees)}`, signedClass(s.realised_gain)],
    ]),
    sortableTable([
      { key: "ticker", label: "Ticker", render: (p) => tickerLink(p.ticker) },
      decimalColumn("shares", "Shares", (v) => shares({ shares: v })),
      decimalColumn("average_cost", "Average cost"),
      decimalColumn("cost_basis", "Cost basis"),
      { key: "price", label: "Price", numeric: true, render: (p) => money(p.price) },
      { key: "price_date", label: "Price date", render: (p) => text(p.price_date) },
      decimalColumn("market_value", "Market value"),
      { key: "unrealised_gain", label: "Unrealised", numeric: true, value: (p) => dec(p.unrealised_gain),
        render: (p) => el("span", { class: signedClass(dec(p.unrealised_gain)) || null }, money(dec(p.unrealised_gain))) },
    ], { id: "positions-table", caption: `Open positions (${d.transactions} transactions in the ledger)`, rows: d.positions, sort: { key: "market_value", dir: "desc" }, empty: "No open position." }));
}

function transactionForm(id, ctx) {
  const date = el("input", { type: "date", name: "date", required: true });
  const type = el("select", { name: "type" }, ["BUY", "SELL", "DEPOSIT", "WITHDRAW", "DIVIDEND", "SPLIT", "FEE"].map((t) => option(t, t)));
  const ticker = el("input", { name: "ticker", maxlength: "15", placeholder: "NVDA" });
  const quantity = el("input", { type: "number", name: "quantity", step: "any", min: "0", required: true });
  const price = el("input", { type: "number", name: "price", step: "any", min: "0" });
  const fees = el("input", { type: "number", name: "fees", step: "any", min: "0" });
  const status = el("div", { "aria-live": "polite" });
  const value = (input) => (input.value === "" ? null : Number(input.value));
  return el("form.panel#transaction-form", {
    "aria-labelledby": "tx-h",
    onsubmit: async (e) => {
      e.preventDefault();
      clear(status, spinner("Saving…"));
      try {
        await api(`/api/v1/portfolios/${id}/transactions`, {
          method: "POST", authed: true,
          body: { date: date.value, type: type.value, ticker: ticker.value.trim().toUpperCase() || null, quantity: value(quantity), price: value(price), fees: value(fees) },
        });
        ctx.rerender();
      } catch (err) { clear(status, errorBox(err, "The transaction was not saved")); }
    },
  }, el("h2#tx-h", "Add a transaction"),
  el("p.meta", "Shares for BUY, SELL and DIVIDEND; the ratio for SPLIT (4 for 4-for-1); the cash amount for DEPOSIT, WITHDRAW and FEE."),
  el("div.form-grid", field("Date", date, "tx-date"), field("Type", type, "tx-type"), field("Ticker", ticker, "tx-ticker"),
    field("Quantity", quantity, "tx-quantity"), field("Price", price, "tx-price"), field("Fees", fees, "tx-fees")),
  el("div.controls", el("button.primary", { type: "submit" }, "Add")), status);
}

// ------------------------------------------------------------------------------ the ledger

const TX_TYPES = ["BUY", "SELL", "DEPOSIT", "WITHDRAW", "DIVIDEND", "SPLIT", "FEE"];
const LEDGER_PAGE = 100;

/** The import's refusal, line by line: `details.errors` of a 422 invalid_import. */
function importErrors(err) {
  const lines = (err instanceof ApiError && Array.isArray(err.details.errors)) ? err.details.errors : [];
  const box = errorBox(err, "The file was not imported", { ownTitle: lines.length > 0 });
  if (lines.length) {
    box.append(el("p.meta", "Refused lines (the header is line 1):"),
      el("ul#import-errors", lines.map((e) => el("li", { "data-line": e.line ?? "" },
        el("strong", `Line ${e.line ?? "?"}`), `${e.field ? ` · ${e.field}` : ""}${e.rule ? ` (${e.rule})` : ""}: ${e.reason || e.message || ""}`))));
  }
  return box;
}

/** Save `text` as a file through a temporary link (the export is an authorised request, so a
 * plain link to the API could not carry the token). */
function saveFile(text, filename, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = el("a", { href: url, download: filename, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * The portfolio's transactions, filtered by the API (type, ticker, dates: kept in the address),
 * paged; each can be deleted, and a refused delete says why (the API's message). CSV import
 * (all or nothing; the refused lines listed) and export.
 */
function ledgerPanel(id, query, ctx) {
  const f = {
    type: query.get("tx_type") || "",
    ticker: query.get("tx_ticker") || "",
    start: query.get("tx_start") || "",
    end: query.get("tx_end") || "",
    offset: Math.max(0, Number.parseInt(query.get("tx_offset") || "0", 10) || 0),
  };
  const type = el("select", { name: "tx_type" }, option("", "All types"), TX_TYPES.map((t) => option(t, t, t === f.type)));
  const ticker = el("input", { name: "tx_ticker", maxlength: "15", placeholder: "Any", value: f.ticker, autocomplete: "off", spellcheck: "false" });
  const start = el("input", { type: "date", name: "tx_start", value: f.start });
  const end = el("input", { type: "date", name: "tx_end", value: f.end });
  const status = el("div#ledger-status", { "aria-live": "polite" });
  const list = el("div#ledger-list");
  const pager = el("div.controls#ledger-pager");

  const show = async () => {
    ctx.setQuery({ tx_type: f.type, tx_ticker: f.ticker, tx_start: f.start, tx_end: f.end, tx_offset: f.offset || "" });
    const path = `/api/v1/portfolios/${id}/transactions${qs({ limit: LEDGER_PAGE, offset: f.offset, type: f.type, ticker: f.ticker, start: f.start, end: f.end })}`;
    clear(pager);
    await load(list, api(path, { authed: true }), (page) => {
      if (!ctx.alive()) return;
      const filtered = f.type || f.ticker || f.start || f.end;
      list.append(sortableTable([
        { key: "date", label: "Date", pin: true },
        { key: "type", label: "Type", render: (t) => el(`span.badge.tx-${t.type.toLowerCase()}`, t.type) },
        { key: "ticker", label: "Ticker", render: (t) => (t.ticker ? tickerLink(t.ticker) : "—") },
        decimalColumn("quantity", "Quantity", (v) => num(v, v % 1 ? 4 : 0)),
        decimalColumn("price", "Price"),
        decimalColumn("fees", "Fees"),
        { key: "note", label: "Note", className: "wrap", render: (t) => text(t.note) },
        { key: "actions", label: "Actions", sortable: false, render: (t) => deleteControl(t) },
      ], {
        id: "ledger-table",
        caption: `Transactions ${page.total ? `${page.offset + 1}–${page.offset + page.items.length} of ${page.total}` : "(none)"}${filtered ? " matching the filter" : ""}, in ledger order (date, then entry)`,
        rows: page.items,
        rowAttrs: (t) => ({ "data-id": t.id }),
        tall: true,
        empty: filtered ? "No transaction matches the filter." : "No transactions yet.",
      }));
      if (page.total > page.limit) {
        const go = (offset) => { f.offset = offset; show(); };
        pager.append(
          el("button#ledger-prev", { type: "button", disabled: page.offset === 0, onclick: () => go(Math.max(0, page.offset - page.limit)) }, "Previous"),
          el("span.meta", `Page ${Math.floor(page.offset / page.limit) + 1} of ${Math.ceil(page.total / page.limit)}`),
          el("button#ledger-next", { type: "button", disabled: page.offset + page.limit >= page.total, onclick: () => go(page.offset + page.limit) }, "Next"));
      }
    }, "Loading the transactions…");
  };

  // Delete in two steps (no browser dialog): "Delete" asks, "Yes, delete" sends.
  function deleteControl(t) {
    const cell = el("span.row-actions");
    const ask = () => clear(cell,
      el("button.danger.confirm-delete", { type: "button", "aria-label": `Yes, delete transaction ${t.id}`, onclick: () => remove(t, cell) }, "Yes, delete"),
      el("button.cancel-delete", { type: "button", onclick: idle }, "Cancel"));
    function idle() {
      clear(cell, el("button.delete-tx", { type: "button", "aria-label": `Delete transaction ${t.id} (${t.type}${t.ticker ? ` ${t.ticker}` : ""} on ${t.date})`, onclick: ask }, "Delete"));
    }
    idle();
    return cell;
  }

  async function remove(t, cell) {
    cell.querySelectorAll("button").forEach((b) => { b.disabled = true; });
    clear(status, spinner(`Deleting transaction ${t.id}…`));
    try {
      await api(`/api/v1/portfolios/${id}/transactions/${t.id}`, { method: "DELETE", authed: true });
      ctx.rerender();  // positions, cash and every view change with the ledger
    } catch (err) {
      if (!ctx.alive()) return;
      clear(status, el("div#delete-refused", errorBox(err, `Transaction ${t.id} was not deleted`, { ownTitle: true })));
      cell.querySelectorAll("button").forEach((b) => { b.disabled = false; });
      const cancel = cell.querySelector(".cancel-delete");
      if (cancel) cancel.click();
    }
  }

  // CSV import: the file's bytes as they are, all or nothing.
  const file = el("input", { type: "file", name: "csv", accept: ".csv,text/csv" });
  const importStatus = el("div#import-status", { "aria-live": "polite" });
  const importForm = el("form.controls#import-form", {
    onsubmit: async (e) => {
      e.preventDefault();
      const chosen = file.files && file.files[0];
      if (!chosen) { clear(importStatus, errorBox(new Error("Choose a CSV file first."), "No file")); return; }
      clear(importStatus, spinner(`Importing ${chosen.name}…`));
      try {
        const r = await api(`/api/v1/portfolios/${id}/transactions/import`, {
          method: "POST", authed: true, raw: await chosen.arrayBuffer(), contentType: "text/csv",
        });
        if (!ctx.alive()) return;
        // The page is redrawn (positions and views change); the new one says what happened.
        sessionStorage.setItem("av-import-done", `Imported ${r.imported} transactions from ${chosen.name}.`);
        ctx.rerender();
      } catch (err) {
        if (ctx.alive()) clear(importStatus, importErrors(err));
      }
    },
  }, field("CSV file", file, "import-file"), el("button.primary#import-button", { type: "submit" }, "Import"));
  const done = sessionStorage.getItem("av-import-done");
  if (done) {
    sessionStorage.removeItem("av-import-done");
    importStatus.append(el("p.note-box#import-done", done));
  }

  const exportStatus = el("div#export-status", { "aria-live": "polite" });
  const exportButton = el("button#export-button", {
    type: "button",
    onclick: async () => {
      clear(exportStatus);
      try {
        const csv = await api(`/api/v1/portfolios/${id}/transactions/export`, { authed: true, asText: true });
        saveFile(csv, `portfolio-${id}.csv`, "text/csv");
      } catch (err) { clear(exportStatus, errorBox(err, "The export failed")); }
    },
  }, "Export CSV");

  const apply = (e) => {
    e.preventDefault();
    Object.assign(f, { type: type.value, ticker: ticker.value.trim().toUpperCase(), start: start.value, end: end.value, offset: 0 });
    ticker.value = f.ticker;
    clear(status);
    show();
  };
  const reset = () => {
    type.value = ""; ticker.value = ""; start.value = ""; end.value = "";
    Object.assign(f, { type: "", ticker: "", start: "", end: "", offset: 0 });
    clear(status);
    show();
  };
  const panel = el("section.panel#ledger-panel", { "aria-labelledby": "ledger-h" },
    el("h2#ledger-h", "Transactions"),
    el("form.controls#ledger-filter", { role: "search", "aria-label": "Transaction filters", onsubmit: apply },
      field("Type", type, "ledger-type"), field("Ticker", ticker, "ledger-ticker"),
      field("From", start, "ledger-start"), field("To", end, "ledger-end"),
      el("button.primary", { type: "submit" }, "Filter"),
      el("button#ledger-reset", { type: "button", onclick: reset }, "Clear")),
    status, list, pager,
    el("h3", "Import and export"),
    el("p.meta", "CSV with the header date,type,ticker,quantity,price,fees,note. An import is all or nothing: if any line is refused, nothing is stored and each refused line is listed. The export imports back as it is."),
    importForm, importStatus,
    el("div.controls", exportButton), exportStatus);
  show();
  return panel;
}

export async function myPortfolioView(main, [id], query, ctx) {
  ctx.title("Portfolio");
  const heading = el("h1", "Portfolio");
  main.append(el("div.page-head", el("div", heading, el("p.meta", el("a", { href: "/app/portfolios", "data-nav": true }, "← All my portfolios")))));
  if (!auth.loggedIn) {
    loginForm(main, ctx, "Log in to see this portfolio.");
    return;
  }
  const positions = el("section.panel#positions-panel", { "aria-labelledby": "positions-h" });
  main.append(positions);
  let detail;
  try {
    clear(positions, spinner("Loading the portfolio…"));
    detail = await api(`/api/v1/portfolios/${id}`, { authed: true });
  } catch (e) {
    if (!ctx.alive()) return;
    if (e instanceof ApiError && e.status === 401) { auth.clear(); ctx.rerender(); return; }
    clear(positions, errorBox(e));
    return;
  }
  if (!ctx.alive()) return;
  heading.textContent = detail.name;
  ctx.title(detail.name);
  positionsPanel(positions, detail);
  main.append(transactionForm(id, ctx), ledgerPanel(id, query, ctx));
  if (!detail.transactions) {
    main.append(el("p.empty", "Add the first transaction to see the analysis, the rebalance plan and the performance."));
    return;
  }
  portfolioPanels(main, `/api/v1/portfolios/${id}`, { authed: true, withCost: true });
}
