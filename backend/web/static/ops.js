// Operations: the service, its database, its cache, readiness and the last refresh.
import { api } from "./api.js";
import { el, clear, load, facts, cards, bytes, int, num, pct, text, dateTime } from "./ui.js";

const yesNo = (ok, yes = "yes", no = "no") => el(`span.badge.${ok ? "status-ok" : "status-bad"}`, ok ? yes : no);

export async function opsView(main, params, query, ctx) {
  ctx.title("Operations");
  const stamp = el("span.meta#ops-updated", { "aria-live": "polite" });
  const again = el("button#ops-refresh", { type: "button" }, "Refresh");
  main.append(el("div.page-head", el("div", el("h1", "Operations"),
    el("p.meta", "What the service holds and how it is doing, from its status endpoints.")), el("div.controls", stamp, again)));
  const overview = el("section#ops-overview", { "aria-label": "Overview" });
  // Each panel keeps its heading; its body shows the spinner, the data or the error.
  const panel = (id, title) => {
    const body = el("div");
    return [el(`section.panel#${id}-panel`, { "aria-labelledby": `${id}-h` }, el(`h2#${id}-h`, title), body), body];
  };
  const [dbPanel, db] = panel("db", "Database");
  const [cachePanel, cache] = panel("cache", "Cache");
  const [readyPanel, ready] = panel("ready", "Readiness");
  const [servicePanel, service] = panel("service", "Service");
  main.append(overview, el("div.grid-2", dbPanel, cachePanel), el("div.grid-2", readyPanel, servicePanel));

  const refresh = async () => {
    again.disabled = true;
    const dbP = api("/database/status", { allowStatus: [503] });
    const cacheP = api("/api/v1/cache/stats");
    const readyP = api("/health/ready", { allowStatus: [503] });
    const rootP = api("/");
    load(overview, Promise.all([dbP, cacheP.catch(() => null)]), ([d, c]) => {
      overview.append(cards([
        ["Newest bar", text(d.newest_bar_date), d.oldest_bar_date ? `since ${d.oldest_bar_date}` : null],
        ["Last refresh", d.last_refresh_at ? dateTime(d.last_refresh_at) : "never", d.last_refresh_at ? text(d.last_refresh_outcome) : "no refresh has run on this store"],
        ["Securities", int(d.securities), `${int(d.bars)} daily bars`],
        ["Data version", text(d.data_version), "raised by every write that changes a bar"],
        c ? ["Cache hit ratio", pct(c.hit_ratio, 0), `${int(c.hits)} hits, ${int(c.misses)} misses`] : null,
      ]));
    }, "Loading…");
    load(db, dbP, (d) => {
      db.append(facts([
        ["Engine", d.engine],
        ["Reachable", yesNo(d.reachable)],
        ["Error", d.error ? d.error : undefined],
        ["Round trip", d.latency_ms === null ? "—" : `${num(d.latency_ms, 1)} ms`],
        ["Migration", el("span", `${text(d.migration_revision)} (head ${d.migration_head}) `, yesNo(d.migrated, "up to date", "behind"))],
        ["Securities", int(d.securities)],
        ["Daily bars", int(d.bars)],
        ["Bars from", `${text(d.oldest_bar_date)} to ${text(d.newest_bar_date)}`],
        ["Data version", text(d.data_version)],
        ["Last refresh", el("span#last-refresh", d.last_refresh_at ? `${dateTime(d.last_refresh_at)} — ${text(d.last_refresh_outcome)}` : "never")],
        ["Connection pool", d.pool ? `${d.pool.pool_class}: ${text(d.pool.checked_out)} in use, ${text(d.pool.checked_in)} idle, size ${text(d.pool.size)}` : "—"],
      ]));
    }, "Loading the database status…");
    load(cache, cacheP, (c) => {
      cache.append(facts([
        ["Backend", c.backend],
        ["Reachable", yesNo(c.reachable)],
        ["Error", c.error ? c.error : undefined],
        ["Keys", int(c.keys)],
        ["Hits / misses", `${int(c.hits)} / ${int(c.misses)}`],
        ["Hit ratio", pct(c.hit_ratio, 1)],
        ["Computations", int(c.computations)],
        ["Memory used", bytes(c.memory_used_bytes)],
        ["Time to live", Object.entries(c.ttl_seconds || {}).map(([k, v]) => `${k.replace(/_/g, " ")} ${int(v)} s`).join(", ") || "—"],
        ["Key prefix", c.key_prefix],
        ["Data version", text(c.data_version)],
        ["Model version", c.model_version],
        ...Object.entries(c.details || {}).map(([k, v]) => [k[0].toUpperCase() + k.slice(1).replace(/_/g, " "), typeof v === "object" ? JSON.stringify(v) : text(v)]),
      ]));
    }, "Loading the cache statistics…");
    load(ready, readyP, (r) => {
      ready.append(
        el("p", "Status: ", yesNo(r.status === "ready", r.status, r.status)),
        el("ul", Object.entries(r.checks || {}).map(([name, c]) => el("li",
          el("strong", name), " ", c.configured ? yesNo(c.ok, "ok", "failing") : el("span.badge", "not configured"),
          c.latency_ms !== null && c.latency_ms !== undefined ? ` ${num(c.latency_ms, 1)} ms` : "",
          c.error ? ` — ${c.error}` : ""))));
    }, "Loading readiness…");
    load(service, rootP, (s) => {
      service.append(facts([
        ["Name", s.name], ["Version", s.version], ["Status", yesNo(s.status === "ok", s.status, s.status)],
        ["Model", s.model_version],
        ["API documentation", el("a", { href: s.docs }, s.docs)],
        ["OpenAPI schema", el("a", { href: s.openapi }, s.openapi)],
      ]));
    }, "Loading…");
    await Promise.allSettled([dbP, cacheP, readyP, rootP]);
    if (!ctx.alive()) return;
    stamp.textContent = `Updated ${new Date().toLocaleTimeString("en-GB")}`;
    again.disabled = false;
  };
  again.addEventListener("click", refresh);
  await refresh();
}
