// tests/faults/postgres.test.mjs - PostgreSQL failing under load (SECURITY.md, "Dependencies and
// faults"): the throwaway instance of tools/test.sh (SH_TEST_PG_DIR / SH_TEST_PG_PORT) is stopped
// and restarted, or has its server processes killed with pg_terminate_backend, while clients keep
// the server busy. What must hold: requests that need the database get 503 quickly (never 500,
// never a hang), what does not need it (live video, Socket.IO relay, /metrics) goes on, the pool
// reconnects by itself, and every chat message that was acknowledged is in the database after.
// Every test is bounded in time and talks to loopback only.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { BUILD, api, startServer, uniq } from '../lib/server.mjs';
import { SIOCONF, connect } from '../lib/realtime.mjs';
import {
  AUTH, HAVE_FFMPEG, PSQL, built, makeRoom, pgStart, pgStop, playlist, psql, register, scratchDir, sleep, stopClean,
  throwawayPg, waitFor,
} from './helpers.mjs';

const PG = throwawayPg();
const FILESRC = { name: 'filesrc', path: join(BUILD, 'test-plugins', 'filesrc.so') };
const SKIP = !PG ? 'needs SH_TEST_PG_DIR and SH_TEST_PG_PORT (tools/test.sh sets them)'
  : !PSQL ? 'needs psql' : !built('auth') || !built('rooms') ? 'needs the auth and rooms plugins' : false;
const CHAT_SKIP = SKIP || (!built('chat') && `plugins/chat is not built yet (${join(BUILD, 'plugins', 'chat.so')} missing): the chat part of this fault test is skipped`);
const DB = { queue_timeout_ms: 500, connect_timeout_ms: 1000, statement_timeout_ms: 5000 };
// The load loops reuse keep-alive connections for thousands of requests. The server closes a
// connection after max_keepalive_requests without announcing it (no "Connection: close": see
// http_surface.test.mjs, reported), which makes fetch fail now and then with "other side closed";
// that bug is not what these tests are about, so the limit is lifted here.
const SERVER = { max_keepalive_requests: 10000000 };

// Server log lines within `ms` of the times of `rows` (their `at`), for failure messages.
function logsAround(srv, rows, ms = 30) {
  const lines = srv.logs().split('\n');
  return rows.slice(0, 3).map((r) => lines.filter((l) => {
    const t = Date.parse(l.slice(0, 24));
    return !Number.isNaN(t) && Math.abs(t - r.at) <= ms + r.ms;
  }).slice(0, 20).join('\n')).join('\n--\n');
}

// Load generator: `n` concurrent loops calling `fn` until stopped; every answer is recorded with
// the phase it was sent in and how long it took.
function load(n, fn) {
  const results = [];
  let phase = 'before';
  let running = true;
  const loops = Array.from({ length: n }, async (_, i) => {
    while (running) {
      const p = phase;
      const t0 = Date.now();
      let r;
      try { r = await fn(i); } catch (e) { r = { status: 0, error: `${e}${e.cause ? ` (${e.cause.code ?? ''} ${e.cause.message ?? e.cause})` : ''}` }; }
      results.push({ phase: p, ms: Date.now() - t0, at: t0, ...r });
      await sleep(5);
    }
  });
  return {
    results,
    set phase(v) { phase = v; },
    async stop() { running = false; await Promise.all(loops); },
  };
}

