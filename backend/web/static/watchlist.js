// The watchlist page: the momentum watchlist per category (strongest members the chosen
// portfolio does not hold, beside the category's allocation gap) and, logged in, your named
// watchlists (add, remove, fill from a category).
import { api, auth, qs, ApiError } from "./api.js";
import { loginForm } from "./portfolio.js";
import {
  el, clear, load, errorBox, spinner, num, pct, ratingBadge, cards, facts, field, option,
  sortableTable, tickerLink, text, signedClass, isNum,
} from "./ui.js";

const signed = (v) => (isNum(v) ? `${v > 0 ? "+" : ""}${num(v)}` : "—");
const change = (v, note) => el("span", { class: signedClass(v) || null, title: note || null }, signed(v));
const priorityBadge = (p) => el(`span.badge.priority-${p || "none"}`, p || "—");

/** The momentum watchlist of the model portfolio, or of one of yours. */
function drawMomentum(box, w, onAdd) {
  clear(box, el("h2#momentum-h", "Momentum watchlist"),
    el("p.meta", `Members of each category that ${w.portfolio_name} does not hold, scoring at least ${num(w.min_score, 0)}, strongest first (at most ${w.max_per_category} per category).`),
    cards([
      ["Candidates", String(w.summary.candidates), `scores of ${text(w.as_of)}`],
      ["High-priority categories", String(w.summary.high_priority_categories.length), "more than 2 points under target"],
      ["Data source", w.data_sources.join(", ") || "—", `data version ${w.data_version}`],
    ]));
  for (const c of w.categories) {
    const section = el(`section.watch-category#cat-${c.slug}`, { "aria-labelledby": `cat-${c.slug}-h` },
      el("h3", { id: `cat-${c.slug}-h` }, c.name, " ", priorityBadge(c.priority)),
      facts([
        ["Target", pct(c.target)],
        ["Current weight", pct(c.current_weight)],
        ["Allocation gap", el("span", { class: signedClass(c.allocation_gap) || null }, pct(c.allocation_gap, 1, true))],
        ["Held", c.held.length ? c.held.join(", ") : "none"],
      ]));
    const columns = [
      { key: "ticker", label: "Ticker", render: (x) => tickerLink(x.ticker) },
      { key: "name", label: "Name", className: "wrap", render: (x) => text(x.name) },
      { key: "score", label: "Score", numeric: true, render: (x) => num(x.score) },
      { key: "rating", label: "Rating", value: (x) => x.score, render: (x) => ratingBadge(x.rating) },
      { key: "percentile_rank", label: "Percentile", numeric: true, render: (x) => num(x.percentile_rank, 1) },
      { key: "score_change_20d", label: "20-day change", numeric: true, render: (x) => change(x.score_change_20d, x.change_note) },
    ];
    if (onAdd) {
      columns.push({ key: "add", label: "", sortable: false, render: (x) => el("button.add-candidate", { type: "button", dataset: { ticker: x.ticker }, onclick: () => onAdd(x.ticker) }, "Add to list") });
    }
    section.append(sortableTable(columns, {
      id: `candidates-${c.slug}`, caption: `${c.name}: candidates`, rows: c.candidates,
      sort: { key: "score", dir: "desc" }, empty: `No member scores ${num(w.min_score, 0)} or more outside the portfolio.`,
    }));
    if (c.unscored.length) {
      section.append(el("details", el("summary", `${c.unscored.length} members without a score`),
        el("ul", c.unscored.map((u) => el("li", `${u.ticker}: ${u.reason}`)))));
    }
    box.append(section);
  }
}

