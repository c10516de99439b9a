// tests/faults/idle_10k.test.mjs - 10,000 idle Socket.IO connections held on one node with their
// heartbeats kept (pingInterval 2 s), then a broadcast that must reach every one of them, then all
// of them gone at once. The clients are one small C program (idle_clients.c, built here with cc):
// raw WebSocket, a few hundred bytes each, so that the test measures the server and not Node.
// The server runs with loopback exempt from the per-IP limits and max_connections above 10,000;
// its open-file limit is raised with prlimit (the suite runs as root; otherwise the inherited
// limit must already be enough). Reported: connect time, the server's memory per connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../lib/server.mjs';
import { connect, fdLimit, metric, startRealtime } from '../lib/realtime.mjs';
import { SANITIZED, rss, scratchDir, stopClean, waitFor } from './helpers.mjs';

const N = 10000;
const PING_MS = 2000;
const HOLD_MS = 9000;
const haveCc = spawnSync('cc', ['--version']).status === 0;
const havePrlimit = spawnSync('prlimit', ['--version']).status === 0;
const isRoot = process.getuid?.() === 0;

function raiseNofile(pid, n) {
  try { execFileSync('prlimit', [`--pid=${pid}`, `--nofile=${n}:${n}`], { stdio: 'ignore' }); return true; } catch { return false; }
}

test('ten_thousand_idle_socketio_connections_keep_their_heartbeats_and_all_get_a_broadcast', {
  timeout: 240000,
  skip: !haveCc ? 'needs cc' : !process.env.SH_TEST_PG ? 'needs SH_TEST_PG' : false,
}, async (t) => {
  const limit = await fdLimit();
  const want = N * 2 + 1000;
  // raise our children's limit if we may (root with CAP_SYS_RESOURCE); else the inherited one must do
  const canRaise = isRoot && havePrlimit && raiseNofile(process.pid, want);
  if (!canRaise && limit < N + 200) { t.skip(`open-file limit ${limit} < ${N + 200} and it cannot be raised`); return; }
  const dir = scratchDir();
  const bin = join(dir, 'idle_clients');
  execFileSync('cc', ['-std=c11', '-O2', '-Wall', '-Wextra', '-Werror', '-o', bin, join(ROOT, 'tests/faults/idle_clients.c')]);

  const srv = await startRealtime({
    realtime: { ping_interval_ms: PING_MS, ping_timeout_ms: 4000, max_connections: N + 1000, connections_per_ip_per_minute: 0,
      packets_per_second: 50 },
    server: { rate_limit_exempt_loopback: true, access_log: false },
    redis: false,
  });
  t.after(() => stopClean(srv));
  const base = rss(srv.proc.pid);

  const args = [bin, String(srv.port), String(N), String(HOLD_MS)];
  const cli = spawn(args[0], args.slice(1));
  t.after(() => { try { cli.kill('SIGKILL'); } catch { /* gone */ } });
  const st = { lines: [], last: null, ready: false, done: false, readyMs: 0 };
  let buf = '';
  cli.stdout.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const l = buf.slice(0, i);
      buf = buf.slice(i + 1);
      st.lines.push(l);
      if (l.startsWith('stats ')) st.last = Object.fromEntries(l.slice(6).split(' ').map((kv) => kv.split('=')).map(([k, v]) => [k, Number(v)]));
      else if (l.startsWith('ready')) { st.ready = true; st.readyMs = Number(/after (\d+)/.exec(l)[1]); }
      else if (l === 'done') st.done = true;
    }
  });
  let cliErr = '';
  cli.stderr.on('data', (d) => { cliErr += d; });
  const exited = new Promise((r) => cli.on('exit', (code) => r(code)));

  await waitFor(() => st.ready, 150000, `all ${N} clients connected (${JSON.stringify(st.last)} ${cliErr})`, 100);
  await waitFor(() => st.last && st.last.connected + st.last.failed + st.last.closed === N, 3000, 'the first stats line');
  assert.deepEqual({ connected: st.last.connected, failed: st.last.failed, closed: st.last.closed }, { connected: N, failed: 0, closed: 0 },
    `every connection came up: ${srv.logs().slice(-2000)}`);
  const held = rss(srv.proc.pid);
  const per = (held - base) / N;
  console.log(`# ${N} connections up in ${st.readyMs} ms; server RSS ${(base / 1048576).toFixed(1)} -> ${(held / 1048576).toFixed(1)} MB (${Math.round(per)} bytes per connection)`);
  if (!SANITIZED) assert.ok(per < 64 * 1024, `memory per idle connection ${Math.round(per)} bytes`);
  assert.equal(await metric(srv.url, 'streamhub_eio_sessions'), N);

  // the loop stays responsive while holding them
  const t0 = Date.now();
  const h = await fetch(`${srv.url}/health`);
  assert.ok(h.status === 200 || h.status === 503, `health answered ${h.status}`);
  assert.ok(Date.now() - t0 < 1000, `health answered in ${Date.now() - t0} ms`);

  // one broadcast reaches every idle connection
  const b = await connect(srv.url, { transports: ['websocket'] });
  t.after(() => b.close());
  const msgs0 = st.last.msgs;
  b.emit('to-all', 'hello all');
  await waitFor(() => st.last.msgs - msgs0 >= N, 20000, `the broadcast at every client (${st.last.msgs - msgs0} of ${N})`, 100);

  // heartbeats: every connection answered at least two pings and none was dropped
  await waitFor(() => st.last.min_pings >= 2, HOLD_MS, `two pings answered by every client (${JSON.stringify(st.last)})`, 100);
  assert.equal(st.last.closed, 0, 'no idle client was dropped while answering its pings');
  assert.equal(st.last.connected, N);

  // all of them leave at once: the server lets every session go
  assert.equal(await exited, 0, cliErr);
  assert.ok(st.done);
  await waitFor(async () => (await metric(srv.url, 'streamhub_eio_sessions')) <= 1, 20000, 'sessions released after the clients left');
  console.log(`# after they left: server RSS ${(rss(srv.proc.pid) / 1048576).toFixed(1)} MB`);
});
