// The Alerts page: your alerts (mark read), your rules (create, delete), your webhook and
// how its deliveries went. Everything through /api/v1/alerts with your login.
import { api, auth } from "./api.js";
import { el, clear, errorBox, load, sortableTable, field, option, num, text, dateTime, cards, spinner } from "./ui.js";

const CONDITIONS = [
  ["rating_change", "Rating changes"],
  ["score_crosses_above", "Score crosses above a level"],
  ["score_crosses_below", "Score crosses below a level"],
  ["enters_top_quintile", "Enters the top quintile (percentile ≥ 80)"],
  ["leaves_top_quintile", "Leaves the top quintile"],
];
const NEEDS_LEVEL = new Set(["score_crosses_above", "score_crosses_below"]);
const conditionLabel = (c) => (CONDITIONS.find(([k]) => k === c) || [c, c])[1];
const conditionText = (c, level) => (NEEDS_LEVEL.has(c)
  ? `Score crosses ${c === "score_crosses_above" ? "above" : "below"} ${num(level)}`
  : conditionLabel(c));

function state(s) {
  return `${num(s.score)} · ${s.rating} · pct ${num(s.percentile)}`;
}

const STATUS_CLASS = { delivered: "status-ok", pending: "status-warn", failed: "status-bad" };
function statusBadge(status) {
  return el("span.badge", { class: `badge ${STATUS_CLASS[status] || ""}`.trim(), "data-status": status }, status);
}

export async function alertsView(main, params, query, ctx) {
  ctx.title("Alerts");
  main.append(el("div.page-head", el("div", el("h1", "Alerts"),
    el("p.meta", "Rules on score changes, checked after every price update; alerts can be posted to a Slack-style webhook."))));
  if (!auth.loggedIn) {
    main.append(el("section.panel#alerts-login", el("p", "Log in first: ",
      el("a", { href: "/app/portfolios", "data-nav": true }, "log in or create an account"),
      ", then come back to this page.")));
    return;
  }
  const firings = el("section.panel#alert-firings", { "aria-labelledby": "firings-h" });
  const rules = el("section.panel#alert-rules", { "aria-labelledby": "rules-h" });
  const hook = el("section.panel#alert-webhook", { "aria-labelledby": "webhook-h" });
  main.append(firings, rules, hook);
  const portfolios = api("/api/v1/portfolios", { authed: true }).catch(() => []);
  const unreadOnly = query.get("unread") === "true";
  await Promise.all([
    drawFirings(firings, unreadOnly, ctx),
    drawRules(rules, portfolios, ctx),
    drawWebhook(hook, ctx),
  ]);
}

async function drawFirings(box, unreadOnly, ctx) {
  const path = `/api/v1/alerts?limit=200${unreadOnly ? "&unread=true" : ""}`;
  await load(box, api(path, { authed: true }), (page) => {
    const filter = el("select#alert-filter", {
      onchange: () => { ctx.setQuery({ unread: filter.value === "unread" ? "true" : null }); ctx.rerender(); },
    }, option("all", "All alerts", !unreadOnly), option("unread", "Unread only", unreadOnly));
    box.append(el("h2#firings-h", "Your alerts"),
      cards([["Unread", String(page.unread)], ["Shown", `${page.items.length} of ${page.total}`]]),
      el("div.controls", field("Show", filter, "alert-filter-label")));
    if (!page.items.length) {
      box.append(el("p.empty", unreadOnly ? "No unread alerts." : "No alert has fired yet: rules are checked after each price update."));
      return;
    }
    box.append(sortableTable([
      { key: "date", label: "Date", value: (a) => a.current.date, render: (a) => a.current.date },
      { key: "ticker", label: "Ticker", render: (a) => el("a", { href: `/app/security/${encodeURIComponent(a.ticker)}`, "data-nav": true }, a.ticker) },
      { key: "condition", label: "Condition", render: (a) => conditionText(a.condition, a.level) },
      { key: "previous", label: "Before", value: (a) => a.previous.score, render: (a) => state(a.previous) },
      { key: "current", label: "After", value: (a) => a.current.score, render: (a) => state(a.current) },
      { key: "delivery_status", label: "Webhook", render: (a) => statusBadge(a.delivery_status) },
      {
        key: "read", label: "Read", value: (a) => (a.read ? 1 : 0),
        render: (a) => (a.read ? el("span.meta.alert-read", "read") : el("button.mark-read", {
          type: "button", "aria-label": `Mark the ${a.ticker} alert read`,
          onclick: async (e) => {
            e.target.disabled = true;
            try {
              await api(`/api/v1/alerts/${a.id}/read`, { method: "POST", authed: true });
              ctx.rerender();
            } catch (err) { e.target.replaceWith(errorBox(err)); }
          },
        }, "Mark read")),
      },
    ], { id: "alerts-table", caption: "Your alerts, newest first", rows: page.items, sort: { key: "date", dir: "desc" }, rowAttrs: (a) => ({ class: a.read ? "read" : "unread" }) }));
  }, "Loading your alerts…");
}

