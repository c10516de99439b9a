// tests/faults/slow_clients.test.mjs - clients that are slow on purpose (SECURITY.md: "slowloris and
// slow readers -> timeouts close them"; "a client that stops reading -> output buffer high-water
// mark, then disconnect (no unbounded queue)"), many at once, while well-behaved clients must keep
// being served: Socket.IO clients that stop reading during a room flood, an army of slowloris
// connections, a reader that stops reading a large answer, and a sender that trickles a body.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer } from '../lib/server.mjs';
import { connect, metric, startRealtime, wsSession } from '../lib/realtime.mjs';
import { SANITIZED, rss, scratchDir, sleep, stopClean, waitFor, within } from './helpers.mjs';

const SKIP = !process.env.SH_TEST_PG && 'needs SH_TEST_PG';

test('socketio_clients_that_stop_reading_are_each_dropped_at_the_high_water_mark_memory_stays_bounded', { skip: SKIP, timeout: 90000 }, async (t) => {
  const HW = 262144;
  const SLOW = 20;
  const srv = await startRealtime({ realtime: { output_high_water: HW, packets_per_second: 100000 }, server: { access_log: false } });
  t.after(() => stopClean(srv));
  const slow = [];
  for (let i = 0; i < SLOW; i++) {
    const c = await wsSession(srv.url);
    c.send('420["join","flood"]');
    await c.next((m) => m === '430[true]');
    slow.push(c);
  }
  t.after(() => slow.forEach((c) => c.close()));
  const reader = await connect(srv.url, { transports: ['websocket'] });
  const sender = await connect(srv.url, { transports: ['websocket'] });
  t.after(() => { reader.close(); sender.close(); });
  assert.equal(await reader.emitWithAck('join', 'flood'), true);
  let got = 0;
  reader.on('room-msg', () => { got++; });
  const base = rss(srv.proc.pid);
  let peak = base;
  for (const c of slow) c.ws.pause(); // stop reading: kernel buffers fill, then the server's queue
  const payload = 'y'.repeat(8192);
  let sent = 0;
  const dropped = () => (srv.logs().match(/slow client/g) || []).length;
  while (dropped() < SLOW && sent < 20000) {
    for (let i = 0; i < 100; i++) sender.emit('to-room', 'flood', payload);
    sent += 100;
    await waitFor(() => got >= sent - 200, 15000, 'the reading client keeping up');
    peak = Math.max(peak, rss(srv.proc.pid));
  }
  assert.equal(dropped(), SLOW, `every non-reading client was dropped (sent ${sent} x 8 KiB)`);
  await waitFor(() => got === sent, 10000, `every message at the reader (${got} of ${sent})`);
  await waitFor(async () => (await metric(srv.url, 'streamhub_eio_websockets')) === 2, 5000, 'the dropped sockets released');
  const mb = (b) => (b / 1048576).toFixed(1);
  console.log(`# ${SLOW} non-reading clients dropped after ${sent} x 8 KiB; RSS ${mb(base)} -> peak ${mb(peak)} MB (high water ${HW / 1024} KiB each)`);
  if (!SANITIZED) assert.ok(peak - base < 96 * 1048576, `memory stayed bounded (grew ${mb(peak - base)} MB)`);
  assert.equal((await fetch(`${srv.url}/health`)).status, 200);
});

