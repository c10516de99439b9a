// tests/faults/redis.test.mjs - Redis restarted under two nodes (SECURITY.md: "Redis restarted ->
// reconnect with back-off, re-subscribe, cross-node chat resumes"). Two servers share the
// throwaway Redis of tools/test.sh (SH_TEST_REDIS_DIR / SH_TEST_REDIS_PORT2), which is stopped and
// started again. Checked: during the outage each node keeps serving and relaying locally and
// retries with back-off (a handful of attempts, not a hot loop); after it, cross-node Socket.IO
// room emits and cross-node chat resume by themselves, each message delivered once.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, startServer, uniq } from '../lib/server.mjs';
import { SIOCONF, connect } from '../lib/realtime.mjs';
import { AUTH, built, makeRoom, redisStart, redisStop, register, sleep, stopClean, throwawayRedis, waitFor } from './helpers.mjs';

const R = throwawayRedis();
const SKIP = !R ? 'needs SH_TEST_REDIS_DIR and SH_TEST_REDIS_PORT2 (tools/test.sh sets them)'
  : !process.env.SH_TEST_PG ? 'needs SH_TEST_PG' : !built('auth') || !built('rooms') ? 'needs auth and rooms' : false;
const HAVE_CHAT = built('chat');
const PREFIX = `${uniq('rf')}:`;

// Until `probe()` (an emit) makes `seen()` true, repeat it every `every` ms; resolves with the time it took.
async function untilDelivered(probe, seen, ms, what) {
  const t0 = Date.now();
  await waitFor(async () => { if (seen()) return true; probe(); await sleep(200); return seen(); }, ms, what);
  return Date.now() - t0;
}

// Lines a node logged about (re)connecting to Redis after `from` (an offset into its log).
const redisLines = (srv, from) => srv.logs().slice(from).split('\n').filter((l) => /redis/i.test(l));

describe('Redis restarted under two nodes', { skip: SKIP }, () => {
  let A, B;
  const socks = [];
  const sock = async (srv, opts) => { const s = await connect(srv.url, { transports: ['websocket'], ...opts }); socks.push(s); return s; };

  before(async () => {
    redisStart(R);
    const node = () => startServer({
      plugins: [AUTH, { name: 'rooms', config: { redis_prefix: `${PREFIX}rooms:` } },
        ...(HAVE_CHAT ? [{ name: 'chat', config: { rate_limit: 1000, rate_window_ms: 1000 } }] : []), SIOCONF],
      redis: { port: R.port, prefix: PREFIX },
      log: { level: 'debug' }, // every reconnect attempt is logged (at debug after the first)
      server: { access_log: false },
    });
    [A, B] = await Promise.all([node(), node()]);
  });

  after(async () => {
    for (const s of socks) s.close();
    await Promise.all([stopClean(A), stopClean(B)]);
    redisStop(R);
  });

  test('redis_restart_cross_node_socketio_room_emits_resume_with_back_off', { timeout: 60000 }, async () => {
    const a = await sock(A), b = await sock(B), b2 = await sock(B);
    await a.emitWithAck('join', 'rr');
    await b2.emitWithAck('join', 'rr');
    const atA = [], atB2 = [];
    a.on('room-msg', (m) => atA.push(m));
    b2.on('room-msg', (m) => atB2.push(m));
    let n = 0;
    await untilDelivered(() => b.emit('to-room', 'rr', `warm ${n++}`), () => atA.length > 0, 10000, 'cross-node delivery before the outage');

    redisStop(R);
    const fromA = A.logs().length, fromB = B.logs().length;
    const down = Date.now();
    await waitFor(async () => (await api(A.url, 'GET', '/health')).body?.redis?.ok === false, 5000, 'node A noticing the outage');
    // the node keeps serving and relaying locally
    const h = await api(B.url, 'GET', '/health');
    assert.ok(h.status === 200 || h.status === 503, `health answers (${h.status})`);
    const localBefore = atB2.length;
    b.emit('to-room', 'rr', 'local during the outage');
    await waitFor(() => atB2.length > localBefore, 3000, 'local relay on node B during the outage');
    await sleep(Math.max(0, 3000 - (Date.now() - down)));
    const attempts = [A, B].map((s, i) => redisLines(s, i ? fromB : fromA).filter((l) => /connect to .* failed|timed out|closed during the handshake|cannot/.test(l)).length);

    redisStart(R);
    const aCount = atA.length;
    const took = await untilDelivered(() => b.emit('to-room', 'rr', `after ${n++}`), () => atA.length > aCount, 15000,
      'cross-node room emits after the restart');
    console.log(`# cross-node emits resumed ${took} ms after Redis was back; reconnect attempts during ~3 s of outage: A ${attempts[0]}, B ${attempts[1]}`);
    for (const x of attempts) assert.ok(x >= 1 && x <= 16, `retried with back-off, not in a hot loop (${attempts})`);
    for (const s of [A, B]) await waitFor(() => /connection re-established/.test(s.logs()), 5000, 're-established lines');
    // exactly once after recovery
    const tag = uniq('x');
    const before = atA.length;
    for (let i = 0; i < 5; i++) b.emit('to-room', 'rr', `${tag} ${i}`);
    await waitFor(() => atA.filter((m) => String(m).startsWith(tag)).length >= 5, 5000, 'five messages across');
    await sleep(300);
    assert.deepEqual(atA.slice(before).filter((m) => String(m).startsWith(tag)), [0, 1, 2, 3, 4].map((i) => `${tag} ${i}`));
  });

  test('redis_restart_cross_node_chat_resumes', { timeout: 60000, skip: !HAVE_CHAT && 'plugins/chat is not built yet: cross-node chat part skipped' }, async () => {
    const owner = await register(A.url, 'o');
    const room = await makeRoom(A.url, owner);
    const sender = await register(A.url, 's');
    const s = await sock(A, { auth: { token: sender.token } });
    const v = await sock(B);
    assert.equal((await s.timeout(5000).emitWithAck('join-room', { roomId: room.id })).ok, true);
    assert.equal((await v.timeout(5000).emitWithAck('join-room', { roomId: room.id })).ok, true);
    const got = [];
    v.on('new-message', (m) => got.push(m));
    const send = (text) => s.timeout(5000).emitWithAck('chat-message', { message: text, roomId: room.id }).catch((e) => ({ error: String(e) }));
    let n = 0;
    await untilDelivered(() => send(`warm ${n++}`), () => got.length > 0, 10000, 'cross-node chat before the outage');

    redisStop(R);
    await sleep(2500);
    redisStart(R);
    const count = got.length;
    const took = await untilDelivered(() => send(`after ${n++}`), () => got.length > count, 15000, 'cross-node chat after the restart');
    console.log(`# cross-node chat resumed ${took} ms after Redis was back`);
    const tag = uniq('c');
    const acks = [];
    for (let i = 0; i < 5; i++) acks.push(await send(`${tag} ${i}`));
    assert.ok(acks.every((a) => typeof a.id === 'number'), JSON.stringify(acks));
    await waitFor(() => got.filter((m) => m.message.startsWith(tag)).length >= 5, 5000, 'five chat messages on node B');
    await sleep(300);
    assert.deepEqual(got.filter((m) => m.message.startsWith(tag)).map((m) => m.id), acks.map((a) => a.id), 'each once, in order');
  });
});
