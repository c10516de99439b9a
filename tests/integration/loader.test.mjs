// tests/integration/loader.test.mjs - the real server with a chosen subset of the fixture plugins
// (tests/plugins/, built into $SH_BUILD/test-plugins/): only the listed plugins' routes exist,
// their config reaches them, /health lists them, dependency order holds, a plugin built against
// an older SDK minor works, and SIGTERM exits 0.
//
// Needs the PostgreSQL and Redis that tools/test.sh starts (SH_TEST_PG, SH_TEST_REDIS_PORT).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BUILD, startServer, runBinary, api } from '../lib/server.mjs';

const TP = join(BUILD, 'test-plugins');
const built = ['fixture_ok', 'fixture_consumer', 'fixture_old_minor', 'fixture_init_fail'].every((n) =>
  existsSync(join(TP, `${n}.so`)));
const skip = !built ? `fixture plugins not built in ${TP} (make test-plugins)`
  : !process.env.SH_TEST_PG ? 'no SH_TEST_PG (run through tools/test.sh)' : false;

// A server whose plugin_dir is the fixtures' directory.
function start(plugins, extra = {}) {
  return startServer({ plugins, server: { plugin_dir: TP, ...(extra.server || {}) }, ...extra });
}

// /health once the database pool is up (it connects in the background after "listening", so the
// very first answers may be 503 "degraded").
async function health(srv) {
  const deadline = Date.now() + 10000;
  for (;;) {
    const r = await api(srv.url, 'GET', '/health');
    if (r.status === 200 || Date.now() > deadline) return r;
    await new Promise((res) => setTimeout(res, 50));
  }
}

async function stopOk(srv) {
  const r = await srv.stop('SIGTERM');
  assert.deepEqual(r, { code: 0, signal: null }, `server did not exit 0 on SIGTERM:\n${srv.logs()}`);
}

test('a server with fixture_ok alone has its routes and no other plugin\'s', { skip }, async () => {
  const srv = await start(['fixture_ok']);
  try {
    let r = await api(srv.url, 'GET', '/fixture/ok');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { plugin: 'fixture_ok', greeting: 'hello', count: 1 });
    // the routes of fixtures that are built but not listed do not exist
    for (const path of ['/fixture/old', '/fixture/consumer']) {
      r = await api(srv.url, 'GET', path);
      assert.equal(r.status, 404, path);
      assert.equal(r.body.error.code, 'not_found');
    }
    // /health: 200 and exactly the loaded plugins
    r = await health(srv);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.status, 'ok');
    assert.deepEqual(r.body.plugins, [{ name: 'fixture_ok', version: '1.0.0' }]);
    assert.equal(r.headers.get('cache-control'), 'no-store');
  } finally {
    await stopOk(srv);
  }
});

test('route params, HEAD, 405 with Allow and JSON validation through a plugin', { skip }, async () => {
  const srv = await start(['fixture_ok']);
  try {
    let r = await api(srv.url, 'GET', '/fixture/ok/echo/a%20b%C3%A9');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { value: 'a bé' });
    r = await api(srv.url, 'GET', '/fixture/ok/echo/%zz');
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, 'bad_path');
    r = await api(srv.url, 'HEAD', '/fixture/ok');
    assert.equal(r.status, 200);
    assert.equal(r.body, null); // no body on HEAD
    r = await api(srv.url, 'DELETE', '/fixture/ok');
    assert.equal(r.status, 405);
    assert.equal(r.headers.get('allow'), 'GET, HEAD');
    assert.equal(r.body.error.code, 'method_not_allowed');
    r = await api(srv.url, 'GET', '/fixture/ok/echo');
    assert.equal(r.status, 405);
    assert.equal(r.headers.get('allow'), 'POST');
    // trailing slash is another path
    r = await api(srv.url, 'GET', '/fixture/ok/');
    assert.equal(r.status, 404);

    r = await api(srv.url, 'POST', '/fixture/ok/echo', { body: { name: 'Ada', n: 7, flag: true } });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { name: 'Ada', n: 7, flag: 1 });
    r = await api(srv.url, 'POST', '/fixture/ok/echo', { body: { n: 7 } });
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, 'invalid_field');
    assert.equal(r.body.error.field, 'name');
    r = await api(srv.url, 'POST', '/fixture/ok/echo', { body: { name: 'x'.repeat(21) } });
    assert.equal(r.status, 400);
    assert.equal(r.body.error.field, 'name');
    r = await api(srv.url, 'POST', '/fixture/ok/echo', { body: { name: 'é'.repeat(20) } }); // 20 chars, 40 bytes
    assert.equal(r.status, 200);
    r = await api(srv.url, 'POST', '/fixture/ok/echo', { body: { name: 'a\u0085b' } }); // C1 control
    assert.equal(r.status, 400);
    r = await api(srv.url, 'POST', '/fixture/ok/echo', { body: { name: 'ok', n: 101 } });
    assert.equal(r.status, 400);
    assert.equal(r.body.error.field, 'n');
    r = await api(srv.url, 'POST', '/fixture/ok/echo', { body: { name: 'ok', flag: 'yes' } });
    assert.equal(r.status, 400);
    assert.equal(r.body.error.field, 'flag');
    r = await api(srv.url, 'POST', '/fixture/ok/echo', { raw: 'not json', headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, 'invalid_json');
  } finally {
    await stopOk(srv);
  }
});