// Long-polling sessions that stop polling hold their queue in the server (no kernel buffer in
// between), so every room message for them stays queued. Room emits are batched into chunks shared
// by the turn's batches; a lagging session must not keep a whole shared chunk (here ~60 KiB of
// another room's traffic) alive for each tiny message it is charged for.
test('lagging_sessions_in_a_quiet_room_do_not_pin_the_busy_rooms_shared_chunks', { skip: SKIP, timeout: 90000 }, async (t) => {
  const srv = await startRealtime({
    realtime: { output_high_water: 4194304, packets_per_second: 100000, max_payload: 1000000, ping_interval_ms: 25000, ping_timeout_ms: 20000 },
    server: { access_log: false },
  });
  t.after(() => stopClean(srv));
  const eio = `${srv.url}/socket.io/?EIO=4&transport=polling`;
  const lagging = [];
  for (let i = 0; i < 4; i++) {
    const open = await (await fetch(eio)).text();
    const sid = JSON.parse(open.slice(1)).sid;
    const url = `${eio}&sid=${sid}`;
    assert.equal(await (await fetch(url, { method: 'POST', body: '40' })).text(), 'ok');
    assert.match(await (await fetch(url)).text(), /^40\{/);
    assert.equal(await (await fetch(url, { method: 'POST', body: '420["join","quiet"]' })).text(), 'ok');
    assert.equal(await (await fetch(url)).text(), '430[true]');
    lagging.push(url); // and no more polling: whatever the room gets stays queued for it
  }
  const reader = await connect(srv.url, { transports: ['websocket'] });
  const sender = await connect(srv.url, { transports: ['websocket'] });
  t.after(() => { reader.close(); sender.close(); });
  assert.equal(await reader.emitWithAck('join', 'busy'), true);
  let got = 0;
  reader.on('seq', () => { got++; });
  const big = 'b'.repeat(30000);
  // warm-up (allocator pools, first chunks), then measure
  const turns = async (n) => {
    for (let i = 0; i < n; i += 20) {
      const acks = [];
      for (let k = 0; k < 20; k++) acks.push(sender.emitWithAck('script', ['room', 'busy', big], ['room', 'quiet', `q${i + k}`], ['room', 'busy', big]));
      await Promise.all(acks);
    }
  };
  await turns(100);
  await waitFor(() => got === 200, 10000, 'the busy room reader keeping up');
  const base = rss(srv.proc.pid);
  await turns(1000); // 60 MB through the busy room, 1,000 tiny messages queued on each lagging session
  await waitFor(() => got === 2200, 20000, `the busy room reader keeping up (${got} of 2200)`);
  const grew = rss(srv.proc.pid) - base;
  const mb = (b) => (b / 1048576).toFixed(1);
  console.log(`# 1,000 turns of 2 x 30 KB to the busy room + 1 tiny message to 4 sessions that stopped polling: RSS +${mb(grew)} MB`);
  if (!SANITIZED) assert.ok(grew < 16 * 1048576, `the lagging sessions pinned ${mb(grew)} MB of shared chunks`);
  // the lagging sessions did get every message: one poll drains their queue in order
  const body = await (await fetch(lagging[0])).text();
  const first = body.split('\x1e').filter((p) => p.startsWith('42'));
  assert.ok(first.length > 0 && first[0].includes('"q0"'), body.slice(0, 200));
  assert.equal((await fetch(`${srv.url}/health`)).status, 200);
});

test('slowloris_army_is_timed_out_while_other_clients_are_served', { skip: SKIP, timeout: 60000 }, async (t) => {
  const srv = await startServer({ server: { read_timeout_ms: 1500, access_log: false, max_keepalive_requests: 10000000 } }); // (see postgres.test.mjs)
  t.after(() => stopClean(srv));
  const N = 300;
  const socks = [];
  let closed = 0;
  for (let i = 0; i < N; i++) {
    const s = net.connect(srv.port, '127.0.0.1');
    s.on('error', () => {});
    s.on('close', () => { closed++; });
    s.write('GET /health HTTP/1.1\r\nHost: x\r\n');
    socks.push(s);
  }
  t.after(() => socks.forEach((s) => s.destroy()));
  const trickle = setInterval(() => { for (const s of socks) if (!s.destroyed) s.write(`X-${Math.random().toString(36).slice(2, 6)}: 1\r\n`); }, 300);
  t.after(() => clearInterval(trickle));
  const t0 = Date.now();
  const lat = [];
  while (Date.now() - t0 < 1200) {
    const a = Date.now();
    const r = await fetch(`${srv.url}/health`);
    await r.text();
    assert.equal(r.status, 200);
    lat.push(Date.now() - a);
  }
  await waitFor(() => closed === N, 4000, `every slowloris connection closed (${closed} of ${N})`);
  const took = Date.now() - t0;
  console.log(`# ${N} slowloris connections closed within ${took} ms; ${lat.length} normal requests meanwhile, slowest ${Math.max(...lat)} ms`);
  assert.ok(Math.max(...lat) < 1000, 'normal requests were answered promptly meanwhile');
  assert.ok(took < 1500 + 3000, 'closed by the head deadline, not by chance');
});

test('slow_reader_of_a_large_answer_is_disconnected_by_the_write_timeout', { skip: SKIP, timeout: 60000 }, async (t) => {
  const web = scratchDir();
  const BIG = 32 * 1048576;
  writeFileSync(join(web, 'index.html'), '<!doctype html>');
  writeFileSync(join(web, 'big.bin'), Buffer.alloc(BIG, 1));
  const srv = await startServer({ server: { web_root: web, write_timeout_ms: 1000, read_timeout_ms: 1000, access_log: false } });
  t.after(() => stopClean(srv));
  let res = null;
  const done = new Promise((resolve) => {
    const req = http.get(`${srv.url}/big.bin`, { agent: false }, (r) => {
      res = r;
      r.pause();
      let bytes = 0;
      r.on('data', (d) => { bytes += d.length; });
      r.on('end', () => resolve({ bytes, how: 'end' }));
      r.on('aborted', () => resolve({ bytes, how: 'aborted' }));
      r.on('error', () => resolve({ bytes, how: 'error' }));
    });
    req.on('error', (e) => resolve({ bytes: 0, how: String(e) }));
  });
  await waitFor(() => res, 5000, 'the answer started');
  await sleep(3500); // three write timeouts without progress
  assert.equal((await fetch(`${srv.url}/health`)).status, 200, 'others are served meanwhile');
  res.resume();
  const r = await within(done, 10000, { bytes: -1, how: 'still open' });
  console.log(`# slow reader: ${r.bytes} of ${BIG} bytes, then ${r.how}`);
  assert.ok(r.bytes >= 0 && r.bytes < BIG, `the server gave up on the reader (${r.bytes} of ${BIG} bytes, ${r.how})`);
});

// A request body trickled one byte at a time, each within read_timeout_ms (an R.U.D.Y.-style slow
// POST): the head has a deadline for the whole of it (core/http.c guard_*), but once the head is
// complete the deadline is cancelled and only the inactivity timeout remains, so such a client
// holds its connection for as long as it likes (1 MiB at 1 byte / 600 ms: a week).
test('slow_body_sender_is_timed_out', {
  skip: SKIP, timeout: 60000,
}, async (t) => {
  const srv = await startServer({ server: { read_timeout_ms: 1000, access_log: false } });
  t.after(() => stopClean(srv));
  const s = net.connect(srv.port, '127.0.0.1');
  s.on('error', () => {});
  let out = '';
  s.on('data', (d) => { out += d; });
  const closed = new Promise((r) => s.on('close', r));
  s.write('POST /api/nothing HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{');
  const t0 = Date.now();
  const trickle = setInterval(() => { if (!s.destroyed) s.write(' '); }, 600); // always within read_timeout_ms
  t.after(() => { clearInterval(trickle); s.destroy(); });
  const c = await within(closed.then(() => true), 8000, false);
  const took = Date.now() - t0;
  console.log(`# a body trickled at 1 byte / 600 ms: ${c ? `closed after ${took} ms` : 'still open after 8 s'} (${JSON.stringify(out.split('\r\n')[0])})`);
  assert.ok(c, 'a body that never completes is cut off (a deadline for the whole request, as for the head)');
});
