// tests/integration/chat_cluster.test.mjs - the chat plugin on two nodes sharing PostgreSQL and
// Redis: messages sent on one node reach members on the other in storage order; the rate limit
// is shared; a ban or timeout given on node A is enforced on node B at once (B's ban cache is
// updated through the cluster bus, even when B had cached "not banned"), a timeout expires on
// both, an unban on B frees the user on A; moderators appointed on one node moderate on the
// other; deletes and clears reach every node; room modes changed through either node apply on
// both (room.updated).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { JWT_SECRET, api, startServer, uniq } from '../lib/server.mjs';
import { connect, sleep, stopChecked, waitFor } from '../lib/realtime.mjs';

const AUTH = { name: 'auth', config: { jwt_secret: JWT_SECRET, bcrypt_cost: 10, exempt_loopback: true } };
const PREFIX = `${uniq('cc')}:`;
const ROOMS = { name: 'rooms', config: { redis_prefix: PREFIX } };
// a long ban cache: node B must learn of bans through the bus, not by the entry expiring
const CHAT = { name: 'chat', config: { rate_limit: 5, rate_window_ms: 1500, ban_cache_ms: 600000, room_cache_ms: 600000 } };
const clusterNode = () => startServer({ plugins: [AUTH, ROOMS, 'follow', CHAT], redis: { prefix: PREFIX } });

const servers = [];
const socks = [];
let A, B;

