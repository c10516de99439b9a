// realtime_client.test.mjs - the real socket.io-client (npm) against StreamHub's Engine.IO v4 /
// Socket.IO v5 server with the test-only sioconf plugin: the three transport set-ups, events and
// acknowledgements, binary attachments, rooms, namespaces, the auth token check, and a
// 1,000-socket room broadcast.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io } from 'socket.io-client';
import { BUILD, JWT_SECRET, ROOT } from '../lib/server.mjs';
import { PROTO, connect, fdLimit, once, sleep, startRealtime, stopChecked, waitFor } from '../lib/realtime.mjs';

const buf = (v) => (Buffer.isBuffer(v) ? v : v instanceof ArrayBuffer ? Buffer.from(v) : ArrayBuffer.isView(v) ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : v);

// Arguments of every JSON type, with characters that stress both transports' framing.
const ARGS = [1, -2.5, 'two', 'héllo ✓ 🚀 \u2028 \x1e end', true, null, { three: [3, { four: 'x'.repeat(3000) }] }, []];

// Events, acks and binary over whatever transport `s` uses.
async function exchange(s) {
  const back = once(s, 'message-back', 3000);
  s.emit('message', ...ARGS);
  assert.deepEqual(await back, ARGS, 'event echoed with every argument intact');
  const acked = await new Promise((resolve) => s.emit('message-with-ack', ...ARGS, (...a) => resolve(a)));
  assert.deepEqual(acked, ARGS, 'ack answered with the same arguments');
  assert.equal(await s.timeout(3000).emitWithAck('message-with-ack', 'only'), 'only');
  // binary: top level, nested in objects and arrays, empty, and in an ack
  const b1 = Buffer.from([0, 1, 2, 253, 254, 255]), b2 = Buffer.from('nested bytes'), b3 = Buffer.alloc(0);
  const bigBin = Buffer.alloc(200000, 7);
  const binBack = once(s, 'message-back', 3000);
  s.emit('message', b1, { inner: b2, list: [b3, 'text', bigBin] });
  const [r1, r2] = await binBack;
  assert.deepEqual(buf(r1), b1);
  assert.deepEqual(buf(r2.inner), b2);
  assert.deepEqual(buf(r2.list[0]), b3);
  assert.equal(r2.list[1], 'text');
  assert.deepEqual(buf(r2.list[2]), bigBin);
  const [a1, a2] = await new Promise((resolve) => s.emit('message-with-ack', b2, { deep: [b1] }, (...a) => resolve(a)));
  assert.deepEqual(buf(a1), b2);
  assert.deepEqual(buf(a2.deep[0]), b1);
}

