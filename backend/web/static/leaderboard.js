// Leaderboard: every scored security of a universe, sortable, searchable and filterable.
import { api, once, qs } from "./api.js";
import {
  el, clear, field, option, load, num, money, sortableTable, ratingBadge, scoreCell, tickerLink, text,
} from "./ui.js";

const TOP_LIMIT = 500;  // the most /momentum/top answers at once
const IV_CHUNK = 100;  // the most tickers GET /options?tickers= takes

/** ticker -> {rank, reason}: the IV rank of each ticker's latest stored options snapshot. */
async function ivRanks(tickers) {
  const out = new Map();
  const chunks = [];
  for (let i = 0; i < tickers.length; i += IV_CHUNK) chunks.push(tickers.slice(i, i + IV_CHUNK));
  const bodies = await Promise.all(chunks.map((c) => api(`/api/v1/options${qs({ tickers: c.join(",") })}`)));
  for (const body of bodies) {
    for (const r of body.ranks) {
      const rank = r.iv_rank ? r.iv_rank.iv_rank : null;
      out.set(r.ticker, { rank, reason: r.reason || (r.iv_rank && r.iv_rank.reason) || null });
    }
  }
  return out;
}

/** Index of the categories: ticker -> the categories (objects, in list order) it belongs to. */
export function categoryIndex(catList) {
  const byTicker = new Map();
  for (const c of catList.categories) {
    for (const t of c.tickers) {
      if (!byTicker.has(t)) byTicker.set(t, []);
      byTicker.get(t).push(c);
    }
  }
  return byTicker;
}

/** Every scored member of a universe: the top list, plus (for more than 500) the rest by batch. */
async function universeScores(universe, asOf, securities) {
  const top = await api(`/api/v1/momentum/top${qs({ limit: TOP_LIMIT, universe, as_of: asOf })}`);
  let results = top.results;
  if (top.universe_size > results.length && universe === "all") {
    const seen = new Set(results.map((r) => r.ticker));
    const rest = securities.filter((s) => !seen.has(s.ticker) && s.bars > 0).map((s) => s.ticker);
    for (let i = 0; i < rest.length; i += TOP_LIMIT) {
      const batch = await api(`/api/v1/momentum/batch${qs({ as_of: asOf })}`, {
        method: "POST", body: { tickers: rest.slice(i, i + TOP_LIMIT) },
      });
      // Only those scored on the same day belong to the ranking (a delisted one stops earlier).
      results = results.concat(batch.results.filter((r) => r.score && r.score.as_of === top.as_of).map((r) => r.score));
    }
  }
  return { ...top, results };
}

