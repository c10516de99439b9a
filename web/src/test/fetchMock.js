// A programmable fetch: routes map "METHOD /path" (query ignored) to a responder.
import { vi } from 'vitest';

export function jsonResponse(status, body, headers = {}) {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

export function mockFetch(routes) {
  const calls = [];
  const fn = vi.fn(async (url, init = {}) => {
    const u = new URL(url, 'http://localhost');
    const method = (init.method || 'GET').toUpperCase();
    const call = { method, path: u.pathname, query: Object.fromEntries(u.searchParams), headers: init.headers || {}, body: init.body ? JSON.parse(init.body) : undefined };
    calls.push(call);
    const r = routes[`${method} ${u.pathname}`];
    if (!r) return jsonResponse(404, { error: { code: 'not_found', message: 'Not found.' } });
    return typeof r === 'function' ? r(call) : r.clone();
  });
  vi.stubGlobal('fetch', fn);
  fn.calls = calls;
  return fn;
}