test('leading and trailing spaces of a field are trimmed', { skip }, async () => {
  const srv = await start(['fixture_ok']);
  try {
    const r = await api(srv.url, 'POST', '/fixture/ok/echo', { body: { name: '   Grace Hopper  ' } });
    assert.equal(r.status, 200, srv.logs());
    assert.equal(r.body.name, 'Grace Hopper');
  } finally {
    await stopOk(srv);
  }
});

test('a plugin\'s config section reaches it', { skip }, async () => {
  const srv = await start([{ name: 'fixture_ok', config: { greeting: 'bonjour', count: 42 } }]);
  try {
    const r = await api(srv.url, 'GET', '/fixture/ok');
    assert.deepEqual(r.body, { plugin: 'fixture_ok', greeting: 'bonjour', count: 42 });
  } finally {
    await stopOk(srv);
  }
});

test('several plugins: dependency order, an older-minor plugin, /health lists them in load order', { skip }, async () => {
  // the consumer is listed first; it needs fixture_ok's service at init
  const srv = await start(['fixture_consumer', 'fixture_old_minor', 'fixture_ok']);
  try {
    let r = await api(srv.url, 'GET', '/fixture/consumer');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { answer: 42 });
    r = await api(srv.url, 'GET', '/fixture/ok');
    assert.equal(r.status, 200);
    // built against the frozen SDK 1.0 header: loads on this newer host and its calls work
    r = await api(srv.url, 'GET', '/fixture/old');
    assert.equal(r.status, 200);
    assert.equal(r.body.plugin, 'fixture_old_minor');
    assert.equal(r.body.abi_minor, 0);
    assert.equal(r.body.has_rate_hit, true);
    assert.ok(r.body.host_table_bytes >= r.body.plugin_table_bytes, JSON.stringify(r.body));
    assert.match(r.body.version, /^\d+\.\d+\.\d+/);
    r = await health(srv);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.plugins.map((p) => p.name), ['fixture_old_minor', 'fixture_ok', 'fixture_consumer']);
    assert.deepEqual(r.body.plugins.find((p) => p.name === 'fixture_old_minor'), { name: 'fixture_old_minor', version: '0.9.0' });
  } finally {
    await stopOk(srv);
  }
});

test('no plugins at all: only the core routes', { skip }, async () => {
  const srv = await start([]);
  try {
    let r = await health(srv);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.plugins, []);
    r = await api(srv.url, 'GET', '/fixture/ok');
    assert.equal(r.status, 404);
    r = await api(srv.url, 'GET', '/metrics');
    assert.equal(r.status, 200);
    assert.match(r.body, /streamhub_uptime_seconds/);
  } finally {
    await stopOk(srv);
  }
});

test('a plugin whose init fails stops start-up with a line naming it', { skip }, async () => {
  const r = await runBinary([], { config: { plugins: ['fixture_ok', 'fixture_init_fail'], server: { plugin_dir: TP } } });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /ERROR fixture_init_fail: cannot start/);
  assert.match(r.stderr, /^streamhub: plugin fixture_init_fail: init failed .*remove it from plugins:$/m);
});

test('--check-config names a missing plugin and exits non-zero', { skip }, async () => {
  const r = await runBinary(['--check-config'], { config: { plugins: ['fixture_ok', 'fixture_absent'], server: { plugin_dir: TP } } });
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /^streamhub: plugin fixture_absent: .*fixture_absent\.so not found .*plugins\[1\]\.path\n$/);
});