async function register() {
  const username = uniq('k');
  const r = await api(A.url, 'POST', '/api/auth/register', {
    body: { username, email: `${username}@example.com`, password: 'password-123' },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return { username, token: r.body.token, id: r.body.user.id };
}
async function makeRoom(u) {
  const r = await api(A.url, 'POST', '/api/rooms', { token: u.token, body: { title: `room of ${u.username}` } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.room;
}
const ack = (s, event, data) => s.timeout(5000).emitWithAck(event, data);
async function member(srv, room, u) {
  const s = await connect(srv.url, u ? { auth: { token: u.token } } : {});
  socks.push(s);
  s.got = {};
  s.onAny((event, data) => { (s.got[event] ||= []).push(data); });
  assert.equal((await ack(s, 'join-room', { roomId: room.id })).ok, true);
  await waitFor(() => (s.got['chat-history'] || []).length >= 1, 5000, 'chat-history after join-room');
  return s;
}
const received = (s, event = 'new-message') => s.got[event] || [];
const send = (s, message) => ack(s, 'chat-message', { message });
async function sendOk(s, message) {
  const r = await send(s, message);
  assert.ok(Number.isInteger(r.id), `expected {id}, got ${JSON.stringify(r)}`);
  return r.id;
}
// The bus crosses nodes through Redis: allow it a moment, but no more than 2 s.
async function eventually(fn, what) {
  let last;
  await waitFor(async () => { last = await fn(); return last === true; }, 2000, what).catch((e) => {
    throw new Error(`${e.message}; last: ${JSON.stringify(last)}`);
  });
}

before(async () => {
  [A, B] = await Promise.all([clusterNode(), clusterNode()]);
  servers.push(A, B);
  // both nodes subscribed to the cluster channel: a message stored on A reaches a member on B
  const u = await register();
  const room = await makeRoom(u);
  const b = await member(B, room), a = await member(A, room, u);
  await waitFor(async () => {
    await send(a, 'ping');
    await sleep(100);
    return received(b).length > 0;
  }, 10000, 'cluster delivery between the nodes');
  await sleep(1600); // let the rate window pass
});

// Stop a server: no memory error, no undefined behaviour, and (under LeakSanitizer) no leak
// involving the chat plugin.
async function stopChat(srv) {
  await stopChecked(srv);
  const logs = srv.logs(), li = logs.indexOf('ERROR: LeakSanitizer');
  if (li >= 0 && /plugins\/chat\//.test(logs.slice(li))) throw new Error(`leak in the chat plugin:\n${logs.slice(li, li + 8000)}`);
}

after(async () => {
  for (const s of socks) s.close();
  await Promise.all(servers.map((s) => stopChat(s)));
});

describe('chat across two nodes', () => {
  it('delivers messages from both nodes to members of both, in one order per sending node', async () => {
    const owner = await register(), x = await register(), y = await register();
    const room = await makeRoom(owner);
    const onA = await member(A, room, x), onB = await member(B, room, y), anonA = await member(A, room), anonB = await member(B, room);
    const acks = await Promise.all([1, 2, 3, 4, 5].flatMap((k) => [sendOk(onA, `a${k}`), sendOk(onB, `b${k}`)]));
    for (const s of [anonA, anonB, onA, onB]) {
      await waitFor(() => received(s).length >= 10, 5000, '10 messages');
      assert.deepEqual(received(s).map((m) => m.id).sort((p, q) => p - q), [...acks].sort((p, q) => p - q));
      for (const pre of ['a', 'b']) { // each node's messages in its storage order
        const mine = received(s).filter((m) => m.message[0] === pre);
        assert.deepEqual(mine.map((m) => m.message), [1, 2, 3, 4, 5].map((k) => `${pre}${k}`));
        assert.deepEqual(mine.map((m) => m.id), mine.map((m) => m.id).sort((p, q) => p - q));
      }
    }
    // the history is the same from both nodes
    const ha = (await api(A.url, 'GET', `/api/rooms/${room.id}/messages`)).body.messages;
    const hb = (await api(B.url, 'GET', `/api/rooms/${room.id}/messages`)).body.messages;
    assert.deepEqual(ha, hb);
    assert.equal(ha.length, 10);
  });

  it('shares the rate limit between the nodes', async () => {
    const u = await register();
    const room = await makeRoom(await register());
    const a = await member(A, room, u), b = await member(B, room, u);
    for (let i = 0; i < 3; i++) await sendOk(a, `a${i}`);
    for (let i = 0; i < 2; i++) await sendOk(b, `b${i}`);
    assert.equal((await send(a, 'sixth')).error.code, 'rate_limited');
    assert.equal((await send(b, 'seventh')).error.code, 'rate_limited');
  });

  it('bans on node A are refused on node B at once; unban on B frees the user on A', async () => {
    const owner = await register(), user = await register();
    const room = await makeRoom(owner);
    const onB = await member(B, room, user), onA = await member(A, room, user);
    await sendOk(onB, 'B caches "not banned"');
    await sendOk(onA, 'so does A');
    const r = await api(A.url, 'POST', `/api/rooms/${room.id}/bans`, { token: owner.token, body: { username: user.username, reason: 'x' } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal((await send(onA, 'on A')).error.code, 'banned');
    await eventually(async () => (await send(onB, 'on B')).error?.code === 'banned' || 'accepted', 'B refuses the banned user');
    assert.equal((await ack(onB, 'send-reaction', { emoji: '👍' })).error.code, 'banned');
    assert.equal((await api(B.url, 'DELETE', `/api/rooms/${room.id}/bans/${user.username}`, { token: owner.token })).status, 204);
    await sendOk(onB, 'free on B');
    await eventually(async () => Number.isInteger((await send(onA, 'free on A')).id) || 'refused', 'A accepts again');
  });

  it('timeouts given on B are enforced on A and expire on both', async () => {
    const owner = await register(), mod = await register(), user = await register();
    const room = await makeRoom(owner);
    // a moderator appointed through A moderates through B
    assert.equal((await api(A.url, 'POST', `/api/rooms/${room.id}/moderators`, { token: owner.token, body: { username: mod.username } })).status, 201);
    const onA = await member(A, room, user), modB = await member(B, room, mod);
    await sendOk(onA, 'hello');
    const t = await ack(modB, 'ban-user', { username: user.username, durationSeconds: 2 });
    assert.ok(t.ban, JSON.stringify(t));
    let err;
    await eventually(async () => { err = (await send(onA, 'during')).error; return err?.code === 'banned' || 'accepted'; }, 'A enforces the timeout');
    assert.ok(err.retryAfter >= 1 && err.retryAfter <= 2, JSON.stringify(err));
    await sleep(err.retryAfter * 1000 + 200);
    await sendOk(onA, 'after the timeout');
    await sendOk(await member(B, room, user), 'after the timeout, on B');
  });

  it('deletes, clears and mode changes made through one node apply on the other', async () => {
    const owner = await register(), mod = await register(), user = await register();
    const room = await makeRoom(owner);
    const watcherA = await member(A, room), userB = await member(B, room, user), modA = await member(A, room, mod);
    const id = await sendOk(userB, 'delete me');
    await waitFor(() => received(watcherA).length === 1, 3000, 'the message on A');
    // a moderator appointed through B: node A's cached moderators are dropped through the bus
    assert.equal((await ack(modA, 'delete-message', { messageId: id })).error.code, 'forbidden');
    assert.equal((await api(B.url, 'POST', `/api/rooms/${room.id}/moderators/${mod.username}`, { token: owner.token })).status, 201);
    assert.equal((await ack(modA, 'delete-message', { messageId: id })).ok, true);
    await waitFor(() => received(userB, 'message-deleted').length === 1, 3000, 'message-deleted on B');
    await sendOk(userB, 'to be cleared');
    assert.equal((await ack(modA, 'clear-chat', {})).ok, true);
    await waitFor(() => received(userB, 'chat-cleared').length === 1, 3000, 'chat-cleared on B');
    assert.deepEqual((await api(B.url, 'GET', `/api/rooms/${room.id}/messages`)).body.messages, []);
    // slow mode set through A applies to a user on B (whose node had cached the room)
    assert.equal((await api(A.url, 'PATCH', `/api/rooms/${room.id}`, { token: owner.token, body: { slowModeSeconds: 5 } })).status, 200);
    await eventually(async () => {
      const r1 = await send(userB, 'slow 1');
      const r2 = await send(userB, 'slow 2');
      return r2.error?.code === 'slow_mode' || [r1, r2];
    }, 'slow mode on B');
    // the moderator is exempt there too
    await sendOk(modA, 'mod 1');
    await sendOk(modA, 'mod 2');
  });
});
