// HTTP behaviour of the core against a real server: limits (413/414/431, slow clients), CORS,
// security headers, static files with the SPA fallback, /health and /metrics, JSON validation,
// and a PostgreSQL restart under requests (503 during the outage, 200 after).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, api, BUILD, ROOT } from '../lib/server.mjs';

const dbprobe = { name: 'dbprobe', path: join(BUILD, 'test-plugins/dbprobe.so') };
let srv;
let webRoot;

// Send raw bytes, collect the answer until the server closes or `ms` passes.
function raw(port, chunks, { ms = 3000, gapMs = 0 } = {}) {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let out = '';
    let closed = false;
    const t0 = Date.now();
    sock.on('data', (d) => { out += d; });
    sock.on('close', () => { closed = true; resolve({ out, closed, ms: Date.now() - t0 }); });
    sock.on('error', () => {});
    (async () => {
      for (const c of chunks) {
        if (sock.destroyed) break;
        sock.write(c);
        if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
      }
    })();
    setTimeout(() => { if (!closed) { sock.destroy(); resolve({ out, closed: false, ms: Date.now() - t0 }); } }, ms);
  });
}

before(async () => {
  webRoot = mkdtempSync(join(tmpdir(), 'sh-web-'));
  mkdirSync(join(webRoot, 'assets'));
  writeFileSync(join(webRoot, 'index.html'), '<!doctype html><title>app</title><div id=root></div>');
  writeFileSync(join(webRoot, 'assets', 'app-abc123.js'), 'console.log("app")');
  writeFileSync(join(webRoot, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  srv = await startServer({
    plugins: [dbprobe],
    server: {
      web_root: webRoot, cors_origins: ['http://allowed.example'], max_body_bytes: 4096,
      max_uri_bytes: 1024, max_header_bytes: 2048, read_timeout_ms: 1500,
    },
  });
});

after(async () => { await srv?.stop(); });

test('health answers ok with the database and redis state and the plugin list', async () => {
  const r = await api(srv.url, 'GET', '/health');
  assert.equal(r.status, 200);
  assert.equal(r.body.status, 'ok');
  assert.equal(r.body.database.ok, true);
  assert.deepEqual(r.body.redis, { ok: true });
  assert.ok(r.body.plugins.some((p) => p.name === 'dbprobe'));
  assert.equal(typeof r.body.uptime, 'number');
});

test('metrics are Prometheus text with request counters', async () => {
  await api(srv.url, 'GET', '/api/dbprobe');
  const res = await fetch(srv.url + '/metrics');
  const text = await res.text();
  assert.match(res.headers.get('content-type'), /^text\/plain/);
  assert.match(text, /# TYPE streamhub_http_requests_total counter/);
  assert.match(text, /streamhub_http_requests_total\{code="2xx"\} \d+/);
  assert.match(text, /streamhub_db_connections_up \d+/);
});

test('a plugin route reaches the database', async () => {
  const r = await api(srv.url, 'GET', '/api/dbprobe');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, { one: 1 });
});

test('security headers are on API, error and static answers', async () => {
  for (const path of ['/api/dbprobe', '/api/nothing-here', '/', '/assets/app-abc123.js']) {
    const res = await fetch(srv.url + path);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff', path);
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer', path);
    assert.equal(res.headers.get('x-frame-options'), 'DENY', path);
  }
  const apiRes = await fetch(srv.url + '/api/dbprobe');
  assert.equal(apiRes.headers.get('cache-control'), 'no-store');
  const page = await fetch(srv.url + '/');
  assert.match(page.headers.get('content-security-policy'), /default-src 'self'/);
});

test('unknown API path is 404 JSON and a wrong method is 405 with Allow', async () => {
  const r = await api(srv.url, 'GET', '/api/nothing-here');
  assert.equal(r.status, 404);
  assert.equal(r.body.error.code, 'not_found');
  const m = await api(srv.url, 'DELETE', '/api/dbprobe');
  assert.equal(m.status, 405);
  assert.equal(m.headers.get('allow'), 'GET, HEAD');
});

test('static files have their MIME type and cache policy, app routes fall back to index.html', async () => {
  const js = await fetch(srv.url + '/assets/app-abc123.js');
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type'), /^text\/javascript/);
  assert.match(js.headers.get('cache-control'), /immutable/);
  const svg = await fetch(srv.url + '/favicon.svg');
  assert.equal(svg.headers.get('content-type'), 'image/svg+xml');
  const spa = await fetch(srv.url + '/room/abc');
  assert.equal(spa.status, 200);
  assert.match(await spa.text(), /<div id=root>/);
  assert.equal(spa.headers.get('cache-control'), 'no-cache');
  const missingAsset = await fetch(srv.url + '/assets/missing.js');
  assert.equal(missingAsset.status, 404);
  const missingFile = await fetch(srv.url + '/nothing.png');
  assert.equal(missingFile.status, 404);
});

test('path traversal never leaves the web root', async () => {
  for (const p of ['/../../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/assets/..%2f..%2fetc%2fpasswd']) {
    const r = await raw(srv.port, [`GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`]);
    assert.doesNotMatch(r.out, /root:x:0:0/, p);
  }
});

test('an oversized body is refused with 413 before it is read', async () => {
  const r = await api(srv.url, 'POST', '/api/dbprobe/echo', { raw: JSON.stringify({ text: 'x'.repeat(10000) }), headers: { 'content-type': 'application/json' } });
  assert.equal(r.status, 413);
  assert.equal(r.body.error.code, 'payload_too_large');
});

test('a long URI gets 414 and oversized headers get 431, and the server keeps serving', async () => {
  const long = await raw(srv.port, [`GET /${'a'.repeat(5000)} HTTP/1.1\r\nHost: x\r\n\r\n`]);
  assert.match(long.out, /^HTTP\/1\.1 414 /);
  const big = await raw(srv.port, [`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(4000)}\r\n\r\n`]);
  assert.match(big.out, /^HTTP\/1\.1 431 /);
  const many = await raw(srv.port, [`GET / HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 150 }, (_, i) => `X-${i}: v\r\n`).join('')}\r\n`]);
  assert.match(many.out, /^HTTP\/1\.1 431 /);
  // split across many small writes (the libevhtp split-read bug path)
  const split = await raw(srv.port, [`GET /${'c'.repeat(600)}`, `${'c'.repeat(600)} HTTP/1.1\r\n`, 'Host: x\r\n\r\n'], { gapMs: 30 });
  assert.match(split.out, /^HTTP\/1\.1 414 /);
  assert.equal((await api(srv.url, 'GET', '/health')).status, 200);
});

test('a slowloris client that never finishes its head is timed out', async () => {
  const chunks = ['GET /health HTTP/1.1\r\n', 'Host: x\r\n', 'X-A: 1\r\n', 'X-B: 2\r\n', 'X-C: 3\r\n', 'X-D: 4\r\n'];
  const r = await raw(srv.port, chunks, { gapMs: 500, ms: 6000 });
  assert.equal(r.closed, true, 'the server closed the connection');
  assert.match(r.out, /^HTTP\/1\.1 408 /);
  assert.ok(r.ms < 5000, `closed after ${r.ms} ms`);
});

test('keep-alive requests are each checked against the limits', async () => {
  const r = await raw(srv.port, [
    'GET /health HTTP/1.1\r\nHost: x\r\n\r\n',
    `GET /${'d'.repeat(3000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
  ], { gapMs: 200 });
  assert.match(r.out, /^HTTP\/1\.1 200 /);
  assert.match(r.out, /HTTP\/1\.1 414 /);
});

test('CORS: an allowed origin gets credentials, a foreign origin gets nothing and its preflight 403', async () => {
  const ok = await fetch(srv.url + '/api/dbprobe', { headers: { origin: 'http://allowed.example' } });
  assert.equal(ok.headers.get('access-control-allow-origin'), 'http://allowed.example');
  assert.equal(ok.headers.get('access-control-allow-credentials'), 'true');
  const foreign = await fetch(srv.url + '/api/dbprobe', { headers: { origin: 'http://evil.example' } });
  assert.equal(foreign.headers.get('access-control-allow-origin'), null);
  const pre = await fetch(srv.url + '/api/dbprobe', {
    method: 'OPTIONS', headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' },
  });
  assert.equal(pre.status, 403);
  const pre2 = await fetch(srv.url + '/api/dbprobe', {
    method: 'OPTIONS', headers: { origin: 'http://allowed.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' },
  });
  assert.equal(pre2.status, 204);
  assert.match(pre2.headers.get('access-control-allow-headers'), /Authorization/);
});

test('JSON bodies: invalid JSON, wrong types and bad text are 400 naming the field; hostile text is data', async () => {
  const bad = await api(srv.url, 'POST', '/api/dbprobe/echo', { raw: '{"text": ', headers: { 'content-type': 'application/json' } });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, 'invalid_json');
  const type = await api(srv.url, 'POST', '/api/dbprobe/echo', { body: { text: 5 } });
  assert.equal(type.status, 400);
  assert.equal(type.body.error.field, 'text');
  const ctl = await api(srv.url, 'POST', '/api/dbprobe/echo', { body: { text: 'a\u0007b' } });
  assert.equal(ctl.body.error.field, 'text');
  const utf8 = await api(srv.url, 'POST', '/api/dbprobe/echo', { raw: Buffer.from([0x7b, 0x22, 0x74, 0x65, 0x78, 0x74, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]), headers: { 'content-type': 'application/json' } });
  assert.equal(utf8.status, 400);
  const overflow = await api(srv.url, 'POST', '/api/dbprobe/echo', { raw: '{"text":"a","n":-99999999999999999999}', headers: { 'content-type': 'application/json' } });
  assert.equal(overflow.status, 400);
  // json-c would turn a lone surrogate into U+FFFD: the text would be stored changed, so it is refused
  const surrogate = await api(srv.url, 'POST', '/api/dbprobe/echo', { raw: '{"text":"a\\ud800b"}', headers: { 'content-type': 'application/json' } });
  assert.equal(surrogate.status, 400);
  assert.equal(surrogate.body.error.code, 'invalid_json');
  const pair = await api(srv.url, 'POST', '/api/dbprobe/echo', { raw: '{"text":"\\ud83d\\ude00"}', headers: { 'content-type': 'application/json' } });
  assert.equal(pair.body.text, '\u{1F600}');
  for (const text of ['<script>x</script>', "'; DROP TABLE x;--", '\u2028line', '</script>']) {
    const r = await api(srv.url, 'POST', '/api/dbprobe/echo', { body: { text } });
    assert.equal(r.status, 200, text);
    assert.equal(r.body.text, text);
  }
});

test('PostgreSQL restarted under requests: 503 quickly during the outage, 200 after', { timeout: 90000 }, async () => {
  const dir = process.env.SH_TEST_PG_DIR;
  const port = process.env.SH_TEST_PG_PORT;
  assert.ok(dir && port, 'tools/test.sh sets SH_TEST_PG_DIR and SH_TEST_PG_PORT');
  const pg = join(ROOT, 'tools/pg.sh');
  const url = execFileSync(pg, ['start', dir, port], { encoding: 'utf8', env: { ...process.env, SH_PG_FAST: '1' } }).trim().split('\n').pop();
  const s2 = await startServer({ plugins: [dbprobe], database: { url, queue_timeout_ms: 500, connect_timeout_ms: 1000 } });
  try {
    assert.equal((await api(s2.url, 'GET', '/api/dbprobe')).status, 200);
    execFileSync(pg, ['stop', dir]);
    const t0 = Date.now();
    const during = await api(s2.url, 'GET', '/api/dbprobe');
    assert.equal(during.status, 503);
    assert.equal(during.body.error.code, 'database_unavailable');
    assert.ok(Date.now() - t0 < 3000, 'the outage answer came quickly');
    assert.equal((await api(s2.url, 'GET', '/health')).status, 503);
    execFileSync(pg, ['start', dir, port], { env: { ...process.env, SH_PG_FAST: '1' } });
    let status = 0;
    for (let i = 0; i < 60 && status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 250));
      status = (await api(s2.url, 'GET', '/api/dbprobe')).status;
    }
    assert.equal(status, 200, 'recovered after the restart');
    assert.equal((await api(s2.url, 'GET', '/health')).status, 200);
  } finally {
    await s2.stop();
    try { execFileSync(pg, ['stop', dir]); } catch { /* already stopped */ }
  }
});

test('SIGTERM drains and exits 0', async () => {
  const s3 = await startServer({ plugins: [dbprobe] });
  const r = await s3.stop('SIGTERM');
  assert.equal(r.code, 0);
  assert.match(s3.logs(), /draining/);
});
