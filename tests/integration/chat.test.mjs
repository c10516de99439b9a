// tests/integration/chat.test.mjs - the chat plugin on one node against real PostgreSQL, Redis and
// socket.io-client: the round trip (ack {id} only after storage, broadcast to every member
// including anonymous ones, order kept under a burst from several senders), validation and
// hostile text (stored and delivered unchanged, or refused; never mangled), the rate limit, slow
// mode and followers-only mode (refused with their code, accepted again after the wait),
// deletes and clears by owners, moderators and authors, moderators and bans over REST,
// timeouts, the moderation log, history on join and over REST (without deleted messages,
// surviving a restart), reactions (delivered, not stored, rate-limited) and metrics.
// The cluster behaviour (two nodes) is in chat_cluster.test.mjs. Names are unique per run (the
// database is shared between runs).
//
// History on join: the rooms plugin handles join-room and publishes room.joined on the local bus;
// the chat plugin answers it with chat-history {roomId, messages} to the socket. A client may also
// ask with chat-history {roomId} at any time.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { JWT_SECRET, api, startServer, uniq } from '../lib/server.mjs';
import { WsClient, connect, metric, sleep, stopChecked, waitFor } from '../lib/realtime.mjs';

const AUTH = { name: 'auth', config: { jwt_secret: JWT_SECRET, bcrypt_cost: 10, exempt_loopback: true } };
const PREFIX = `${uniq('ct')}:`;
const ROOMS = { name: 'rooms', config: { redis_prefix: PREFIX } };
// small limits so that waiting for a window to pass is quick
const CHAT = {
  name: 'chat',
  config: { rate_limit: 5, rate_window_ms: 1500, reaction_limit: 3, reaction_window_ms: 1500, follow_cache_ms: 0 },
};
const PLUGINS = [AUTH, ROOMS, 'follow', CHAT];
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

const servers = [];
const socks = [];
let A;

const startNode = () => startServer({ plugins: PLUGINS, redis: { prefix: PREFIX } });

