// The one way the pages get data: the public JSON API of this same service.

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details || {};
  }
}

const TOKENS = "av-tokens";

export const auth = {
  get() {
    try { return JSON.parse(sessionStorage.getItem(TOKENS) || "null"); } catch (e) { return null; }
  },
  set(tokens) { sessionStorage.setItem(TOKENS, JSON.stringify(tokens)); },
  clear() { sessionStorage.removeItem(TOKENS); },
  get loggedIn() { return !!this.get(); },
};

// `raw`: a body sent as it is (a file's bytes) with `contentType`; `asText`: the answer's text
// (a CSV download) instead of JSON, when it succeeds.
async function send(path, { method = "GET", body, raw, contentType, asText, token, signal, allowStatus = [] } = {}) {
  const headers = { Accept: asText ? "text/csv, application/json" : "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (raw !== undefined) headers["Content-Type"] = contentType || "application/octet-stream";
  if (token) headers.Authorization = `Bearer ${token}`;
  let resp;
  try {
    resp = await fetch(path, {
      method, headers, signal, body: raw !== undefined ? raw : body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new ApiError(0, "network_error",
      "The service could not be reached. Check that it is running and try again.", {});
  }
  const text = await resp.text();
  if (asText && resp.ok) return text;
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch (e) { data = null; }
  }
  if (!resp.ok && !(allowStatus.includes(resp.status) && data && !data.error)) {
    const err = data && data.error;
    throw new ApiError(
      resp.status,
      (err && err.code) || `http_${resp.status}`,
      (err && err.message) || `The service answered ${resp.status} ${resp.statusText}.`,
      (err && err.details) || {},
    );
  }
  return data;
}

let refreshing = null;

async function refreshTokens() {
  const tokens = auth.get();
  if (!tokens) return false;
  try {
    const fresh = await send("/api/v1/auth/refresh", {
      method: "POST", body: { refresh_token: tokens.refresh_token },
    });
    auth.set(fresh);
    return true;
  } catch (e) {
    auth.clear();
    return false;
  }
}

/** GET/POST `path`; with `authed` the access token goes along, refreshed once on a 401. */
export async function api(path, options = {}) {
  if (!options.authed) return send(path, options);
  const tokens = auth.get();
  if (!tokens) throw new ApiError(401, "unauthorized", "Log in to see your portfolios.", {});
  try {
    return await send(path, { ...options, token: tokens.access_token });
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 401) throw e;
    refreshing = refreshing || refreshTokens().finally(() => { refreshing = null; });
    if (!(await refreshing)) {
      throw new ApiError(401, "unauthorized", "Your session has ended: log in again.", {});
    }
    return send(path, { ...options, token: auth.get().access_token });
  }
}

export async function login(email, password) {
  const tokens = await send("/api/v1/auth/login", { method: "POST", body: { email, password } });
  auth.set(tokens);
  return tokens;
}

export async function register(email, password) {
  return send("/api/v1/auth/register", { method: "POST", body: { email, password } });
}

export async function logout() {
  const tokens = auth.get();
  auth.clear();
  if (tokens) {
    try {
      await send("/api/v1/auth/logout", { method: "POST", body: { refresh_token: tokens.refresh_token } });
    } catch (e) { /* the session is gone locally either way */ }
  }
}

/** Build a query string from the non-empty values of `params`. */
export function qs(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") q.set(k, v);
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

// Data that does not change while the page is open is fetched once.
const memo = new Map();
export function once(path) {
  if (!memo.has(path)) {
    memo.set(path, api(path).catch((e) => { memo.delete(path); throw e; }));
  }
  return memo.get(path);
}