/** One of your watchlists: its tickers with their scores now and when added. */
function drawList(box, detail, categories, portfolioId, refresh) {
  const status = el("div#list-status", { "aria-live": "polite" });
  const act = async (fn) => {
    clear(status, spinner("Saving…"));
    try { await fn(); await refresh(); } catch (e) { clear(status, errorBox(e, "Not saved")); }
  };
  const ticker = el("input", { name: "ticker", maxlength: "15", placeholder: "NVDA", required: true });
  const category = el("select", { name: "category" }, categories.map((c) => option(c.slug, c.name)));
  const table = sortableTable([
    { key: "ticker", label: "Ticker", render: (i) => tickerLink(i.ticker) },
    { key: "score", label: "Score", numeric: true, render: (i) => num(i.score) },
    { key: "rating", label: "Rating", value: (i) => i.score, render: (i) => ratingBadge(i.rating) },
    { key: "percentile_rank", label: "Percentile", numeric: true, render: (i) => num(i.percentile_rank, 1) },
    { key: "added_score", label: "Score when added", numeric: true, render: (i) => el("span", { title: i.added_note || null }, num(i.added_score)) },
    { key: "added_score_date", label: "Of", render: (i) => text(i.added_score_date) },
    { key: "change_since_added", label: "Change since", numeric: true, render: (i) => change(i.change_since_added, i.note) },
    { key: "remove", label: "", sortable: false, render: (i) => el("button.remove-ticker", { type: "button", "aria-label": `Remove ${i.ticker}`, onclick: () => act(() => api(`/api/v1/watchlists/${detail.id}/tickers/${encodeURIComponent(i.ticker)}`, { method: "DELETE", authed: true })) }, "Remove") },
  ], { id: "watchlist-items", caption: `${detail.name}: ${detail.tickers} tickers`, rows: detail.items, sort: { key: "score", dir: "desc" }, empty: "No ticker yet: add one, or fill the list from a category." });
  clear(box,
    el("h3", detail.name),
    table,
    el("form.controls#add-ticker-form", { onsubmit: (e) => { e.preventDefault(); act(() => api(`/api/v1/watchlists/${detail.id}/tickers`, { method: "POST", authed: true, body: { ticker: ticker.value.trim() } })); } },
      field("Ticker", ticker, "add-ticker"), el("button.primary", { type: "submit" }, "Add")),
    el("form.controls#fill-form", { onsubmit: (e) => { e.preventDefault(); act(() => api(`/api/v1/watchlists/${detail.id}/fill${qs({ category: category.value, portfolio_id: portfolioId })}`, { method: "POST", authed: true })); } },
      field("Fill from category", category, "fill-category"), el("button", { type: "submit" }, "Add members not held")),
    status);
}

async function drawMyLists(box, ctx, state) {
  const categories = (await api("/api/v1/categories")).categories;
  const lists = await api("/api/v1/watchlists", { authed: true });
  if (!ctx.alive()) return;
  const name = el("input", { name: "name", maxlength: "100", required: true, placeholder: "e.g. Chips" });
  const status = el("div", { "aria-live": "polite" });
  const chooser = el("select#watchlist-choice", { name: "watchlist" }, lists.map((l) => option(String(l.id), `${l.name} (${l.tickers})`)));
  const detailBox = el("div#watchlist-detail");
  const show = async () => {
    if (!chooser.value) { clear(detailBox, el("p.empty", "You have no watchlist yet: create one.")); return; }
    state.listId = Number(chooser.value);
    ctx.setQuery({ list: state.listId });
    await load(detailBox, api(`/api/v1/watchlists/${state.listId}`, { authed: true }),
      (d) => {
        chooser.selectedOptions[0].textContent = `${d.name} (${d.tickers})`;
        drawList(detailBox, d, categories, state.portfolioId, show);
      }, "Loading the watchlist…");
  };
  if (state.listId && lists.some((l) => l.id === state.listId)) chooser.value = String(state.listId);
  chooser.addEventListener("change", show);
  const del = el("button#delete-watchlist", { type: "button", onclick: async () => {
    if (!chooser.value) return;
    try { await api(`/api/v1/watchlists/${chooser.value}`, { method: "DELETE", authed: true }); state.listId = null; ctx.setQuery({ list: null }); ctx.rerender(); } catch (e) { clear(status, errorBox(e)); }
  } }, "Delete list");
  clear(box, el("h2#lists-h", "My watchlists"),
    el("form.controls#create-watchlist", { onsubmit: async (e) => {
      e.preventDefault();
      try {
        const w = await api("/api/v1/watchlists", { method: "POST", authed: true, body: { name: name.value } });
        state.listId = w.id; ctx.setQuery({ list: w.id }); ctx.rerender();
      } catch (err) { clear(status, errorBox(err, "The list was not created")); }
    } }, field("New list", name, "new-watchlist-name"), el("button.primary", { type: "submit" }, "Create")),
    status,
    lists.length ? el("div.controls", field("Watchlist", chooser, "watchlist-select"), del) : null,
    detailBox);
  await show();
}