async function drawRules(box, portfoliosPromise, ctx) {
  await load(box, Promise.all([api("/api/v1/alerts/rules", { authed: true }), portfoliosPromise]), ([items, portfolios]) => {
    const names = Object.fromEntries(portfolios.map((p) => [p.id, p.name]));
    box.append(el("h2#rules-h", "Your rules"));
    if (!items.length) box.append(el("p.empty", "No rule yet: add one below."));
    else {
      box.append(sortableTable([
        { key: "name", label: "Rule" },
        { key: "condition", label: "Condition", render: (r) => conditionText(r.condition, r.level) },
        {
          key: "target", label: "On", value: (r) => r.target.kind,
          render: (r) => (r.target.kind === "portfolio"
            ? `portfolio ${names[r.target.portfolio_id] || `#${r.target.portfolio_id}`}`
            : r.target.tickers.join(", ")),
        },
        { key: "enabled", label: "Enabled", render: (r) => (r.enabled ? "yes" : "no") },
        {
          key: "delete", label: "Delete", sortable: false, render: (r) => el("button.delete-rule", {
            type: "button", "aria-label": `Delete rule ${r.name}`,
            onclick: async (e) => {
              e.target.disabled = true;
              try {
                await api(`/api/v1/alerts/rules/${r.id}`, { method: "DELETE", authed: true });
                ctx.rerender();
              } catch (err) { e.target.replaceWith(errorBox(err)); }
            },
          }, "Delete"),
        },
      ], { id: "rules-table", caption: "Your alert rules", rows: items, sort: { key: "name", dir: "asc" } }));
    }
    box.append(ruleForm(portfolios, ctx));
  }, "Loading your rules…");
}

function ruleForm(portfolios, ctx) {
  const name = el("input", { name: "name", required: true, maxlength: "100", placeholder: "e.g. Leaders" });
  const condition = el("select", { name: "condition" }, CONDITIONS.map(([k, label]) => option(k, label, k === "rating_change")));
  const level = el("input", { name: "level", type: "number", min: "0", max: "100", step: "any", placeholder: "0-100" });
  const kind = el("select", { name: "kind" }, option("tickers", "Tickers", true),
    portfolios.length ? option("portfolio", "One of my portfolios", false) : null);
  const tickers = el("input", { name: "tickers", placeholder: "AAPL, MSFT, NVDA", spellcheck: "false" });
  const portfolio = el("select", { name: "portfolio" }, portfolios.map((p, i) => option(String(p.id), p.name, i === 0)));
  const levelField = field("Level", level, "rule-level");
  const tickersField = field("Tickers (comma-separated)", tickers, "rule-tickers");
  const portfolioField = field("Portfolio", portfolio, "rule-portfolio");
  const sync = () => {
    levelField.hidden = !NEEDS_LEVEL.has(condition.value);
    level.required = !levelField.hidden;
    tickersField.hidden = kind.value !== "tickers";
    portfolioField.hidden = kind.value !== "portfolio";
  };
  condition.addEventListener("change", sync);
  kind.addEventListener("change", sync);
  sync();
  const status = el("div#rule-status", { "aria-live": "polite" });
  const form = el("form#create-rule", {
    "aria-labelledby": "new-rule-h",
    onsubmit: async (e) => {
      e.preventDefault();
      const target = kind.value === "portfolio"
        ? { kind: "portfolio", portfolio_id: Number(portfolio.value) }
        : { kind: "tickers", tickers: tickers.value.split(",").map((t) => t.trim()).filter(Boolean) };
      const body = { name: name.value, condition: condition.value, target };
      if (NEEDS_LEVEL.has(condition.value)) body.level = Number(level.value);
      clear(status, spinner("Saving…"));
      try {
        await api("/api/v1/alerts/rules", { method: "POST", body, authed: true });
        ctx.rerender();
      } catch (err) { clear(status, errorBox(err, "Could not add the rule")); }
    },
  }, el("h3#new-rule-h", "New rule"),
  el("div.form-grid", field("Name", name, "rule-name"), field("When", condition, "rule-condition"), levelField,
    field("On", kind, "rule-kind"), tickersField, portfolioField),
  el("div.controls", el("button.primary", { type: "submit" }, "Add rule")), status);
  return form;
}

async function drawWebhook(box, ctx) {
  await load(box, api("/api/v1/alerts/webhook", { authed: true }), (w) => {
    const url = el("input", { name: "url", type: "url", maxlength: "2048", placeholder: "a Slack incoming-webhook URL", value: w.url || "" });
    const status = el("div#webhook-status", { "aria-live": "polite" });
    box.append(el("h2#webhook-h", "Webhook"),
      el("p.meta#webhook-current", w.url ? `Alerts are posted to ${w.url}` : "No webhook: alerts are only listed here."),
      el("form#webhook-form", {
        onsubmit: async (e) => {
          e.preventDefault();
          clear(status, spinner("Checking the address…"));
          try {
            await api("/api/v1/alerts/webhook", { method: "PUT", body: { url: url.value }, authed: true });
            ctx.rerender();
          } catch (err) { clear(status, errorBox(err, "Webhook refused")); }
        },
      }, el("div.controls", field("Webhook URL", url, "webhook-url"), el("button.primary", { type: "submit" }, "Save"),
        w.url ? el("button#webhook-remove", {
          type: "button",
          onclick: async () => {
            try {
              await api("/api/v1/alerts/webhook", { method: "DELETE", authed: true });
              ctx.rerender();
            } catch (err) { clear(status, errorBox(err)); }
          },
        }, "Remove") : null), status));
    if (!w.deliveries.length) {
      box.append(el("p.empty", "No delivery yet."));
      return;
    }
    box.append(sortableTable([
      { key: "created_at", label: "When", render: (d) => dateTime(d.created_at) },
      { key: "status", label: "Status", render: (d) => statusBadge(d.status) },
      { key: "attempts", label: "Attempts", numeric: true },
      { key: "http_status", label: "HTTP", numeric: true, render: (d) => text(d.http_status) },
      { key: "error", label: "Error", render: (d) => text(d.error) },
    ], { id: "deliveries-table", caption: "Latest deliveries", rows: w.deliveries, sort: { key: "created_at", dir: "desc" } }));
  }, "Loading your webhook…");
}
