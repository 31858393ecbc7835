// The dashboard's shell: routes on the path under /app/, keeps the nav and theme, and hands
// each view the <main> element to draw into.
import { leaderboardView } from "./leaderboard.js";
import { securityView } from "./security.js";
import { modelPortfolioView, myPortfoliosView, myPortfolioView } from "./portfolio.js";
import { opsView } from "./ops.js";
import { watchlistView } from "./watchlist.js";
import { compareView } from "./compare.js";
import { strategyView } from "./strategy.js";
import { alertsView } from "./alerts.js";
import { el, clear, errorBox } from "./ui.js";

const ROUTES = [
  [/^\/app\/?$/, leaderboardView, "leaderboard"],
  [/^\/app\/security\/([^/]+)\/?$/, securityView, null],  // a security is in no one section
  [/^\/app\/portfolio\/?$/, modelPortfolioView, "portfolio"],
  [/^\/app\/portfolios\/?$/, myPortfoliosView, "portfolios"],
  [/^\/app\/portfolios\/(\d+)\/?$/, myPortfolioView, "portfolios"],
  [/^\/app\/watchlist\/?$/, watchlistView, "watchlist"],
  [/^\/app\/compare\/?$/, compareView, "compare"],
  [/^\/app\/strategy\/?$/, strategyView, "strategy"],
  [/^\/app\/ops\/?$/, opsView, "ops"],
  [/^\/app\/alerts\/?$/, alertsView, "alerts"],
];

const main = document.getElementById("main");
let generation = 0;

function notFound(target) {
  target.append(el("h1", { tabindex: "-1" }, "Page not found"),
    errorBox(new Error(`There is no dashboard page at ${location.pathname}.`), "Page not found"),
    el("p", el("a", { href: "/app/", "data-nav": true }, "Go to the leaderboard")));
}

async function render(focus) {
  generation += 1;
  const mine = generation;
  const path = location.pathname;
  const query = new URLSearchParams(location.search);
  let view = notFound;
  let section = null;
  let params = [];
  for (const [pattern, fn, sec] of ROUTES) {
    const m = path.match(pattern);
    if (m) {
      view = fn;
      section = sec;
      params = m.slice(1).map(decodeURIComponent);
      break;
    }
  }
  document.querySelectorAll(".nav-list a").forEach((a) => {
    if (a.dataset.section === section) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  });
  clear(main);
  const ctx = {
    alive: () => mine === generation,
    title: (t) => { document.title = `${t} · AlphaVelocity`; },
    navigate,
    // Keep a view's state in the address (shareable, survives reload) without a new entry.
    setQuery(values) {
      const q = new URLSearchParams(location.search);
      for (const [k, v] of Object.entries(values)) {
        if (v === undefined || v === null || v === "") q.delete(k); else q.set(k, v);
      }
      const s = q.toString();
      history.replaceState(null, "", `${location.pathname}${s ? `?${s}` : ""}`);
    },
    rerender: () => render(false),
  };
  try {
    await view(main, params, query, ctx);
  } catch (e) {
    if (ctx.alive()) main.append(errorBox(e));
    console.error(e);  // eslint-disable-line no-console
  }
  if (focus && ctx.alive()) {
    const h1 = main.querySelector("h1");
    if (h1) {
      h1.setAttribute("tabindex", "-1");
      h1.focus({ preventScroll: true });
    }
    window.scrollTo(0, 0);
  }
}

export function navigate(url, { replace = false } = {}) {
  if (replace) history.replaceState(null, "", url); else history.pushState(null, "", url);
  render(true);
}

document.addEventListener("click", (ev) => {
  const a = ev.target.closest("a[href]");
  if (!a || ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  if (a.target && a.target !== "_self") return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !url.pathname.startsWith("/app/") && url.pathname !== "/app") return;
  if (url.pathname.startsWith("/app/static/")) return;
  ev.preventDefault();
  navigate(url.pathname + url.search);
});

window.addEventListener("popstate", () => render(true));

// Theme: light by default (or the system's preference), remembered once chosen.
const toggle = document.getElementById("theme-toggle");
function showTheme() {
  const dark = document.documentElement.dataset.theme === "dark";
  toggle.setAttribute("aria-pressed", String(dark));
  toggle.textContent = dark ? "Light theme" : "Dark theme";
}
toggle.addEventListener("click", () => {
  const next = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
  document.documentElement.dataset.theme = next;
  try { localStorage.setItem("av-theme", next); } catch (e) { /* private mode */ }
  showTheme();
});
showTheme();

document.getElementById("quick-search").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const input = ev.target.elements.ticker;
  const ticker = input.value.trim().toUpperCase();
  if (!ticker) return;
  input.value = "";
  navigate(`/app/security/${encodeURIComponent(ticker)}`);
});

render(false);
