// realtime_cluster.test.mjs - two StreamHub nodes sharing one Redis (same prefix): room and
// namespace-wide emits made on one node reach the sockets connected to the other; room sizes stay
// per node.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { uniq } from '../lib/server.mjs';
import { connect, sleep, startRealtime, stopChecked, waitFor } from '../lib/realtime.mjs';

const buf = (v) => (Buffer.isBuffer(v) ? v : v instanceof ArrayBuffer ? Buffer.from(v) : ArrayBuffer.isView(v) ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : v);

describe('two nodes, one Redis', () => {
  let A, B;
  const socks = [];
  const open = async (srv, opts) => { const s = await connect(srv.url, opts); socks.push(s); return s; };
  // record every `event` delivery on each socket
  const record = (event, named) => {
    const got = Object.fromEntries(Object.keys(named).map((k) => [k, []]));
    for (const [k, s] of Object.entries(named)) s.on(event, (...a) => got[k].push(a.length === 1 ? a[0] : a));
    return got;
  };

  before(async () => {
    const prefix = `${uniq('c')}:`;
    [A, B] = await Promise.all([startRealtime({ redis: { prefix } }), startRealtime({ redis: { prefix } })]);
    const [ha, hb] = await Promise.all([fetch(`${A.url}/health`).then((r) => r.json()), fetch(`${B.url}/health`).then((r) => r.json())]);
    assert.notEqual(ha.node, hb.node, 'two distinct nodes');
    // both subscribed: a probe emit from A must reach B before the tests rely on it
    const pa = await open(A), pb = await open(B);
    await pb.emitWithAck('join', 'probe');
    let seen = false;
    pb.on('room-msg', () => { seen = true; });
    await waitFor(async () => { await pa.emitWithAck('to-room', 'probe', 'ping'); await sleep(50); return seen; }, 5000, 'cluster delivery to start');
  });
  after(async () => {
    for (const s of socks) s.close();
    await Promise.all([stopChecked(A), stopChecked(B)]);
  });

  test('a room emit on node A reaches the members on node B (and on A) exactly once, and no one else', async () => {
    const room = uniq('room');
    const a1 = await open(A), a2 = await open(A, { transports: ['polling'] });
    const b1 = await open(B), b2 = await open(B, { transports: ['websocket'] }), b3 = await open(B);
    for (const s of [a1, b1, b2]) assert.equal(await s.emitWithAck('join', room), true);
    const got = record('room-msg', { a1, a2, b1, b2, b3 });
    assert.equal(await a2.emitWithAck('to-room', room, { from: 'A', n: 1 }), true);
    await waitFor(() => got.a1.length && got.b1.length && got.b2.length, 3000, 'every member on both nodes');
    await sleep(300);
    assert.deepEqual(got, { a1: [{ from: 'A', n: 1 }], a2: [], b1: [{ from: 'A', n: 1 }], b2: [{ from: 'A', n: 1 }], b3: [] });
    // and the other way round
    assert.equal(await b3.emitWithAck('to-room', room, 'from B'), true);
    await waitFor(() => got.a1.length === 2 && got.b1.length === 2 && got.b2.length === 2, 3000, 'the emit from B');
    await sleep(300);
    assert.deepEqual(got.a1, [{ from: 'A', n: 1 }, 'from B']);
    assert.deepEqual(got.a2, []);
    assert.deepEqual(got.b3, []);
  });

  test('a binary room emit on node A reaches the members on node B', async () => {
    const room = uniq('bin');
    const a1 = await open(A), b1 = await open(B), b2 = await open(B, { transports: ['polling'] });
    for (const s of [a1, b1, b2]) assert.equal(await s.emitWithAck('join', room), true);
    const got = record('room-msg', { a1, b1, b2 });
    const bytes = Buffer.from([0, 10, 13, 30, 255, 0x0a]);
    assert.equal(await a1.emitWithAck('to-room', room, { blob: bytes, note: 'binary' }), true);
    await waitFor(() => got.a1.length && got.b1.length && got.b2.length, 3000, 'every member on both nodes');
    await sleep(300);
    for (const k of ['a1', 'b1', 'b2']) {
      assert.equal(got[k].length, 1, `${k} once`);
      assert.equal(got[k][0].note, 'binary');
      assert.deepEqual(buf(got[k][0].blob), bytes, `${k} bytes`);
    }
  });

  test('room names are delivered verbatim across nodes: a name with newlines reaches that room only', async () => {
    const base = uniq('nl');
    const room = `${base}\nsecond line\n`;
    const a1 = await open(A), b1 = await open(B), b2 = await open(B), b3 = await open(B);
    assert.equal(await a1.emitWithAck('join', room), true);
    assert.equal(await b1.emitWithAck('join', room), true);
    assert.equal(await b2.emitWithAck('join', base), true);
    assert.equal(await b3.emitWithAck('join', 'second line'), true);
    const got = record('room-msg', { a1, b1, b2, b3 });
    assert.equal(await a1.emitWithAck('to-room', room, 'for the newline room'), true);
    await waitFor(() => got.a1.length && got.b1.length, 3000, 'both members');
    await sleep(300);
    assert.deepEqual(got, { a1: ['for the newline room'], b1: ['for the newline room'], b2: [], b3: [] });
    assert.ok(b2.connected && b3.connected);
  });

  test('an emit to all sockets of "/" on node A reaches every "/" socket on both nodes once, not other namespaces', async () => {
    const a1 = await open(A), b1 = await open(B), b2 = await open(B, { transports: ['polling'] });
    const custom = await connect(`${B.url}/custom`);
    socks.push(custom);
    const got = record('all-msg', { a1, b1, b2, custom });
    const tag = uniq('all');
    assert.equal(await a1.emitWithAck('to-all', tag), true);
    await waitFor(() => got.a1.includes(tag) && got.b1.includes(tag) && got.b2.includes(tag), 3000, 'every "/" socket');
    await sleep(300);
    for (const k of ['a1', 'b1', 'b2']) assert.deepEqual(got[k].filter((x) => x === tag), [tag], `${k} once`);
    assert.deepEqual(got.custom, []);
  });

  test('room sizes are per node: each node counts only its own members', async () => {
    const room = uniq('size');
    const a1 = await open(A), b1 = await open(B), b2 = await open(B);
    for (const s of [a1, b1, b2]) await s.emitWithAck('join', room);
    assert.equal(await a1.emitWithAck('room-size', room), 1);
    assert.equal(await b1.emitWithAck('room-size', room), 2);
    b2.disconnect();
    await waitFor(async () => (await b1.emitWithAck('room-size', room)) === 1, 3000, 'the room on B to shrink');
    assert.equal(await a1.emitWithAck('room-size', room), 1);
  });
});