describe('socket.io-client (ping 300/200)', () => {
  let srv;
  const sockets = [];
  const keep = (s) => { sockets.push(s); return s; };
  before(async () => { srv = await startRealtime({ realtime: PROTO }); });
  after(async () => {
    for (const s of sockets) s.close();
    await stopChecked(srv);
  });

  test('default transports: opens on polling, upgrades to WebSocket; server emits, events, acks and binary work after it', async () => {
    const s = keep(io(srv.url, { reconnection: false, forceNew: true, auth: { hello: 'world', n: 7 } }));
    const auth = once(s, 'auth', 3000);
    let first = null, upgradedTo = null;
    s.io.once('open', () => {
      first = s.io.engine.transport.name;
      s.io.engine.once('upgrade', (t) => { upgradedTo = t.name; });
    });
    await once(s, 'connect', 3000);
    assert.deepEqual(await auth, [{ hello: 'world', n: 7 }], 'the connect hook emitted the auth payload');
    assert.equal(first, 'polling');
    await waitFor(() => upgradedTo, 3000, 'the upgrade');
    assert.equal(upgradedTo, 'websocket');
    assert.equal(s.io.engine.transport.name, 'websocket');
    await exchange(s);
    await sleep(700); // across a heartbeat: the client answers the server's pings
    assert.equal(s.connected, true);
  });

  test('WebSocket only: connects straight on WebSocket; events, acks and binary work', async () => {
    const s = keep(io(srv.url, { reconnection: false, forceNew: true, transports: ['websocket'] }));
    const auth = once(s, 'auth', 3000);
    await once(s, 'connect', 3000);
    assert.deepEqual(await auth, [{}], 'no auth payload: an empty object');
    assert.equal(s.io.engine.transport.name, 'websocket');
    await exchange(s);
  });

  test('polling only: never upgrades; events, acks and binary (base64) work across heartbeats', async () => {
    const s = keep(io(srv.url, { reconnection: false, forceNew: true, transports: ['polling'] }));
    let upgraded = false;
    s.io.once('open', () => s.io.engine.once('upgrade', () => { upgraded = true; }));
    await once(s, 'connect', 3000);
    assert.equal(s.io.engine.transport.name, 'polling');
    await exchange(s);
    await sleep(800);
    assert.equal(s.connected, true);
    await exchange(s);
    assert.equal(upgraded, false);
    assert.equal(s.io.engine.transport.name, 'polling');
  });

  test('rooms: a room emit (JSON or binary) reaches every member exactly once and no one else; leaving on disconnect', async () => {
    const [a, b, c] = await Promise.all([
      connect(srv.url),
      connect(srv.url, { transports: ['polling'] }),
      connect(srv.url, { transports: ['websocket'] }),
    ]);
    [a, b, c].forEach(keep);
    const room = `room-${Date.now()}`;
    assert.equal(await a.emitWithAck('join', room), true);
    assert.equal(await b.emitWithAck('join', room), true);
    assert.equal(await a.emitWithAck('join', room), true, 'joining twice is harmless');
    assert.equal(await c.emitWithAck('room-size', room), 2);
    const got = { a: [], b: [], c: [] };
    a.on('room-msg', (d) => got.a.push(d));
    b.on('room-msg', (d) => got.b.push(d));
    c.on('room-msg', (d) => got.c.push(d));
    assert.equal(await c.emitWithAck('to-room', room, { hi: 1 }), true, 'a non-member may emit to the room');
    await waitFor(() => got.a.length && got.b.length, 3000, 'both members');
    await sleep(200);
    assert.deepEqual(got, { a: [{ hi: 1 }], b: [{ hi: 1 }], c: [] });
    // a binary room emit: every member gets the bytes (the packet is shared, not consumed by the first)
    const bytes = Buffer.from([1, 2, 3, 0, 255]);
    await c.emitWithAck('to-room', room, { bin: bytes, list: [bytes] });
    await waitFor(() => got.a.length === 2 && got.b.length === 2, 3000, 'the binary room emit at both members');
    for (const k of ['a', 'b']) {
      assert.deepEqual(buf(got[k][1].bin), bytes, `${k}: bytes`);
      assert.deepEqual(buf(got[k][1].list[0]), bytes, `${k}: nested bytes`);
    }
    got.a.length = 1;
    got.b.length = 1;
    b.disconnect();
    await waitFor(async () => (await c.emitWithAck('room-size', room)) === 1, 3000, 'the room to shrink');
    await c.emitWithAck('to-room', room, 'second');
    await waitFor(() => got.a.length === 2, 3000, 'a second message');
    await sleep(100);
    assert.deepEqual(got.a, [{ hi: 1 }, 'second']);
    assert.equal(got.b.length, 1);
  });

  // Room emits are batched per loop turn (sio_server.c): each case runs one sioconf "script" (all
  // its steps in one handler, one loop turn) and checks what every socket got, in order.
  test('room batches keep each socket\'s emit order: direct emits and acks, join/leave mid-turn, an excepted socket, several rooms and the namespace, binary, big turns, a disconnect', async () => {
    const ws = { transports: ['websocket'] };
    const [a, b, c, p] = await Promise.all([
      connect(srv.url, ws), connect(srv.url, ws), connect(srv.url, ws), connect(srv.url, { transports: ['polling'] }),
    ]);
    [a, b, c, p].forEach(keep);
    const r1 = `order1-${Date.now()}`, r2 = `order2-${Date.now()}`;
    for (const s of [a, b, p]) assert.equal(await s.emitWithAck('join', r1), true);
    assert.equal(await a.emitWithAck('join', r2), true);
    const got = { a: [], b: [], c: [], p: [] };
    for (const [k, s] of Object.entries({ a, b, c, p })) s.on('seq', (d) => got[k].push(d));
    const reset = () => { for (const k in got) got[k].length = 0; };
    const members = async (n, what) => waitFor(() => got.b.length === n && got.p.length === n, 3000, what);

    // room emits interleaved with direct emits to a member; its ack comes after all of them
    assert.equal(await a.emitWithAck('script', ['room', r1, 1], ['direct', 2], ['room', r1, 3], ['room', r1, 4], ['direct', 5],
      ['room', r1, 6]), true);
    assert.deepEqual(got.a, [1, 2, 3, 4, 5, 6], 'a: in emit order, all before the ack');
    await members(4, 'the room emits at b and p');
    assert.deepEqual(got.b, [1, 3, 4, 6]);
    assert.deepEqual(got.p, [1, 3, 4, 6], 'polling: the batch unpacked into packets, in order');

    // join and leave within the turn: c gets what was emitted while it was a member, no more
    reset();
    assert.equal(await c.emitWithAck('script', ['room', r1, 1], ['join', r1], ['room', r1, 2], ['direct', 3], ['leave', r1],
      ['room', r1, 4], ['join', r1], ['room', r1, 5], ['leave', r1]), true);
    assert.deepEqual(got.c, [2, 3, 5], 'c: only while a member');
    await members(4, 'the room emits at b and p');
    assert.deepEqual(got.a, [1, 2, 4, 5]);
    assert.deepEqual(got.b, [1, 2, 4, 5]);

    // an emit excepting the sender, between batched ones
    reset();
    assert.equal(await a.emitWithAck('script', ['room', r1, 1], ['room-except', r1, 2], ['room', r1, 3], ['direct', 4]), true);
    assert.deepEqual(got.a, [1, 3, 4], 'a: not the one excepting it');
    await members(3, 'the room emits at b and p');
    assert.deepEqual(got.b, [1, 2, 3]);
    assert.deepEqual(got.p, [1, 2, 3]);

    // two rooms and the whole namespace in one turn: a (in both rooms) sees the emit order
    reset();
    assert.equal(await c.emitWithAck('script', ['room', r1, 1], ['room', r2, 2], ['room', r1, 3], ['all', 4], ['room', r2, 5],
      ['room', r1, 6]), true);
    assert.deepEqual(got.c, [4], 'c: the namespace emit, before its ack');
    await members(4, 'the emits at b and p');
    await waitFor(() => got.a.length === 6, 3000, 'a: every emit');
    assert.deepEqual(got.a, [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(got.b, [1, 3, 4, 6]);
    assert.deepEqual(got.p, [1, 3, 4, 6]);

    // binary attachments in a batch, between text packets
    reset();
    const bytes = Buffer.from([0, 1, 2, 255]);
    assert.equal(await c.emitWithAck('script', ['room', r1, { bin: bytes }], ['room', r1, 'text'], ['room', r1, [bytes, 'x', bytes]]), true);
    await members(3, 'the binary room emits at b and p');
    await waitFor(() => got.a.length === 3, 3000, 'a: the binary room emits');
    for (const k of ['a', 'b', 'p']) {
      assert.deepEqual(buf(got[k][0].bin), bytes, `${k}: bytes`);
      assert.equal(got[k][1], 'text', `${k}: the text packet in between`);
      assert.deepEqual(buf(got[k][2][0]), bytes, `${k}: first of two attachments`);
      assert.deepEqual(buf(got[k][2][2]), bytes, `${k}: second of two attachments`);
    }

    // a turn bigger than a chunk (several chunks, sealed as they fill) with direct emits in it
    reset();
    const steps = [], expectA = [], expectB = [];
    for (let i = 0; i < 120; i++) {
      steps.push(['room', r1, { i, pad: 'x'.repeat(1500 + i) }]);
      expectA.push(i);
      expectB.push(i);
      if (i % 25 === 0) { steps.push(['direct', `d${i}`]); expectA.push(`d${i}`); }
    }
    assert.equal(await a.emitWithAck('script', ...steps), true);
    const ids = (list) => list.map((d) => (typeof d === 'string' ? d : d.i));
    assert.deepEqual(ids(got.a), expectA, 'a: 120 room emits (~190 KB) and 5 direct ones, in order, before the ack');
    await members(120, 'the big turn at b and p');
    assert.deepEqual(ids(got.b), expectB);
    assert.deepEqual(ids(got.p), expectB);
    assert.equal(got.p[119].pad.length, 1619, 'payload intact');

    // a server-side disconnect after room emits in the same turn: the member gets them first
    reset();
    const order = [];
    b.on('seq', (d) => order.push(d));
    b.on('disconnect', (r) => order.push(`disconnect: ${r}`));
    b.emit('script', ['room', r1, 1], ['room', r1, 2], ['disconnect']);
    await waitFor(() => order.length === 3, 3000, 'b: two messages and the disconnect');
    assert.deepEqual(order, [1, 2, 'disconnect: io server disconnect']);
    await waitFor(() => got.a.length === 2 && got.p.length === 2, 3000, 'a and p');
    assert.deepEqual(got.a, [1, 2]);
  });

  test('namespaces: /custom connects (multiplexed with / on one connection); an unknown one gets connect_error "Invalid namespace"', async () => {
    const root = keep(io(srv.url, { reconnection: false, forceNew: true, transports: ['websocket'] }));
    const custom = keep(root.io.socket('/custom', { auth: { where: 'custom' } }));
    const auth = once(custom, 'auth', 3000);
    custom.connect();
    await Promise.all([once(root, 'connect', 3000), once(custom, 'connect', 3000)]);
    assert.deepEqual(await auth, [{ where: 'custom' }]);
    assert.equal(root.io, custom.io, 'one Manager, one Engine.IO connection');
    assert.notEqual(root.id, custom.id);
    const back = once(custom, 'message-back', 3000);
    custom.emit('message', 'in custom');
    assert.deepEqual(await back, ['in custom']);
    assert.equal(await custom.emitWithAck('message-with-ack', 42), 42);
    const bad = keep(io(`${srv.url}/nope`, { reconnection: false, forceNew: true }));
    const [err] = await once(bad, 'connect_error', 3000);
    assert.equal(err.message, 'Invalid namespace');
    assert.equal(bad.connected, false);
  });

  test('a connect hook may disconnect the socket at once: later hooks do not run, the client gets "io server disconnect"', async () => {
    for (const transports of [['polling'], ['websocket']]) {
      const s = keep(io(`${srv.url}/kick`, { reconnection: false, forceNew: true, transports }));
      let notRefused = false;
      s.on('not-refused', () => { notRefused = true; });
      const [reason] = await once(s, 'disconnect', 3000);
      assert.equal(reason, 'io server disconnect', transports[0]);
      assert.equal(notRefused, false, 'the second connect hook did not run for a disconnected socket');
      // the connection itself stays usable for other namespaces
      const root = keep(s.io.socket('/'));
      root.connect();
      await once(root, 'connect', 3000);
      assert.equal(await root.emitWithAck('message-with-ack', 'after kick'), 'after kick');
    }
  });

  test('a token without the auth service: connect_error "auth_unavailable"', async () => {
    const s = keep(io(srv.url, { reconnection: false, forceNew: true, auth: { token: 'some.jwt.token' } }));
    const [err] = await once(s, 'connect_error', 3000);
    assert.equal(err.message, 'auth_unavailable');
  });
});

describe('socket.io-client (default heartbeat, 25 s)', () => {
  test('the upgrade completes promptly even though no ping comes to end the pending poll', async (t) => {
    const srv = await startRealtime();
    t.after(() => stopChecked(srv));
    for (let i = 0; i < 3; i++) {
      const s = io(srv.url, { reconnection: false, forceNew: true });
      t.after(() => s.close());
      let upgradedAt = 0;
      const t0 = Date.now();
      s.io.once('open', () => s.io.engine.once('upgrade', () => { upgradedAt = Date.now(); }));
      await once(s, 'connect', 3000);
      await waitFor(() => upgradedAt, 2000, 'the upgrade to WebSocket');
      assert.ok(upgradedAt - t0 < 1000, `upgraded after ${upgradedAt - t0} ms`);
      assert.equal(await s.timeout(1000).emitWithAck('message-with-ack', i), i);
    }
  });
});

describe('socket.io-client with the auth plugin', () => {
  const authSo = join(BUILD, 'plugins', 'auth.so');
  test('a bad token gets CONNECT_ERROR {message: "invalid_token"}; no token connects anonymously',
    { skip: existsSync(authSo) ? false : `the auth plugin is not built (${authSo} missing): run make plugins` },
    async (t) => {
      const srv = await startRealtime({ plugins: [{ name: 'auth', config: { jwt_secret: JWT_SECRET } }] });
      t.after(() => stopChecked(srv));
      for (const transports of [['polling'], ['websocket']]) {
        const s = io(srv.url, { reconnection: false, forceNew: true, transports, auth: { token: 'not-a-valid-token' } });
        t.after(() => s.close());
        const [err] = await once(s, 'connect_error', 5000);
        assert.equal(err.message, 'invalid_token', transports[0]);
        assert.deepEqual(err.data, undefined);
        assert.equal(s.connected, false);
      }
      const anon = await connect(srv.url);
      t.after(() => anon.close());
      assert.deepEqual(await anon.emitWithAck('whoami'), { userId: 0, username: null });
    });
});

describe('docs/REALTIME.md', () => {
  test('docs/REALTIME.md: the SDK example compiles (-Wall -Wextra -Werror) into a plugin', async (t) => {
    const doc = readFileSync(join(ROOT, 'docs', 'REALTIME.md'), 'utf8');
    const m = doc.match(/```c\n([\s\S]*?)```/);
    assert.ok(m, 'a C example in the document');
    const dir = mkdtempSync(join(tmpdir(), 'sh-doc-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'example.c'), m[1]);
    const cflags = execFileSync('pkg-config', ['--cflags', 'json-c']).toString().trim().split(/\s+/).filter(Boolean);
    const r = spawnSync('cc', ['-std=c11', '-D_GNU_SOURCE', '-Wall', '-Wextra', '-Werror', '-fPIC', '-shared',
      `-I${join(ROOT, 'sdk', 'include')}`, ...cflags, '-o', join(dir, 'example.so'), join(dir, 'example.c')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  });
});

describe('socket.io-client at scale', () => {
  test('1,000 WebSocket sockets in one room each receive a broadcast exactly once', async (t) => {
    const N = 1000;
    const limit = await fdLimit();
    if (limit < 2 * N + 200) {
      t.skip(`ulimit -n is ${limit}; this test needs at least ${2 * N + 200} descriptors (tools/test.sh can raise it)`);
      return;
    }
    const srv = await startRealtime({ realtime: { max_connections: 5000 } });
    const socks = [];
    t.after(async () => {
      for (const s of socks) s.close();
      await stopChecked(srv);
    });
    const room = 'big-room';
    const counts = new Array(N).fill(0);
    for (let base = 0; base < N; base += 100) {
      const batch = await Promise.all(Array.from({ length: Math.min(100, N - base) }, () => connect(srv.url, { transports: ['websocket'] }, 10000)));
      await Promise.all(batch.map((s) => s.emitWithAck('join', room)));
      batch.forEach((s, k) => {
        const i = base + k;
        s.on('room-msg', () => { counts[i]++; });
        socks.push(s);
      });
    }
    const sender = await connect(srv.url, { transports: ['websocket'] });
    socks.push(sender);
    assert.equal(await sender.emitWithAck('room-size', room), N);
    assert.equal(await sender.emitWithAck('to-room', room, { seq: 1, pad: 'p'.repeat(500) }), true);
    await waitFor(() => counts.every((c) => c >= 1), 15000, `every socket to receive (now ${counts.filter((c) => c).length})`);
    await sleep(300);
    assert.ok(counts.every((c) => c === 1), `exactly once each (max ${Math.max(...counts)})`);
    assert.ok(socks.every((s) => s.connected));
  });
});