describe('PostgreSQL faults under load', { skip: SKIP }, () => {
  let url;
  before(() => { url = pgStart(PG); });
  after(() => pgStop(PG));

  test('postgres_stopped_under_rest_load_gets_503_quickly_live_video_and_relay_go_on_then_recovers', { timeout: 120000 }, async (t) => {
    const video = HAVE_FFMPEG && built('hls') && existsSync(FILESRC.path); // else the video part is left out
    const plugins = [AUTH, 'rooms', SIOCONF];
    if (video) plugins.push({ name: 'hls', config: { grace_ms: 10000, segment_ms: 1000, part_ms: 200 } }, FILESRC);
    const srv = await startServer({ plugins, database: { url, ...DB }, server: SERVER });
    t.after(() => stopClean(srv));
    const u = await register(srv.url);
    const room = await makeRoom(srv.url, u);
    // live video: a test file pushed in a loop through the media pipeline into HLS
    let videoRoom = null;
    if (video) {
      const dir = scratchDir();
      const flv = join(dir, 'a.flv');
      const ff = spawnSync('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25', '-t', '3',
        '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-pix_fmt', 'yuv420p', '-f', 'flv', flv]);
      assert.equal(ff.status, 0, String(ff.stderr));
      videoRoom = uniq('v');
      const p = await api(srv.url, 'POST', '/api/test/filesrc', { body: { roomId: videoRoom, path: flv, loop: true } });
      assert.equal(p.status, 201, JSON.stringify(p.body));
      await waitFor(async () => (await playlist(srv.url, videoRoom)).segments >= 1, 15000, 'the first HLS segment');
    }
    // Socket.IO relay between two clients
    const a = await connect(srv.url, { transports: ['websocket'] });
    const b = await connect(srv.url, { transports: ['websocket'] });
    t.after(() => { a.close(); b.close(); });
    await a.emitWithAck('join', 'pgfault');
    let relayed = 0;
    a.on('room-msg', () => { relayed++; });

    const paths = ['/api/rooms?limit=5', `/api/rooms/${room.id}`, `/api/users/${u.username}`];
    const L = load(12, (i) => api(srv.url, 'GET', paths[i % paths.length]).then((r) => ({ status: r.status, code: r.body?.error?.code })));
    try {
      await sleep(800);
      L.phase = 'outage';
      pgStop(PG);
      const outageStart = Date.now();
      const health = await api(srv.url, 'GET', '/health');
      assert.equal(health.status, 503, 'health reports the database down');
      const metrics = await fetch(`${srv.url}/metrics`);
      assert.equal(metrics.status, 200, '/metrics does not need the database');
      const seqBefore = video ? (await playlist(srv.url, videoRoom)).last : 0;
      const relayedBefore = relayed;
      for (let i = 0; i < 10; i++) { b.emit('to-room', 'pgfault', i); await sleep(50); }
      await sleep(Math.max(0, 3000 - (Date.now() - outageStart)));
      await waitFor(() => relayed >= relayedBefore + 10, 3000, 'Socket.IO relay during the outage');
      if (video) {
        const pl = await playlist(srv.url, videoRoom);
        assert.equal(pl.status, 200);
        assert.ok(pl.last > seqBefore, `HLS went on during the outage (segments ${seqBefore} -> ${pl.last})`);
      }
      L.phase = 'restart';
      pgStart(PG);
      const up = Date.now();
      await waitFor(async () => (await api(srv.url, 'GET', paths[2])).status === 200, 20000, 'recovery after the restart');
      console.log(`# recovered ${Date.now() - up} ms after PostgreSQL accepted connections again`);
      L.phase = 'after';
      await sleep(1000);
    } finally {
      await L.stop();
    }
    const by = (p) => L.results.filter((r) => r.phase === p);
    assert.ok(by('before').every((r) => r.status === 200), `before: ${JSON.stringify(by('before').filter((r) => r.status !== 200).slice(0, 3))}`);
    const outage = by('outage');
    const odd = L.results.filter((r) => r.status !== 200 && r.status !== 503);
    assert.deepEqual(odd.slice(0, 5), [], `only 200 or 503 at any time; server log around them:\n${logsAround(srv, odd)}`);
    assert.ok(outage.some((r) => r.status === 503), 'the outage was seen as 503');
    const slow = outage.filter((r) => r.ms > 3000);
    assert.deepEqual(slow.slice(0, 3), [], 'every answer during the outage came within 3 s');
    assert.ok(outage.filter((r) => r.status === 503).every((r) => r.code), '503s carry a JSON error code');
    const after = by('after');
    assert.ok(after.length > 20 && after.every((r) => r.status === 200), `after recovery all 200 (${after.filter((r) => r.status !== 200).length} not)`);
    console.log(`# ${L.results.length} requests: ${outage.length} during the outage (${outage.filter((r) => r.status === 503).length} x 503, max ${Math.max(...outage.map((r) => r.ms))} ms)`);
  });

  test('postgres_backends_terminated_under_load_pool_reconnects_by_itself', { timeout: 60000 }, async (t) => {
    const srv = await startServer({ plugins: [AUTH, 'rooms'], database: { url, pool_size: 4, ...DB }, server: SERVER });
    t.after(() => stopClean(srv));
    const u = await register(srv.url);
    const L = load(8, () => api(srv.url, 'GET', `/api/users/${u.username}`).then((r) => ({ status: r.status })));
    const kill = `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
      WHERE datname = 'streamhub' AND pid <> pg_backend_pid() AND backend_type = 'client backend'`;
    let killed = 0;
    try {
      await sleep(500);
      for (let i = 0; i < 3; i++) {
        L.phase = `kill${i}`;
        killed += Number(psql(url, kill).trim());
        await sleep(1500);
      }
      L.phase = 'after';
      await waitFor(async () => (await api(srv.url, 'GET', `/api/users/${u.username}`)).status === 200, 10000, 'recovery');
      await sleep(1000);
    } finally {
      await L.stop();
    }
    assert.ok(killed >= 3, `server connections were terminated (${killed})`);
    const odd = L.results.filter((r) => r.status !== 200 && r.status !== 503);
    assert.deepEqual(odd.slice(0, 5), [], `only 200 or 503; server log around them:\n${logsAround(srv, odd)}`);
    assert.ok(L.results.every((r) => r.ms < 3000), 'no request hung');
    const after = L.results.filter((r) => r.phase === 'after');
    assert.ok(after.length > 20 && after.every((r) => r.status === 200), 'all 200 once reconnected');
    assert.match(srv.logs(), /connection \d+ (lost|failed)/, 'the lost connections were noticed');
    const up = await waitFor(async () => {
      const m = /streamhub_db_connections_up (\d+)/.exec(await (await fetch(`${srv.url}/metrics`)).text());
      return m && Number(m[1]) === 4 ? 4 : null;
    }, 10000, 'the whole pool back up');
    assert.equal(up, 4);
    const lost = L.results.filter((r) => r.status === 503).length;
    console.log(`# ${killed} backends terminated; ${L.results.length} requests, ${lost} x 503`);
  });

  test('postgres_restarted_under_chat_load_every_acknowledged_message_is_stored', { skip: CHAT_SKIP, timeout: 120000 }, async (t) => {
    const chat = { name: 'chat', config: { rate_limit: 10000, rate_window_ms: 1000, room_cache_ms: 500 } };
    const srv = await startServer({ plugins: [AUTH, 'rooms', chat], database: { url, ...DB }, realtime: { packets_per_second: 10000 } });
    t.after(() => stopClean(srv));
    const owner = await register(srv.url, 'o');
    const room = await makeRoom(srv.url, owner);
    const viewer = await connect(srv.url);
    t.after(() => viewer.close());
    assert.equal((await viewer.timeout(5000).emitWithAck('join-room', { roomId: room.id })).ok, true);
    const broadcast = new Set();
    viewer.on('new-message', (m) => broadcast.add(m.id));
    const senders = [];
    for (let i = 0; i < 4; i++) {
      const u = await register(srv.url, 's');
      const s = await connect(srv.url, { auth: { token: u.token } });
      t.after(() => s.close());
      assert.equal((await s.timeout(5000).emitWithAck('join-room', { roomId: room.id })).ok, true);
      senders.push({ u, s });
    }
    const acked = new Map(); // id -> text
    const refused = [];
    const tag = uniq('m');
    let n = 0;
    let phase = 'before';
    const L = load(senders.length, async (i) => {
      const text = `${tag} ${i} ${n++}`;
      const p = phase;
      const r = await senders[i].s.timeout(15000).emitWithAck('chat-message', { message: text, roomId: room.id });
      if (r && typeof r.id === 'number') acked.set(r.id, text);
      else refused.push({ phase: p, code: r?.error?.code });
      return { status: r?.id ? 200 : 503 };
    });
    try {
      await sleep(1000);
      phase = 'outage';
      pgStop(PG);
      await sleep(3000);
      phase = 'restart';
      pgStart(PG);
      await waitFor(() => L.results.slice(-8).every((r) => r.status === 200) && L.results.length > 0, 20000,
        'chat storing again').catch((e) => {
        const logs = srv.logs().split('\n').filter((l) => /chat|WARN|ERROR/.test(l)).slice(-15).join('\n');
        throw new Error(`${e.message}; last refusals ${JSON.stringify(refused.slice(-5))}; last results ${JSON.stringify(L.results.slice(-5))}\n${logs}`);
      });
      phase = 'after';
      await sleep(1000);
    } finally {
      await L.stop();
    }
    assert.deepEqual(L.results.filter((r) => r.status === 0).slice(0, 3), [], 'every chat-message got its acknowledgement');
    assert.ok(acked.size > 20, `messages were acknowledged (${acked.size})`);
    const rows = psql(url, `SELECT m.id, m.content FROM chat_messages m JOIN rooms r ON r.id = m.room_pk
      WHERE r.room_id = '${room.id}' AND m.content LIKE '${tag} %'`).trim().split('\n').filter(Boolean);
    const stored = new Map(rows.map((l) => { const k = l.indexOf('|'); return [Number(l.slice(0, k)), l.slice(k + 1)]; }));
    const missing = [...acked].filter(([id, text]) => stored.get(id) !== text);
    assert.deepEqual(missing.slice(0, 5), [], `every acknowledged message is stored with its text (${missing.length} of ${acked.size} missing)`);
    assert.equal(new Set(acked.values()).size, acked.size, 'no message acknowledged twice');
    const unacked = [...stored.keys()].filter((id) => !acked.has(id));
    await waitFor(() => [...acked.keys()].every((id) => broadcast.has(id)), 5000, 'the viewer got every acknowledged message');
    assert.ok(refused.every((r) => r.code === 'unavailable' || r.code === 'busy'), `refusals say unavailable: ${JSON.stringify(refused.slice(0, 3))}`);
    console.log(`# ${acked.size} acknowledged and stored, ${refused.length} refused during the outage, ${unacked.length} stored without an acknowledgement`);
  });
});