export async function watchlistView(main, params, query, ctx) {
  ctx.title("Watchlist");
  const state = {
    minScore: query.get("min_score") || "70",
    portfolioId: query.get("portfolio") || "",
    listId: Number(query.get("list")) || null,
  };
  main.append(el("div.page-head", el("div", el("h1", "Watchlist"),
    el("p.meta", "Strong momentum outside your holdings, by category, and your own lists of tickers to watch."))));
  const minScore = el("input", { type: "number", name: "min_score", min: "0", max: "100", step: "1", value: state.minScore });
  const portfolio = el("select", { name: "portfolio" }, option("", "Model portfolio"));
  const momentumBox = el("section.panel#momentum-panel", { "aria-labelledby": "momentum-h" });
  const listsBox = el("section.panel#lists-panel", { "aria-labelledby": "lists-h" });
  const addTo = async (ticker) => {
    const chooser = document.getElementById("watchlist-choice");
    if (!chooser || !chooser.value) { window.alert("Create a watchlist first (below)."); return; }
    try {
      await api(`/api/v1/watchlists/${chooser.value}/tickers`, { method: "POST", authed: true, body: { ticker } });
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 409)) { window.alert(e.message); return; }
    }
    chooser.dispatchEvent(new Event("change"));
  };
  const run = () => {
    state.minScore = minScore.value || "70";
    state.portfolioId = portfolio.value;
    ctx.setQuery({ min_score: state.minScore, portfolio: state.portfolioId });
    return load(momentumBox, api(`/api/v1/watchlist${qs({ min_score: state.minScore, portfolio_id: state.portfolioId })}`, { authed: !!state.portfolioId }),
      (w) => drawMomentum(momentumBox, w, auth.loggedIn ? addTo : null), "Scoring the categories…");
  };
  main.append(el("form.controls#watchlist-controls", { onsubmit: (e) => { e.preventDefault(); run(); } },
    field("Lowest score", minScore, "watch-min-score"),
    field("Portfolio", portfolio, "watch-portfolio"),
    el("button.primary", { type: "submit" }, "Show")), momentumBox, listsBox);
  if (auth.loggedIn) {
    try {
      const mine = await api("/api/v1/portfolios", { authed: true });
      for (const p of mine) portfolio.append(option(String(p.id), p.name));
      portfolio.value = mine.some((p) => String(p.id) === state.portfolioId) ? state.portfolioId : "";
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) { auth.clear(); }
    }
  }
  run();
  if (!auth.loggedIn) {
    clear(listsBox, el("h2#lists-h", "My watchlists"));
    loginForm(listsBox, ctx, "Log in to keep your own watchlists and to see the watchlist of your portfolios.");
    return;
  }
  clear(listsBox, el("h2#lists-h", "My watchlists"), spinner("Loading your watchlists…"));
  try {
    await drawMyLists(listsBox, ctx, state);
  } catch (e) {
    clear(listsBox, el("h2#lists-h", "My watchlists"), errorBox(e));
  }
}