export async function leaderboardView(main, params, query, ctx) {
  ctx.title("Leaderboard");
  const state = {
    universe: query.get("universe") || "all",
    asOf: query.get("as_of") || "",
    q: query.get("q") || "",
    sector: query.get("sector") || "",
    category: query.get("category") || "",
    iv: query.get("iv") === "1",
    sort: { key: query.get("sort") || "score", dir: query.get("dir") === "asc" ? "asc" : "desc" },
  };
  const meta = el("p.meta#leaderboard-meta", { "aria-live": "polite" });
  main.append(el("div.page-head", el("div", el("h1", "Momentum leaderboard"), meta)));

  const universeSel = el("select", { name: "universe" }, option("all", "All securities", true));
  const asOfInput = el("input", { type: "date", name: "as_of", value: state.asOf });
  const search = el("input", { type: "search", name: "q", placeholder: "Ticker or name", value: state.q, autocomplete: "off" });
  const sectorSel = el("select", { name: "sector" }, option("", "All sectors"));
  const categorySel = el("select", { name: "category" }, option("", "All categories"));
  const ivBox = el("input", { type: "checkbox", name: "iv", checked: state.iv });
  const count = el("p.meta#leaderboard-count", { "aria-live": "polite" });
  main.append(el("div.panel",
    el("form.controls", { role: "search", "aria-label": "Leaderboard filters", onsubmit: (e) => e.preventDefault() },
      field("Universe", universeSel, "universe"),
      field("Scores as of", asOfInput, "as-of"),
      field("Search", search, "search"),
      field("Sector", sectorSel, "sector"),
      field("Category", categorySel, "category"),
      field("IV rank column", ivBox, "iv-column")),
    count));
  const results = el("div#leaderboard-results");
  main.append(results);

  const [cats, secs] = await Promise.all([
    once("/api/v1/categories").catch(() => ({ categories: [] })),
    once("/api/v1/securities").catch(() => ({ securities: [] })),
  ]);
  if (!ctx.alive()) return;
  const byTicker = categoryIndex(cats);
  const security = new Map(secs.securities.map((s) => [s.ticker, s]));
  universeSel.append(option("model-portfolio", "Model portfolio", state.universe === "model-portfolio"));
  const group = el("optgroup", { label: "Categories" });
  for (const c of cats.categories) group.append(option(c.slug, c.name, state.universe === c.slug));
  universeSel.append(group);
  universeSel.value = state.universe;
  for (const sector of [...new Set(secs.securities.map((s) => s.sector).filter(Boolean))].sort()) {
    sectorSel.append(option(sector, sector, sector === state.sector));
  }
  for (const c of cats.categories) categorySel.append(option(c.slug, c.name, c.slug === state.category));

  let rows = [];
  let table = null;

  const categoriesOf = (r) => byTicker.get(r.requested_ticker) || byTicker.get(r.ticker) || [];

  function filtered() {
    const q = state.q.trim().toLowerCase();
    return rows.filter((r) => {
      if (q && !(r.ticker.toLowerCase().includes(q) || (r.requested_ticker || "").toLowerCase().includes(q)
        || (r.name || "").toLowerCase().includes(q))) return false;
      if (state.sector && r.sector !== state.sector) return false;
      if (state.category && !r.categories.some((c) => c.slug === state.category)) return false;
      return true;
    });
  }

  function refresh() {
    const shown = filtered();
    count.textContent = `Showing ${shown.length} of ${rows.length} scored securities`;
    if (table) table.update(shown);
  }

  const columns = [
    { key: "rank", label: "#", numeric: true, title: "Rank by score in the universe", pin: "wide" },
    { key: "ticker", label: "Ticker", render: (r) => tickerLink(r.ticker), pin: true },
    { key: "name", label: "Name", className: "wrap name" },
    { key: "sector", label: "Sector", render: (r) => text(r.sector) },
    { key: "category", label: "Category", value: (r) => r.categories.map((c) => c.name).join(", ") || null,
      render: (r) => text(r.categories.map((c) => c.name).join(", ")) },
    { key: "score", label: "Score", numeric: true, value: (r) => r.overall_momentum_score, render: (r) => scoreCell(r.overall_momentum_score), pinEndNarrow: true },
    { key: "rating", label: "Rating", value: (r) => r.overall_momentum_score, render: (r) => ratingBadge(r.rating), title: "Sort by rating (its score)" },
    { key: "percentile", label: "Percentile", numeric: true, value: (r) => r.percentile_rank, render: (r) => num(r.percentile_rank, 1) },
    { key: "price", label: "Price mom.", numeric: true, value: (r) => r.price_momentum, render: (r) => num(r.price_momentum, 1), title: "Sort by price momentum" },
    { key: "technical", label: "Technical", numeric: true, value: (r) => r.technical_momentum, render: (r) => num(r.technical_momentum, 1), title: "Sort by technical momentum" },
    { key: "relative", label: "Relative", numeric: true, value: (r) => r.relative_momentum, render: (r) => num(r.relative_momentum, 1), title: "Sort by relative momentum" },
    { key: "close", label: "Last close", numeric: true, value: (r) => r.current_price, render: (r) => money(r.current_price) },
  ];
  // Options: the IV rank of each ticker's latest stored snapshot (none: a dash, why on hover).
  const ivColumn = {
    key: "iv_rank", label: "IV rank", numeric: true, value: (r) => r.iv_rank,
    render: (r) => (r.iv_rank === null || r.iv_rank === undefined
      ? el("span.muted", { title: r.iv_reason || "loading" }, "—") : num(r.iv_rank, 1)),
    title: "Sort by IV rank: where the 30-day ATM implied volatility stands in its one-year range",
  };

  async function loadScores() {
    ctx.setQuery({ universe: state.universe === "all" ? "" : state.universe, as_of: state.asOf, iv: state.iv ? "1" : "" });
    await load(results, universeScores(state.universe, state.asOf || undefined, secs.securities), (top) => {
      if (!ctx.alive()) return;
      rows = top.results.map((r, i) => ({
        ...r,
        rank: i + 1,
        sector: (security.get(r.ticker) || {}).sector || null,
        categories: categoriesOf(r),
      }));
      const sources = [...new Set(rows.map((r) => r.data_source).filter(Boolean))].join(", ") || "unknown";
      const uniName = universeSel.selectedOptions[0] ? universeSel.selectedOptions[0].textContent : state.universe;
      clear(meta,
        "Scores as of ", el("strong#as-of-date", top.as_of),
        " · data source: ", el("strong#data-source", sources),
        ` · ${top.universe_size} scored in “${uniName}”`,
        rows[0] ? ` · model ${rows[0].model_version}` : "");
      table = sortableTable(state.iv ? [...columns, ivColumn] : columns, {
        id: "leaderboard-table",
        caption: `Momentum scores, ${uniName}, as of ${top.as_of}. Select a column header to sort.`,
        rows: [],
        sort: state.sort,
        empty: "No security matches the search and filters.",
        tall: true,
        onSort: (sort) => { state.sort = sort; ctx.setQuery({ sort: sort.key, dir: sort.dir }); },
      });
      results.append(table);
      refresh();
    }, "Loading scores…");
    if (state.iv && rows.length && ctx.alive()) {
      const mine = rows;
      try {
        const ranks = await ivRanks(mine.map((r) => r.ticker));
        if (!ctx.alive() || rows !== mine) return;
        // New row objects: the table builds a row once per object.
        rows = rows.map((r) => {
          const found = ranks.get(r.ticker) || { rank: null, reason: "not asked" };
          return { ...r, iv_rank: found.rank, iv_reason: found.rank === null ? found.reason : null };
        });
      } catch (e) {
        if (!ctx.alive() || rows !== mine) return;
        rows = rows.map((r) => ({ ...r, iv_reason: `IV ranks could not be read: ${e.message}` }));
      }
      refresh();
    }
  }

  universeSel.addEventListener("change", () => { state.universe = universeSel.value; loadScores(); });
  asOfInput.addEventListener("change", () => { state.asOf = asOfInput.value; loadScores(); });
  search.addEventListener("input", () => { state.q = search.value; ctx.setQuery({ q: state.q }); refresh(); });
  sectorSel.addEventListener("change", () => { state.sector = sectorSel.value; ctx.setQuery({ sector: state.sector }); refresh(); });
  categorySel.addEventListener("change", () => { state.category = categorySel.value; ctx.setQuery({ category: state.category }); refresh(); });
  ivBox.addEventListener("change", () => { state.iv = ivBox.checked; loadScores(); });
  await loadScores();
}