async function register(base = A.url) {
  const username = uniq('c');
  const r = await api(base, 'POST', '/api/auth/register', {
    body: { username, email: `${username}@example.com`, password: 'password-123' },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return { username, token: r.body.token, id: r.body.user.id };
}

async function makeRoom(u, base = A.url) {
  const r = await api(base, 'POST', '/api/rooms', { token: u.token, body: { title: `room of ${u.username}` } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.room;
}

const ack = (s, event, data) => s.timeout(5000).emitWithAck(event, data);

// A socket (signed in as u, or anonymous) that joined the room and got its history (sent on
// join, unasked); its received events are collected in s.got[event].
async function member(srv, room, u) {
  const s = await connect(srv.url, u ? { auth: { token: u.token } } : {});
  socks.push(s);
  s.got = {};
  s.onAny((event, data) => { (s.got[event] ||= []).push(data); });
  const j = await ack(s, 'join-room', { roomId: room.id });
  assert.equal(j.ok, true, JSON.stringify(j));
  await waitFor(() => (s.got['chat-history'] || []).length >= 1, 5000, 'chat-history after join-room');
  const h = s.got['chat-history'][0];
  assert.equal(h.roomId, room.id);
  assert.ok(Array.isArray(h.messages), JSON.stringify(h));
  s.history = h.messages;
  return s;
}

const send = (s, message) => ack(s, 'chat-message', { message });
async function sendOk(s, message) {
  const r = await send(s, message);
  assert.ok(Number.isInteger(r.id), `expected {id}, got ${JSON.stringify(r)}`);
  return r.id;
}
async function refused(s, message, code) {
  const before = (s.got['chat-error'] || []).length;
  const r = await send(s, message);
  assert.equal(r.error?.code, code, JSON.stringify(r));
  await waitFor(() => (s.got['chat-error'] || []).length > before, 2000, 'chat-error event');
  assert.equal(s.got['chat-error'].at(-1).code, code);
  return r.error;
}
const received = (s, event = 'new-message') => s.got[event] || [];
async function waitMessages(s, n, ms = 5000) {
  await waitFor(() => received(s).length >= n, ms, `${n} new-message events`);
  return received(s);
}
async function rest(srv, room, query = '') {
  const r = await api(srv.url, 'GET', `/api/rooms/${room.id}/messages${query}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.messages;
}
const patchRoom = (u, room, body) => api(A.url, 'PATCH', `/api/rooms/${room.id}`, { token: u.token, body });
function assertError(r, status, code) {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.equal(r.body.error.code, code, JSON.stringify(r.body));
}
const psql = (sql) => execFileSync('psql', [process.env.SH_TEST_PG, '-XAtqc', sql], { encoding: 'utf8' }).trim();

before(async () => {
  A = await startNode();
  servers.push(A);
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

describe('chat: the round trip', () => {
  it('acknowledges {id} after storage and delivers new-message to every member, anonymous ones included', async () => {
    const owner = await register(), viewer = await register();
    const room = await makeRoom(owner);
    const a = await member(A, room, owner), b = await member(A, room, viewer), anon = await member(A, room);
    assert.deepEqual(a.history, []);
    const id = await sendOk(b, '  hello, world  ');
    // the row exists when the ack arrives
    assert.equal(psql(`SELECT content FROM chat_messages WHERE id = ${id}`), 'hello, world');
    for (const s of [a, b, anon]) {
      const [m] = await waitMessages(s, 1);
      assert.deepEqual(Object.keys(m).sort(), ['id', 'message', 'timestamp', 'userId', 'username']);
      assert.equal(m.id, id);
      assert.equal(m.userId, viewer.id);
      assert.equal(m.username, viewer.username);
      assert.equal(m.message, 'hello, world');
      assert.match(m.timestamp, ISO);
    }
    const [h] = await rest(A, room);
    assert.deepEqual(h, received(a)[0]);
    // members of other rooms get nothing
    const other = await member(A, await makeRoom(await register()), await register());
    await sleep(100);
    assert.equal(received(other).length, 0);
  });

  it('keeps the order of storage under a burst from several senders', async () => {
    const owner = await register();
    const room = await makeRoom(owner);
    const users = [owner, await register(), await register(), await register()];
    const senders = await Promise.all(users.map((u) => member(A, room, u)));
    const watcher = await member(A, room);
    // every sender fires 5 messages without waiting (the rate limit allows 5)
    const acks = await Promise.all(senders.flatMap((s, i) => [1, 2, 3, 4, 5].map((k) => sendOk(s, `s${i}-m${k}`))));
    assert.equal(new Set(acks).size, 20);
    const got = await waitMessages(watcher, 20);
    const ids = got.map((m) => m.id);
    assert.deepEqual(ids, [...ids].sort((x, y) => x - y), 'delivered in id (storage) order');
    for (let i = 0; i < 4; i++) { // each sender's messages in the order sent
      const mine = got.filter((m) => m.message.startsWith(`s${i}-`)).map((m) => m.message);
      assert.deepEqual(mine, [1, 2, 3, 4, 5].map((k) => `s${i}-m${k}`));
    }
    for (const s of senders) assert.deepEqual((await waitMessages(s, 20)).map((m) => m.id), ids, 'everyone sees one order');
    assert.deepEqual((await rest(A, room)).map((m) => m.id), ids, 'history in the same order, newest last');
  });

  it('lets anonymous sockets read but never write', async () => {
    const owner = await register();
    const room = await makeRoom(owner);
    const anon = await member(A, room);
    await refused(anon, 'hi', 'not_authenticated');
    const r = await ack(anon, 'send-reaction', { emoji: '👍' });
    assert.equal(r.error.code, 'not_authenticated');
    for (const [event, data] of [['delete-message', { messageId: 1 }], ['clear-chat', { roomId: room.id }],
      ['ban-user', { roomId: room.id, username: owner.username }]]) {
      assert.equal((await ack(anon, event, data)).error.code, 'not_authenticated', event);
    }
    assert.deepEqual(await rest(A, room), []);
  });

  it('refuses chat-message from a socket that did not join the room', async () => {
    const u = await register();
    const room = await makeRoom(u);
    const s = await connect(A.url, { auth: { token: u.token } });
    socks.push(s);
    assert.equal((await ack(s, 'chat-message', { message: 'x' })).error.code, 'not_in_room');
    assert.equal((await ack(s, 'chat-message', { message: 'x', roomId: room.id })).error.code, 'not_in_room');
    // after join-room, naming the room in the event works without chat-history
    assert.equal((await ack(s, 'join-room', { roomId: room.id })).ok, true);
    assert.ok(Number.isInteger((await ack(s, 'chat-message', { message: 'x', roomId: room.id })).id));
    // after leave-room the socket may no longer write there
    await ack(s, 'leave-room');
    assert.equal((await ack(s, 'chat-message', { message: 'y', roomId: room.id })).error.code, 'not_in_room');
  });
});

describe('chat: validation and hostile text', () => {
  it('stores and delivers hostile text unchanged', async () => {
    const u = await register();
    const room = await makeRoom(u);
    const s = await member(A, room, u), anon = await member(A, room);
    const texts = [
      '<script>alert(1)</script>',
      '</script><script>alert(document.cookie)</script>',
      '<img src=x onerror=alert(1)>',
      'line\u2028separator\u2029paragraph',
      '\u202Eright-to-left override\u202C and \u2066isolate\u2069',
      '"quotes" \\backslash\\ \'single\' & ampersand {"json": true}',
      "'; DROP TABLE chat_messages; --",
    ];
    for (let i = 0; i < texts.length; i++) {
      if (i === 5) await sleep(1600); // the rate limit: 5 per window
      await sendOk(s, texts[i]);
    }
    const got = await waitMessages(anon, texts.length);
    assert.deepEqual(got.map((m) => m.message), texts);
    assert.deepEqual((await rest(A, room)).map((m) => m.message), texts);
    // the raw HTTP body carries the characters JSON-escaped where needed, never HTML-escaped
    const raw = await (await fetch(`${A.url}/api/rooms/${room.id}/messages`)).text();
    assert.ok(raw.includes('<script>alert(1)</script>') && !raw.includes('&lt;'), raw.slice(0, 300));
  });

  it('refuses empty, too long, control characters, line breaks and broken UTF-16', async () => {
    const u = await register();
    const room = await makeRoom(u);
    const s = await member(A, room, u);
    for (const bad of ['', '   \t  ', 'x'.repeat(501), 'y'.repeat(10000), 'two\nlines', 'bell\u0007', 'esc\u001b[31m',
      'nul\u0000byte', 'c1\u009b', 'lone \ud800 surrogate', 'low \udc00 half']) {
      const e = await refused(s, bad, 'invalid_message');
      assert.ok(e.message.length > 0);
    }
    for (const notText of [42, null, { a: 1 }, ['x']]) {
      assert.equal((await ack(s, 'chat-message', { message: notText })).error.code, 'invalid_message');
    }
    // exactly 500 characters (counted in code points, not bytes or UTF-16 units) pass
    await sendOk(s, '😀'.repeat(500));
    assert.deepEqual((await rest(A, room)).map((m) => [...m.message].length), [500]);
  });

  it('never lets invalid UTF-8 bytes reach the chat (the WebSocket closes with 1007)', async () => {
    const u = await register();
    const room = await makeRoom(u);
    const s = await member(A, room, u);
    await sendOk(s, 'before');
    const c = new WsClient(A.url, { autoPong: true, headers: {} });
    await c.opened;
    await c.next((x) => typeof x === 'string' && x[0] === '0');
    c.send('40' + JSON.stringify({ token: u.token }));
    await c.next((x) => typeof x === 'string' && x.startsWith('40{'));
    c.send(`42["join-room",{"roomId":"${room.id}"}]`);
    await sleep(200);
    const bytes = Buffer.concat([Buffer.from(`42["chat-message",{"message":"bad `), Buffer.from([0xc3, 0x28, 0xff]),
      Buffer.from(`","roomId":"${room.id}"}]`)]);
    c.ws.send(bytes, { binary: false });
    const closed = await c.closedWithin(3000);
    assert.equal(closed?.code, 1007);
    await sleep(200);
    assert.deepEqual((await rest(A, room)).map((m) => m.message), ['before']);
  });
});

describe('chat: rate limit, slow mode, followers-only', () => {
  it('rate-limits a user per room (5 per window) and accepts again after the wait', async () => {
    const u = await register();
    const room = await makeRoom(await register());
    const room2 = await makeRoom(await register());
    const s = await member(A, room, u);
    for (let i = 0; i < 5; i++) await sendOk(s, `m${i}`);
    const e = await refused(s, 'one too many', 'rate_limited');
    assert.ok(e.retryAfter >= 1 && e.retryAfter <= 2, JSON.stringify(e));
    // another room has its own budget
    const s2 = await member(A, room2, u);
    await sendOk(s2, 'elsewhere');
    await sleep(e.retryAfter * 1000 + 100);
    await sendOk(s, 'after the wait');
    assert.equal((await rest(A, room)).length, 6);
  });

  it('slow mode: N seconds between messages of one user, the owner and moderators exempt', async () => {
    const owner = await register(), viewer = await register(), mod = await register();
    const room = await makeRoom(owner);
    const o = await member(A, room, owner), v = await member(A, room, viewer), m = await member(A, room, mod);
    assert.equal((await api(A.url, 'POST', `/api/rooms/${room.id}/moderators`, { token: owner.token, body: { username: mod.username } })).status, 201);
    await sendOk(v, 'before slow mode');
    await sendOk(v, 'still fine');
    assert.equal((await patchRoom(owner, room, { slowModeSeconds: 2 })).status, 200);
    await sleep(50); // room.updated reaches the chat's cache on the next loop turns
    await sendOk(v, 'first in slow mode');
    const e = await refused(v, 'too soon', 'slow_mode');
    assert.ok(e.retryAfter >= 1 && e.retryAfter <= 2, JSON.stringify(e));
    for (let i = 0; i < 3; i++) await sendOk(o, `owner ${i}`);
    for (let i = 0; i < 3; i++) await sendOk(m, `moderator ${i}`);
    await sleep(e.retryAfter * 1000 + 100);
    await sendOk(v, 'after the wait');
    assert.equal((await patchRoom(owner, room, { slowModeSeconds: 0 })).status, 200);
    await sleep(50);
    await sendOk(v, 'slow mode off');
  });

  it('followers-only: refuses non-followers and recent followers, accepts after following (long enough)', async () => {
    const owner = await register(), fan = await register(), mod = await register();
    const room = await makeRoom(owner);
    const f = await member(A, room, fan), m = await member(A, room, mod), o = await member(A, room, owner);
    assert.equal((await api(A.url, 'POST', `/api/rooms/${room.id}/moderators/${mod.username}`, { token: owner.token })).status, 201);
    assert.equal((await patchRoom(owner, room, { followersOnly: true })).status, 200);
    await sleep(50);
    await refused(f, 'let me in', 'followers_only');
    await sendOk(o, 'owner is exempt');
    await sendOk(m, 'moderator is exempt');
    assert.equal((await api(A.url, 'POST', `/api/users/${owner.username}/follow`, { token: fan.token })).status, 204);
    await sendOk(f, 'now a follower');
    // followed for at least 10 minutes
    assert.equal((await patchRoom(owner, room, { followersOnlyMinutes: 10 })).status, 200);
    await sleep(50);
    const e = await refused(f, 'too new', 'followers_only');
    assert.ok(e.retryAfter > 500 && e.retryAfter <= 600, JSON.stringify(e));
    psql(`UPDATE follows SET created_at = now() - interval '11 minutes' WHERE follower_id = ${fan.id} AND following_id = ${owner.id}`);
    await sendOk(f, 'followed long enough');
    assert.equal((await patchRoom(owner, room, { followersOnly: false })).status, 200);
    await sleep(50);
    const other = await member(A, room, await register());
    await sendOk(other, 'open again');
  });
});

describe('chat: moderation', () => {
  async function setup() {
    const owner = await register(), mod = await register(), author = await register(), other = await register();
    const room = await makeRoom(owner);
    const r = await api(A.url, 'POST', `/api/rooms/${room.id}/moderators`, { token: owner.token, body: { username: mod.username } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const s = {
      owner: await member(A, room, owner), mod: await member(A, room, mod), author: await member(A, room, author),
      other: await member(A, room, other), anon: await member(A, room),
    };
    return { owner, mod, author, other, room, s };
  }

  it('deletes: the author their own, the owner and moderators any; others are refused', async () => {
    const { author, room, s } = await setup();
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push(await sendOk(s.author, `msg ${i}`));
    // someone else cannot delete it
    assert.equal((await ack(s.other, 'delete-message', { messageId: ids[0] })).error.code, 'forbidden');
    // the author can
    assert.deepEqual(await ack(s.author, 'delete-message', { messageId: ids[0] }), { ok: true, messageId: ids[0] });
    // the owner and a moderator can delete anyone's
    assert.equal((await ack(s.owner, 'delete-message', { messageId: ids[1] })).ok, true);
    assert.equal((await ack(s.mod, 'delete-message', { messageId: String(ids[2]) })).ok, true);
    for (const x of [s.anon, s.other, s.author]) {
      await waitFor(() => received(x, 'message-deleted').length >= 3, 3000, 'message-deleted');
      assert.deepEqual(received(x, 'message-deleted'), ids.slice(0, 3).map((messageId) => ({ messageId })));
    }
    // deleting again is harmless (no second event); unknown ids are not found
    assert.equal((await ack(s.owner, 'delete-message', { messageId: ids[1] })).ok, true);
    assert.equal((await ack(s.owner, 'delete-message', { messageId: 999999999999 })).error.code, 'message_not_found');
    assert.equal((await ack(s.owner, 'delete-message', { messageId: 'abc' })).error.code, 'invalid_message_id');
    await sleep(100);
    assert.equal(received(s.anon, 'message-deleted').length, 3);
    // deleted messages disappear from history (REST and chat-history)
    assert.deepEqual((await rest(A, room)).map((m) => m.id), [ids[3]]);
    assert.deepEqual((await ack(s.anon, 'chat-history', { roomId: room.id })).messages.map((m) => m.id), [ids[3]]);
    // the rows stay (soft delete)
    assert.equal(psql(`SELECT count(*) FROM chat_messages WHERE id IN (${ids.join(',')}) AND deleted`), '3');
    // over REST too
    assertError(await api(A.url, 'DELETE', `/api/rooms/${room.id}/messages/${ids[3]}`, { token: (await register()).token }), 403, 'forbidden');
    assert.equal((await api(A.url, 'DELETE', `/api/rooms/${room.id}/messages/${ids[3]}`, { token: author.token })).status, 204);
    assert.deepEqual(await rest(A, room), []);
  });

  it('clears the chat: owner and moderators only; history empty afterwards, new messages shown', async () => {
    const { owner, room, s } = await setup();
    for (let i = 0; i < 3; i++) await sendOk(s.author, `old ${i}`);
    assert.equal((await ack(s.other, 'clear-chat', {})).error.code, 'forbidden');
    assert.equal((await ack(s.author, 'clear-chat', { roomId: room.id })).error.code, 'forbidden');
    assert.equal((await ack(s.mod, 'clear-chat', {})).ok, true);
    for (const x of [s.anon, s.owner, s.author]) await waitFor(() => received(x, 'chat-cleared').length === 1, 3000, 'chat-cleared');
    assert.deepEqual(received(s.anon, 'chat-cleared')[0], {});
    assert.deepEqual(await rest(A, room), []);
    const id = await sendOk(s.author, 'after the clear');
    assert.deepEqual((await rest(A, room)).map((m) => m.id), [id]);
    assert.equal((await api(A.url, 'DELETE', `/api/rooms/${room.id}/messages`, { token: owner.token })).status, 204);
    assert.deepEqual(await rest(A, room), []);
    assertError(await api(A.url, 'DELETE', `/api/rooms/${room.id}/messages`, { token: (await register()).token }), 403, 'forbidden');
  });

  it('moderators: the streamer lists, appoints and removes them; nobody else', async () => {
    const owner = await register(), mod = await register(), other = await register();
    const room = await makeRoom(owner);
    const url = `/api/rooms/${room.id}/moderators`;
    assertError(await api(A.url, 'GET', url), 401, 'unauthorized');
    assertError(await api(A.url, 'GET', url, { token: other.token }), 403, 'forbidden');
    assertError(await api(A.url, 'POST', url, { token: other.token, body: { username: other.username } }), 403, 'forbidden');
    assertError(await api(A.url, 'POST', url, { token: owner.token, body: { username: uniq('nobody') } }), 404, 'user_not_found');
    assertError(await api(A.url, 'POST', url, { token: owner.token, body: { username: owner.username } }), 400, 'cannot_target_self');
    assertError(await api(A.url, 'POST', url, { token: owner.token, body: { username: 'no spaces' } }), 400, 'invalid_field');
    assertError(await api(A.url, 'GET', `/api/rooms/nosuchroom1/moderators`, { token: owner.token }), 404, 'room_not_found');
    const r = await api(A.url, 'POST', url, { token: owner.token, body: { username: mod.username.toUpperCase() } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.moderator.username, mod.username);
    assert.equal(r.body.moderator.id, mod.id);
    assert.match(r.body.moderator.addedAt, ISO);
    assert.equal((await api(A.url, 'POST', `${url}/${mod.username}`, { token: owner.token })).status, 200); // again: idempotent
    const list = await api(A.url, 'GET', url, { token: owner.token });
    assert.deepEqual(list.body.moderators.map((m) => m.username), [mod.username]);
    // a moderator cannot appoint others
    assertError(await api(A.url, 'POST', url, { token: mod.token, body: { username: other.username } }), 403, 'forbidden');
    assert.equal((await api(A.url, 'DELETE', `${url}/${mod.username}`, { token: owner.token })).status, 204);
    assert.equal((await api(A.url, 'DELETE', `${url}/${mod.username}`, { token: owner.token })).status, 204);
    assert.deepEqual((await api(A.url, 'GET', url, { token: owner.token })).body.moderators, []);
    // no longer a moderator: cannot delete others' messages
    const s = await member(A, room, mod), o = await member(A, room, other);
    const id = await sendOk(o, 'hello');
    assert.equal((await ack(s, 'delete-message', { messageId: id })).error.code, 'forbidden');
  });

  it('bans and timeouts (REST and socket events), with the moderation log', async () => {
    const { owner, mod, author, other, room, s } = await setup();
    const url = `/api/rooms/${room.id}/bans`;
    // who may ban whom
    assertError(await api(A.url, 'POST', url, { token: other.token, body: { username: author.username } }), 403, 'forbidden');
    assertError(await api(A.url, 'POST', url, { token: mod.token, body: { username: owner.username } }), 400, 'cannot_ban_streamer');
    assertError(await api(A.url, 'POST', url, { token: mod.token, body: { username: mod.username } }), 400, 'cannot_target_self');
    assertError(await api(A.url, 'POST', url, { token: owner.token, body: { username: author.username, durationSeconds: 0 } }), 400, 'invalid_field');
    assertError(await api(A.url, 'POST', url, { token: owner.token, body: { username: author.username, reason: 'x'.repeat(201) } }), 400, 'invalid_field');
    await sendOk(s.author, 'before the ban');
    // a moderator bans (permanently)
    const b = await api(A.url, 'POST', url, { token: mod.token, body: { username: author.username, reason: 'spam <b>' } });
    assert.equal(b.status, 201, JSON.stringify(b.body));
    assert.equal(b.body.ban.userId, author.id);
    assert.equal(b.body.ban.reason, 'spam <b>');
    assert.equal(b.body.ban.expiresAt, null);
    assert.deepEqual(b.body.ban.bannedBy, { id: mod.id, username: mod.username });
    const e = await refused(s.author, 'am I banned?', 'banned');
    assert.equal(e.retryAfter, undefined);
    assert.equal((await ack(s.author, 'send-reaction', { emoji: '😀' })).error.code, 'banned');
    // listed for the owner and moderators only
    assertError(await api(A.url, 'GET', url, { token: other.token }), 403, 'forbidden');
    const list = await api(A.url, 'GET', url, { token: owner.token });
    assert.deepEqual(list.body.bans.map((x) => [x.username, x.reason, x.expiresAt]), [[author.username, 'spam <b>', null]]);
    // only the streamer bans a moderator
    assertError(await api(A.url, 'POST', url, { token: mod.token, body: { username: mod.username } }), 400, 'cannot_target_self');
    const mod2 = await register();
    await api(A.url, 'POST', `/api/rooms/${room.id}/moderators`, { token: owner.token, body: { username: mod2.username } });
    assertError(await api(A.url, 'POST', url, { token: mod.token, body: { username: mod2.username } }), 403, 'forbidden');
    // unban: accepted again
    assert.equal((await api(A.url, 'DELETE', `${url}/${author.username}`, { token: owner.token })).status, 204);
    await sendOk(s.author, 'unbanned');
    // a timeout through the socket event, which then expires
    const t = await ack(s.mod, 'ban-user', { username: other.username, durationSeconds: 2, reason: 'calm down' });
    assert.match(t.ban?.expiresAt ?? '', ISO, JSON.stringify(t));
    const te = await refused(s.other, 'timed out?', 'banned');
    assert.ok(te.retryAfter >= 1 && te.retryAfter <= 2, JSON.stringify(te));
    await sleep(te.retryAfter * 1000 + 200);
    await sendOk(s.other, 'timeout over');
    assert.deepEqual((await api(A.url, 'GET', url, { token: owner.token })).body.bans, []);
    // ban and unban over the socket events
    assert.equal((await ack(s.owner, 'ban-user', { username: other.username })).ban.expiresAt, null);
    await refused(s.other, 'again', 'banned');
    assert.equal((await ack(s.owner, 'unban-user', { username: other.username })).ok, true);
    await sendOk(s.other, 'free again');
    assert.equal((await ack(s.other, 'ban-user', { username: author.username })).error.code, 'forbidden');
    // the moderation log: every action, who and when; the streamer only
    const id = await sendOk(s.other, 'to be deleted');
    await ack(s.mod, 'delete-message', { messageId: id });
    await ack(s.owner, 'clear-chat', {});
    const own = await sendOk(s.author, 'mine');
    await ack(s.author, 'delete-message', { messageId: own }); // an author's own delete is no moderation
    assertError(await api(A.url, 'GET', `/api/rooms/${room.id}/moderation-log`, { token: mod.token }), 403, 'forbidden');
    const log = await api(A.url, 'GET', `/api/rooms/${room.id}/moderation-log`, { token: owner.token });
    assert.equal(log.status, 200, JSON.stringify(log.body));
    const entries = log.body.entries;
    assert.deepEqual(entries.map((x) => [x.action, x.actor.username, x.target?.username ?? null]), [
      ['clear_chat', owner.username, null],
      ['delete_message', mod.username, other.username],
      ['unban', owner.username, other.username],
      ['ban', owner.username, other.username],
      ['timeout', mod.username, other.username],
      ['unban', owner.username, author.username],
      ['add_moderator', owner.username, mod2.username],
      ['ban', mod.username, author.username],
      ['add_moderator', owner.username, mod.username],
    ]);
    assert.equal(entries[1].messageId, id);
    assert.equal(entries[4].durationSeconds, 2);
    assert.equal(entries[4].reason, 'calm down');
    for (const x of entries) assert.match(x.createdAt, ISO);
    const page = await api(A.url, 'GET', `/api/rooms/${room.id}/moderation-log?limit=2&before=${entries[1].id}`, { token: owner.token });
    assert.deepEqual(page.body.entries.map((x) => x.id), [entries[2].id, entries[3].id]);
  });
});

describe('chat: history', () => {
  it('answers history over REST with before/limit, newest last, and validates its query', async () => {
    const u = await register();
    const room = await makeRoom(u);
    const s = await member(A, room, u);
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await sendOk(s, `h${i}`));
    assert.deepEqual((await rest(A, room)).map((m) => m.id), ids);
    assert.deepEqual((await rest(A, room, '?limit=2')).map((m) => m.id), ids.slice(3));
    assert.deepEqual((await rest(A, room, `?limit=2&before=${ids[3]}`)).map((m) => m.id), ids.slice(1, 3));
    assertError(await api(A.url, 'GET', `/api/rooms/${room.id}/messages?limit=0`), 400, 'invalid_field');
    assertError(await api(A.url, 'GET', `/api/rooms/${room.id}/messages?limit=101`), 400, 'invalid_field');
    assertError(await api(A.url, 'GET', `/api/rooms/${room.id}/messages?before=x`), 400, 'invalid_field');
    assertError(await api(A.url, 'GET', '/api/rooms/nosuchroom123/messages'), 404, 'room_not_found');
    assert.equal((await ack(s, 'chat-history', { roomId: 'bad/id' })).error.code, 'invalid_room');
    assert.equal((await ack(s, 'chat-history', { roomId: 'nosuchroom123' })).error.code, 'room_not_found');
  });

  it('sends the last 50 messages on join (without deleted ones), and they survive a restart', async () => {
    const srv = await startNode();
    servers.push(srv);
    const owner = await register(srv.url);
    const room = await makeRoom(owner, srv.url);
    const users = [owner];
    for (let i = 0; i < 11; i++) users.push(await register(srv.url));
    const ss = await Promise.all(users.map((u) => member(srv, room, u)));
    const ids = [];
    for (let round = 0; round < 5; round++) { // 60 messages: 12 users x 5
      ids.push(...await Promise.all(ss.map((s, i) => sendOk(s, `r${round} u${i}`))));
    }
    ids.sort((x, y) => x - y);
    await ack(ss[0], 'delete-message', { messageId: ids[59] });
    await ack(ss[0], 'delete-message', { messageId: ids[30] });
    const visible = ids.filter((id) => id !== ids[59] && id !== ids[30]);
    const fresh = await member(srv, room); // history sent on join-room, unasked
    assert.deepEqual(fresh.history.map((m) => m.id), visible.slice(-50));
    // asked for: with an ack it comes in the ack, without one as an event
    const asked = await ack(fresh, 'chat-history', { roomId: room.id });
    assert.deepEqual(asked.messages.map((m) => m.id), visible.slice(-50));
    fresh.emit('chat-history', { roomId: room.id });
    await waitFor(() => received(fresh, 'chat-history').length === 2, 3000, 'chat-history event');
    assert.equal(received(fresh, 'chat-history')[1].roomId, room.id);
    assert.deepEqual(received(fresh, 'chat-history')[1].messages.map((m) => m.id), visible.slice(-50));
    for (const s of ss) s.close();
    fresh.close();
    await stopChat(srv);
    servers.splice(servers.indexOf(srv), 1);
    const again = await startNode();
    servers.push(again);
    const after = await member(again, room);
    assert.deepEqual(after.history.map((m) => m.id), visible.slice(-50));
    assert.deepEqual((await rest(again, room, '?limit=100')).map((m) => m.id), visible);
  });
});

describe('chat: shutdown', () => {
  it('stores every acknowledged message when the server stops in the middle of a burst', async () => {
    const srv = await startNode();
    servers.push(srv);
    const owner = await register(srv.url);
    const room = await makeRoom(owner, srv.url);
    const users = [owner];
    for (let i = 0; i < 5; i++) users.push(await register(srv.url));
    const ss = await Promise.all(users.map((u) => member(srv, room, u)));
    const answers = [];
    for (const [i, s] of ss.entries()) {
      for (let k = 0; k < 5; k++) {
        answers.push(s.timeout(4000).emitWithAck('chat-message', { message: `u${i} m${k}` }).catch(() => ({ lost: true })));
      }
    }
    await sleep(0);
    await stopChat(srv); // SIGTERM while messages are in flight; no memory error, no leak
    servers.splice(servers.indexOf(srv), 1);
    const acked = (await Promise.all(answers)).filter((a) => Number.isInteger(a.id)).map((a) => a.id);
    if (acked.length) {
      assert.equal(psql(`SELECT count(*) FROM chat_messages WHERE id IN (${acked.join(',')})`), String(acked.length));
    }
  });
});

describe('chat: reactions', () => {
  it('delivers one emoji to the room, stores nothing, refuses text and rate-limits', async () => {
    const u = await register();
    const room = await makeRoom(u);
    const s = await member(A, room, u), anon = await member(A, room);
    for (const e of ['👍', '❤️', '👩🏽‍💻']) assert.deepEqual(await ack(s, 'send-reaction', { emoji: e }), { ok: true });
    await waitFor(() => received(anon, 'reaction').length === 3, 3000, 'reactions');
    assert.deepEqual(received(anon, 'reaction'), ['👍', '❤️', '👩🏽‍💻'].map((emoji) => ({ emoji, userId: u.id })));
    const r = await ack(s, 'send-reaction', { emoji: '🎉' });
    assert.equal(r.error.code, 'rate_limited');
    assert.ok(r.error.retryAfter >= 1);
    for (const bad of ['a', 'lol', '😀😀', '<script>', '', 42]) {
      assert.equal((await ack(s, 'send-reaction', { emoji: bad })).error.code, 'invalid_reaction', String(bad));
    }
    await sleep(r.error.retryAfter * 1000 + 100);
    assert.deepEqual(await ack(s, 'send-reaction', { emoji: '🎉' }), { ok: true });
    assert.deepEqual(await rest(A, room), []);
  });
});

describe('chat: metrics', () => {
  it('counts stored messages and refusals by reason', async () => {
    const stored = await metric(A.url, 'chat_messages_stored_total');
    const refusedTotal = await metric(A.url, 'chat_messages_refused_total');
    assert.ok(stored > 0, `stored ${stored}`);
    assert.ok(refusedTotal > 0, `refused ${refusedTotal}`);
    const body = await (await fetch(`${A.url}/metrics`)).text();
    for (const reason of ['rate_limited', 'slow_mode', 'followers_only', 'banned', 'not_authenticated', 'invalid_message']) {
      const m = body.match(new RegExp(`^chat_messages_refused_total\\{reason="${reason}"\\} (\\d+)`, 'm'));
      assert.ok(m && Number(m[1]) > 0, `refusals for ${reason}`);
    }
  });
});
