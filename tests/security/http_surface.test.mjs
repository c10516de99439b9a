// tests/security/http_surface.test.mjs - the HTTP surface as an attacker sees it, beyond what
// tests/integration/http.test.mjs covers (a few answers' headers, one CORS case, 413/414/431, one
// slowloris, traversal, JSON validation): the security headers on EVERY kind of answer (API JSON,
// API errors of each status, static files, the SPA fallback, HLS playlists/media/errors, Socket.IO
// polling answers and refusals, /health, /metrics, CORS preflights, answers made before libevhtp
// parses the request), CORS refusing foreign origins (look-alike, null, other scheme) with
// credentials on the API, HLS and Socket.IO, the core's API rate limit (429 + Retry-After, not
// dodged with X-Forwarded-For), and peers that reset the connection mid-answer (SIGPIPE ignored).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUILD, api, startServer, uniq } from '../lib/server.mjs';
import { SIOCONF, eioUrl, request } from '../lib/realtime.mjs';
import { AUTH, HAVE_FFMPEG, built, playlist, rawHttp, register, scratchDir, sleep, stopClean, waitFor } from '../faults/helpers.mjs';

const FILESRC = { name: 'filesrc', path: join(BUILD, 'test-plugins', 'filesrc.so') };
const DBPROBE = { name: 'dbprobe', path: join(BUILD, 'test-plugins', 'dbprobe.so') }; // GET /api/dbprobe: a routed API path
const SKIP = !process.env.SH_TEST_PG ? 'needs SH_TEST_PG' : !built('auth') || !built('rooms') ? 'needs auth and rooms' : false;
const ALLOWED = 'http://allowed.example';
const HEADERS = { 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', 'x-frame-options': 'DENY' };

function assertSecurityHeaders(headers, what) {
  const get = (k) => (typeof headers.get === 'function' ? headers.get(k) : headers[k]);
  for (const [k, v] of Object.entries(HEADERS)) assert.equal(get(k), v, `${k} on ${what}`);
}

// Headers of a raw HTTP answer (text up to the blank line).
function rawHeaders(out) {
  const head = out.split('\r\n\r\n')[0].split('\r\n');
  const h = {};
  for (const l of head.slice(1)) { const i = l.indexOf(':'); if (i > 0) h[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim(); }
  return { status: Number(head[0].split(' ')[1]), headers: h };
}

describe('the HTTP surface', { skip: SKIP }, () => {
  let srv, web, video = null;
  before(async () => {
    web = scratchDir();
    writeFileSync(join(web, 'index.html'), '<!doctype html><title>app</title>');
    writeFileSync(join(web, 'big.bin'), Buffer.alloc(8 * 1048576, 3));
    const withHls = HAVE_FFMPEG && built('hls') && existsSync(FILESRC.path);
    srv = await startServer({
      plugins: [AUTH, 'rooms', SIOCONF, ...(withHls ? [{ name: 'hls', config: { segment_ms: 1000, part_ms: 250 } }, FILESRC] : [])],
      server: { web_root: web, cors_origins: [ALLOWED], max_body_bytes: 4096, max_uri_bytes: 1024, max_header_bytes: 2048 },
    });
    if (withHls) {
      const flv = join(web, 'v.flv');
      const ff = spawnSync('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25', '-t', '3',
        '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-pix_fmt', 'yuv420p', '-f', 'flv', flv]);
      assert.equal(ff.status, 0, String(ff.stderr));
      video = uniq('h');
      const p = await api(srv.url, 'POST', '/api/test/filesrc', { body: { roomId: video, path: flv, loop: true } });
      assert.equal(p.status, 201, JSON.stringify(p.body));
      await waitFor(async () => (await playlist(srv.url, video)).segments >= 1, 15000, 'an HLS segment');
    }
  });
  after(() => stopClean(srv));

  test('security_headers_on_every_kind_of_answer', async () => {
    const u = await register(srv.url);
    const cases = [
      ['API JSON 200', () => fetch(`${srv.url}/api/rooms?limit=1`)],
      ['API 201', () => fetch(`${srv.url}/api/rooms`, { method: 'POST', headers: { authorization: `Bearer ${u.token}`, 'content-type': 'application/json' }, body: '{"title":"t"}' })],
      ['API 400 invalid JSON', () => fetch(`${srv.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"x":' })],
      ['API 401', () => fetch(`${srv.url}/api/users/me`)],
      ['API 404', () => fetch(`${srv.url}/api/nothing-here`)],
      ['API 405', () => fetch(`${srv.url}/api/rooms`, { method: 'PUT' })],
      ['API 413', () => fetch(`${srv.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ x: 'y'.repeat(9000) }) })],
      ['static file', () => fetch(`${srv.url}/big.bin`)],
      ['SPA fallback', () => fetch(`${srv.url}/room/abc`)],
      ['static 404', () => fetch(`${srv.url}/missing.png`)],
      ['HEAD', () => fetch(`${srv.url}/api/rooms?limit=1`, { method: 'HEAD' })],
      ['/health', () => fetch(`${srv.url}/health`)],
      ['/metrics', () => fetch(`${srv.url}/metrics`)],
      ['CORS preflight allowed', () => fetch(`${srv.url}/api/rooms`, { method: 'OPTIONS', headers: { origin: ALLOWED, 'access-control-request-method': 'POST' } })],
      ['CORS preflight refused', () => fetch(`${srv.url}/api/rooms`, { method: 'OPTIONS', headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' } })],
      ['Socket.IO polling handshake', () => fetch(eioUrl(srv.url))],
      ['Socket.IO polling refusal (bad sid)', () => fetch(eioUrl(srv.url, '&sid=nope'))],
      ['Socket.IO polling refusal (foreign origin)', () => fetch(eioUrl(srv.url), { headers: { origin: 'http://evil.example' } })],
      ['Socket.IO bad transport', () => fetch(`${srv.url}/socket.io/?EIO=4&transport=carrier-pigeon`)],
      ['HLS 404 (no such room)', () => fetch(`${srv.url}/hls/${uniq('none')}/index.m3u8`)],
    ];
    if (video) {
      const pl = await playlist(srv.url, video);
      const seg = pl.text.split('\n').find((l) => l && !l.startsWith('#'));
      const map = /#EXT-X-MAP:URI="([^"]+)"/.exec(pl.text)[1];
      cases.push(['HLS playlist', () => fetch(`${srv.url}/hls/${video}/index.m3u8`)],
        ['HLS init section', () => fetch(`${srv.url}/hls/${video}/${map}`)],
        ['HLS segment', () => fetch(`${srv.url}/hls/${video}/${seg}`)],
        ['HLS 400 (bad directive)', () => fetch(`${srv.url}/hls/${video}/index.m3u8?_HLS_part=1`)],
        ['HLS 404 (bad name)', () => fetch(`${srv.url}/hls/${video}/seg99999.m4s`)]);
    }
    const seen = new Set();
    for (const [what, go] of cases) {
      const r = await go();
      await r.arrayBuffer();
      seen.add(r.status);
      assertSecurityHeaders(r.headers, `${what} (${r.status})`);
      if (what.startsWith('API')) assert.equal(r.headers.get('cache-control'), 'no-store', `API answers are not cached: ${what}`);
    }
    // answers made by the head checks, before libevhtp parses the request
    for (const [what, bytes] of [
      ['414', `GET /${'a'.repeat(3000)} HTTP/1.1\r\nHost: x\r\n\r\n`],
      ['431', `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(4000)}\r\n\r\n`],
      ['431 too many headers', `GET / HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 150 }, (_, i) => `X-${i}: v\r\n`).join('')}\r\n`],
    ]) {
      const r = await rawHttp(srv.port, [bytes]);
      const { status, headers } = rawHeaders(r.out);
      seen.add(status);
      assert.ok(status >= 400, `${what}: ${r.out.slice(0, 80)}`);
      assertSecurityHeaders(headers, `raw ${what} (${status})`);
    }
    console.log(`# statuses checked: ${[...seen].sort().join(', ')}`);
  });

  test('cors_foreign_origin_with_credentials_is_refused_on_api_hls_and_socketio', async () => {
    const foreign = ['http://evil.example', 'http://allowed.example.evil.com', 'http://evil.example/http://allowed.example',
      'https://allowed.example', 'http://allowed.example:8080', 'null', 'http://allowed.examplex'];
    const paths = ['/api/rooms?limit=1', '/health'];
    if (video) paths.push(`/hls/${video}/index.m3u8`);
    for (const origin of foreign) {
      for (const p of paths) {
        const r = await fetch(`${srv.url}${p}`, { headers: { origin, cookie: 'sid=1' } });
        await r.arrayBuffer();
        const acao = r.headers.get('access-control-allow-origin');
        assert.notEqual(acao, origin, `${p} must not echo ${origin}`);
        assert.equal(r.headers.get('access-control-allow-credentials'), null, `no credentials for ${origin} on ${p}`);
        if (p.startsWith('/api')) assert.equal(acao, null, `no CORS grant for ${origin} on ${p}`);
      }
      const pre = await fetch(`${srv.url}/api/users/me`, {
        method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'PATCH', 'access-control-request-headers': 'authorization' },
      });
      assert.equal(pre.status, 403, `preflight from ${origin}`);
      assert.equal(pre.headers.get('access-control-allow-origin'), null);
      assert.equal(pre.headers.get('access-control-allow-credentials'), null);
      const sio = await request(eioUrl(srv.url), { headers: { Origin: origin } });
      assert.equal(sio.status, 403, `Socket.IO handshake from ${origin}`);
    }
    // the listed origin (any case) does get credentials
    const ok = await fetch(`${srv.url}/api/rooms?limit=1`, { headers: { origin: 'HTTP://ALLOWED.EXAMPLE' } });
    await ok.arrayBuffer();
    assert.equal(ok.headers.get('access-control-allow-credentials'), 'true');
    assert.match(ok.headers.get('vary') ?? '', /origin/i, 'Vary: Origin, so caches do not mix origins');
  });

  test('peer_resetting_mid_answer_does_not_kill_the_server_sigpipe_ignored', async () => {
    for (let i = 0; i < 40; i++) {
      await new Promise((resolve) => {
        const s = net.connect(srv.port, '127.0.0.1');
        s.on('error', () => {});
        s.on('close', resolve);
        s.write(`GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n`);
        s.once('data', () => s.resetAndDestroy()); // RST while the server is still writing 8 MB
      });
    }
    for (let i = 0; i < 20; i++) {
      const s = net.connect(srv.port, '127.0.0.1');
      s.on('error', () => {});
      s.write('GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n');
      await sleep(5);
      s.resetAndDestroy(); // RST before the answer
    }
    await sleep(300);
    assert.equal(srv.proc.exitCode, null, 'still running');
    assert.equal((await fetch(`${srv.url}/health`)).status, 200);
  });
});

describe('the API rate limit of the core', { skip: SKIP }, () => {
  test('api_flood_from_one_address_gets_429_with_retry_after_and_health_stays_open', async (t) => {
    const srv = await startServer({ plugins: [DBPROBE], redis: { prefix: `${uniq('rl')}:` }, server: { api_rate_limit: 5, api_rate_window_ms: 60000, rate_limit_exempt_loopback: false } });
    t.after(() => stopClean(srv));
    const st = [];
    for (let i = 0; i < 8; i++) st.push(await api(srv.url, 'GET', '/api/dbprobe'));
    assert.deepEqual(st.map((r) => r.status), [200, 200, 200, 200, 200, 429, 429, 429]);
    const r = st[5];
    assert.equal(r.body.error.code, 'rate_limited');
    const ra = Number(r.headers.get('retry-after'));
    assert.ok(ra >= 1 && ra <= 60, `Retry-After ${r.headers.get('retry-after')}`);
    assertSecurityHeaders(r.headers, '429');
    assert.equal((await api(srv.url, 'GET', '/health')).status, 200, '/health is outside /api');
  });

  test('x_forwarded_for_cannot_dodge_the_api_rate_limit_without_trust_proxy', async (t) => {
    const srv = await startServer({ plugins: [DBPROBE], redis: { prefix: `${uniq('rl')}:` }, server: { api_rate_limit: 3, api_rate_window_ms: 60000, rate_limit_exempt_loopback: false } });
    t.after(() => stopClean(srv));
    const st = [];
    for (let i = 0; i < 6; i++) st.push((await api(srv.url, 'GET', '/api/dbprobe', { headers: { 'x-forwarded-for': `203.0.113.${i}` } })).status);
    assert.deepEqual(st, [200, 200, 200, 429, 429, 429]);
  });

  test('api_rate_limit_is_shared_by_two_nodes_through_redis', async (t) => {
    const prefix = `${uniq('rl')}:`;
    const opts = { plugins: [DBPROBE], server: { api_rate_limit: 4, api_rate_window_ms: 60000, rate_limit_exempt_loopback: false }, redis: { prefix } };
    const [A, B] = await Promise.all([startServer(opts), startServer(opts)]);
    t.after(() => Promise.all([stopClean(A), stopClean(B)]));
    const st = [];
    for (let i = 0; i < 6; i++) st.push((await api(i % 2 ? B.url : A.url, 'GET', '/api/dbprobe')).status);
    assert.deepEqual(st, [200, 200, 200, 200, 429, 429]);
  });
});

// Request heads that parsers disagree about are the raw material of request smuggling (a front
// proxy and this server splitting one byte stream into different requests). RFC 9112: a request
// with both Transfer-Encoding and Content-Length must be rejected or the connection closed after
// it (6.1); differing Content-Length values are an unrecoverable error (6.3); whitespace between a
// field name and its colon must be answered 400 (5.1); an unknown transfer coding gets 501 (6.1).
// libevhtp 1.2.18 accepts all of these and keeps the connection open.
describe('HTTP heads that enable request smuggling', { skip: SKIP }, () => {
  let srv;
  before(async () => { srv = await startServer({}); });
  after(() => stopClean(srv));
  const ambiguous = {
    content_length_and_transfer_encoding: 'POST /api/a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    two_different_content_lengths: 'POST /api/a HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 5\r\n\r\nhello',
    whitespace_before_the_colon: 'POST /api/a HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n\r\nhello',
    unknown_transfer_coding: 'POST /api/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n',
  };
  for (const [name, head] of Object.entries(ambiguous)) {
    test(`http_${name}_is_refused_400_and_closed`, {
    }, async () => {
      const r = await rawHttp(srv.port, [head], { ms: 1500 });
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(r.out)?.[1] ?? 0);
      assert.ok(status === 400 || status === 501, `answered ${status || 'nothing'}: ${JSON.stringify(r.out.slice(0, 60))}`);
      assert.ok(r.closed, 'and the connection closed');
    });
  }

  // SECURITY.md: "Bad input always gets a clear error (HTTP status + JSON error ...)". A head that
  // libevhtp's parser cannot read (a header line without a colon, a non-numeric Content-Length, a
  // chunked body over max_body_bytes) is dropped without any answer today.
  for (const [name, head] of Object.entries({
    header_line_without_colon: 'GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n',
    non_numeric_content_length: 'POST /api/a HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n',
    garbage_request_line: 'GARBAGE\r\n\r\n',
  })) {
    test(`http_${name}_gets_a_400_answer_not_a_silent_close`, {
    }, async () => {
      const r = await rawHttp(srv.port, [head], { ms: 1500 });
      assert.match(r.out, /^HTTP\/1\.[01] 400 /, `answered ${JSON.stringify(r.out.slice(0, 60))}`);
    });
  }

  // After max_keepalive_requests answers the server closes the connection, but the last answer
  // does not say so (RFC 9112 9.6: a server that is going to close sends "Connection: close"), so a
  // client that has already sent its next request on that connection sees it reset: fetch fails
  // with "other side closed" (found by the load in tests/faults/postgres.test.mjs).
  test('http_last_answer_before_the_keepalive_limit_says_connection_close', {
  }, async (t) => {
    const s2 = await startServer({ server: { max_keepalive_requests: 3 } });
    t.after(() => stopClean(s2));
    const r = await rawHttp(s2.port, Array.from({ length: 3 }, () => 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n'), { ms: 1500, gapMs: 50 });
    const heads = r.out.match(/HTTP\/1\.1 \d{3}[\s\S]*?\r\n\r\n/g) ?? [];
    assert.equal(heads.length, 3, 'three answers');
    assert.ok(r.closed, 'then the server closed the connection');
    assert.match(heads[2], /\r\nConnection: close/i, 'and the third answer announced it');
  });

  test('http_server_keeps_serving_after_every_malformed_head', async () => {
    assert.equal((await fetch(`${srv.url}/health`)).status, 200);
  });
});
