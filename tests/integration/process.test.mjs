// The binary as operators use it: migrations at start-up (applied once, a failing one stops
// start-up with nothing half applied, two nodes starting together), --version, --check-config,
// SIGHUP reopening the log file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, runBinary, api, BUILD, uniq } from '../lib/server.mjs';

const migok = { name: 'migok', path: join(BUILD, 'test-plugins/migok.so') };
const migbad = { name: 'migbad', path: join(BUILD, 'test-plugins/migbad.so') };

function psql(url, sql) {
  return execFileSync('psql', [url, '-XAtqc', sql], { encoding: 'utf8' }).trim();
}

// A fresh database on the test server, so that every run starts from nothing.
function freshDatabase() {
  const name = uniq('mig').toLowerCase();
  psql(process.env.SH_TEST_PG, `CREATE DATABASE ${name}`);
  return process.env.SH_TEST_PG.replace(/\/[^/?]+(\?|$)/, `/${name}$1`);
}

test('migrations are applied once: a second start applies nothing', async () => {
  const url = freshDatabase();
  const s1 = await startServer({ plugins: [migok], database: { url } });
  assert.match(s1.logs(), /migrations: 2 applied/);
  assert.deepEqual((await api(s1.url, 'GET', '/api/migok')).body, { rows: 2 });
  await s1.stop();
  const s2 = await startServer({ plugins: [migok], database: { url } });
  assert.match(s2.logs(), /migrations: 0 applied/);
  assert.deepEqual((await api(s2.url, 'GET', '/api/migok')).body, { rows: 2 }, 'the seed ran once');
  await s2.stop();
  assert.equal(psql(url, "SELECT string_agg(plugin || '/' || id, ',' ORDER BY id) FROM streamhub_migrations"),
    'migok/001_items,migok/002_seed');
});

test('a failing migration stops start-up naming plugin, file and error, and leaves nothing half applied', async () => {
  const url = freshDatabase();
  const r = await runBinary([], { config: { plugins: [migbad], database: { url } } });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /plugin migbad: migration 002_broken failed: .*migbad_no_such_table/);
  assert.equal(psql(url, "SELECT to_regclass('migbad_ok') IS NOT NULL"), 't', 'the good migration stays');
  assert.equal(psql(url, "SELECT to_regclass('migbad_half') IS NULL"), 't', 'nothing of the failed one remains');
  assert.equal(psql(url, "SELECT count(*) FROM streamhub_migrations WHERE plugin = 'migbad'"), '1');
});

test('two nodes starting at once apply each migration exactly once', async () => {
  const url = freshDatabase();
  const [a, b] = await Promise.all([
    startServer({ plugins: [migok], database: { url } }),
    startServer({ plugins: [migok], database: { url } }),
  ]);
  try {
    const applied = [a.logs(), b.logs()].map((l) => Number(l.match(/migrations: (\d+) applied/)[1]));
    assert.deepEqual(applied.sort(), [0, 2]);
    assert.deepEqual((await api(a.url, 'GET', '/api/migok')).body, { rows: 2 });
    assert.deepEqual((await api(b.url, 'GET', '/api/migok')).body, { rows: 2 });
  } finally {
    await a.stop();
    await b.stop();
  }
});

test('--version prints the server and SDK versions', async () => {
  const r = await runBinary(['--version']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^streamhub \d+\.\d+\.\d+ \(plugin SDK 1\.\d+\)/);
});

test('--check-config accepts a good file without a database and refuses a bad value with its path', async () => {
  const ok = await runBinary(['--check-config'], { config: { plugins: [migok], database: { url: 'postgresql://nobody@127.0.0.1:1/x' } } });
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /OK \(1 plugins: migok\)/);
  const bad = await runBinary(['--check-config'], { configText: 'database: {url: x}\nserver:\n  http_port: 70000\n' });
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /:3: server\.http_port: expected an integer from 0 to 65535, got "70000"/);
  const missing = await runBinary(['--check-config'], { configText: 'database: {url: x}\nplugins: [no_such_plugin]\n' });
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /plugin no_such_plugin: .* not found/);
  assert.equal(missing.stderr.trim().split('\n').length, 1, 'one line');
});

test('SIGHUP reopens the log file after rotation', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sh-log-'));
  const file = join(dir, 'streamhub.log');
  const s = await startServer({ plugins: [], log: { file } });
  try {
    await api(s.url, 'GET', '/health');
    renameSync(file, file + '.1');
    s.proc.kill('SIGHUP');
    let reopened = false;
    for (let i = 0; i < 40 && !reopened; i++) {
      await new Promise((r) => setTimeout(r, 50));
      reopened = existsSync(file);
    }
    assert.ok(reopened, 'a new log file was created');
    await api(s.url, 'GET', '/health');
    await new Promise((r) => setTimeout(r, 100));
    assert.match(readFileSync(file, 'utf8'), /GET \/health 200/);
    assert.match(readFileSync(file + '.1', 'utf8'), /listening on/);
  } finally {
    await s.stop();
  }
});
