// tests/integration/follow.test.mjs - the follow plugin against real servers, PostgreSQL, Redis and
// socket.io-client: follow / unfollow (idempotent, self refused, unknown users), exact follower
// counts under concurrent requests on two nodes, follower / following lists with cursors, the live
// rooms of followed streamers, and notifications: a follower connected to node B gets
// `notification` when the streamer goes live on node A (through the core's media path, driven by
// the test-only streamsim plugin), it is stored, listed as unread and marked read; the fan-out to
// many followers in batches. Names are unique per run (the database is shared between runs).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { BUILD, JWT_SECRET, api, startServer, uniq } from '../lib/server.mjs';
import { connect, sleep, stopChecked, waitFor } from '../lib/realtime.mjs';

const STREAMSIM = { name: 'streamsim', path: join(BUILD, 'test-plugins', 'streamsim.so') };
const AUTH = { name: 'auth', config: { jwt_secret: JWT_SECRET, bcrypt_cost: 10, exempt_loopback: true } };
const PREFIX = `${uniq('ft')}:`;
const PLUGINS = [AUTH, { name: 'rooms', config: { redis_prefix: PREFIX } }, { name: 'follow', config: { fanout_batch: 4 } }, STREAMSIM];
const USER_KEYS = ['avatarUrl', 'bio', 'createdAt', 'displayName', 'followedAt', 'followerCount', 'followingCount', 'id', 'isStreaming', 'username'];

const socks = [];
let A, B;

async function register(base = A.url) {
  const username = uniq('f');
  const r = await api(base, 'POST', '/api/auth/register', {
    body: { username, email: `${username}@example.com`, password: 'password-123' },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return { username, token: r.body.token, id: r.body.user.id };
}
const registerMany = (n) => Promise.all(Array.from({ length: n }, (_, i) => register(i % 2 ? B.url : A.url)));

async function sock(srv, u) {
  const s = await connect(srv.url, u ? { auth: { token: u.token } } : {});
  socks.push(s);
  return s;
}
function collect(s, event) {
  const got = [];
  s.on(event, (d) => got.push(d));
  return got;
}
const follow = (srv, who, target) => api(srv.url, 'POST', `/api/users/${target.username}/follow`, { token: who.token });
const unfollow = (srv, who, target) => api(srv.url, 'DELETE', `/api/users/${target.username}/follow`, { token: who.token });
const profile = async (u) => (await api(A.url, 'GET', `/api/users/${u.username}`)).body.user;
async function allPages(srv, path, key, limit = 100) {
  const out = [];
  let cursor = null;
  for (let i = 0; i < 100; i++) {
    const r = await api(srv.url, 'GET', `${path}?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    out.push(...r.body[key]);
    cursor = r.body.nextCursor;
    if (!cursor) return out;
  }
  throw new Error('pagination does not end');
}
const followerNames = async (u) => (await allPages(B, `/api/users/${u.username}/followers`, 'users')).map((x) => x.username);
function assertError(r, status, code) {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.equal(r.body.error.code, code, JSON.stringify(r.body));
}
function shuffle(a) {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

before(async () => {
  [A, B] = await Promise.all([
    startServer({ plugins: PLUGINS, redis: { prefix: PREFIX } }),
    startServer({ plugins: PLUGINS, redis: { prefix: PREFIX } }),
  ]);
  // both nodes subscribed: an emit made on A must reach a socket on B
  const u = await register();
  const room = (await api(A.url, 'POST', '/api/rooms', { token: u.token, body: { title: 'probe' } })).body.room;
  const b = await sock(B), a = await sock(A);
  const seen = collect(b, 'viewer-joined');
  await b.timeout(5000).emitWithAck('join-room', { roomId: room.id });
  await waitFor(async () => {
    await a.timeout(5000).emitWithAck('join-room', { roomId: room.id });
    await sleep(100);
    if (seen.length >= 2) return true;
    await a.timeout(5000).emitWithAck('leave-room');
    return false;
  }, 10000, 'cluster delivery between the nodes');
  a.close();
  b.close();
});

after(async () => {
  for (const s of socks) s.close();
  await Promise.all([stopChecked(A), stopChecked(B)]);
});

describe('follow: follows and counts', () => {
  it('is idempotent and moves the counts once', async () => {
    const [fan, star] = await Promise.all([register(), register()]);
    for (let i = 0; i < 2; i++) assert.equal((await follow(i ? B : A, fan, star)).status, 204);
    assert.equal((await profile(star)).followerCount, 1);
    assert.equal((await profile(fan)).followingCount, 1);
    assert.deepEqual(await followerNames(star), [fan.username]);
    // the username matches without regard to case
    assert.equal((await api(A.url, 'POST', `/api/users/${star.username.toUpperCase()}/follow`, { token: fan.token })).status, 204);
    assert.equal((await profile(star)).followerCount, 1);
    for (let i = 0; i < 2; i++) assert.equal((await unfollow(i ? A : B, fan, star)).status, 204);
    assert.equal((await profile(star)).followerCount, 0);
    assert.equal((await profile(fan)).followingCount, 0);
    assert.deepEqual(await followerNames(star), []);
  });

  it('refuses to follow yourself, unknown users and anonymous callers', async () => {
    const u = await register();
    assertError(await follow(A, u, u), 400, 'cannot_follow_self');
    assertError(await api(A.url, 'POST', `/api/users/${u.username.toUpperCase()}/follow`, { token: u.token }), 400, 'cannot_follow_self');
    assert.equal((await profile(u)).followerCount, 0);
    assertError(await follow(A, u, { username: uniq('nobody') }), 404, 'user_not_found');
    assertError(await unfollow(A, u, { username: uniq('nobody') }), 404, 'user_not_found');
    assertError(await follow(A, u, { username: 'x;DROP' }), 404, 'user_not_found');
    assertError(await api(A.url, 'POST', `/api/users/${u.username}/follow`), 401, 'unauthorized');
    assertError(await api(A.url, 'GET', `/api/users/${uniq('nobody')}/followers`), 404, 'user_not_found');
    assertError(await api(A.url, 'GET', `/api/users/${u.username}/following?limit=500`), 400, 'invalid_field');
    assertError(await api(A.url, 'GET', `/api/users/${u.username}/following?cursor=zzz`), 400, 'invalid_field');
  });

  it('keeps the counts exact under 20 concurrent follow requests on two nodes', async () => {
    const star = await register();
    const fans = await registerMany(20);
    const rs = await Promise.all(fans.map((f, i) => follow(i % 2 ? A : B, f, star)));
    assert.deepEqual(rs.map((r) => r.status), Array(20).fill(204));
    assert.equal((await profile(star)).followerCount, 20);
    assert.equal((await followerNames(star)).length, 20);
    for (const f of fans.slice(0, 3)) assert.equal((await profile(f)).followingCount, 1);
  });

  it('keeps the counts exact under 20 concurrent, interleaved follow and unfollow requests', async () => {
    const star = await register();
    const fans = await registerMany(10);
    for (let round = 0; round < 3; round++) {
      const reqs = shuffle(fans.flatMap((f, i) => [() => follow(i % 2 ? A : B, f, star), () => unfollow(i % 2 ? B : A, f, star)]));
      const rs = await Promise.all(reqs.map((r) => r()));
      assert.deepEqual(rs.map((r) => r.status), Array(20).fill(204));
      const names = await followerNames(star);
      assert.equal((await profile(star)).followerCount, names.length, `round ${round}: count = rows`);
      for (const f of fans) assert.equal((await profile(f)).followingCount, names.includes(f.username) ? 1 : 0);
    }
    // one user hammering the same follow: 20 concurrent requests, the count ends at 0 or 1 and matches
    const one = fans[0];
    const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 3 ? follow : unfollow)(i % 2 ? A : B, one, star)));
    assert.deepEqual(rs.map((r) => r.status), Array(20).fill(204));
    const names = await followerNames(star);
    assert.equal((await profile(star)).followerCount, names.length);
    assert.equal((await profile(one)).followingCount, names.includes(one.username) ? 1 : 0);
  });

  it('does not deadlock on mutual follows made at the same time', async () => {
    const users = await registerMany(4);
    const reqs = [];
    for (const a of users) for (const b of users) if (a !== b) reqs.push(() => follow(reqs.length % 2 ? A : B, a, b));
    const rs = await Promise.all(shuffle(reqs).map((r) => r()));
    assert.deepEqual(rs.map((r) => r.status), Array(12).fill(204));
    for (const u of users) {
      const p = await profile(u);
      assert.equal(p.followerCount, 3);
      assert.equal(p.followingCount, 3);
    }
  });

  it('lists followers and following, newest first, with cursors', async () => {
    const star = await register();
    const fans = [];
    for (let i = 0; i < 7; i++) {
      const f = await register();
      assert.equal((await follow(A, f, star)).status, 204);
      fans.push(f);
    }
    const pages = [];
    let cursor = null;
    do {
      const r = await api(A.url, 'GET', `/api/users/${star.username}/followers?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(r.status, 200);
      pages.push(r.body.users);
      cursor = r.body.nextCursor;
      if (pages.length === 1) { // a follow made meanwhile lands before the cursor: no duplicate, no gap
        assert.equal((await follow(A, await register(), star)).status, 204);
      }
    } while (cursor);
    assert.deepEqual(pages.map((p) => p.length), [3, 3, 1]);
    const names = pages.flat().map((u) => u.username);
    assert.deepEqual(names, fans.map((f) => f.username).reverse());
    const first = pages[0][0];
    assert.deepEqual(Object.keys(first).sort(), USER_KEYS);
    assert.equal(first.followingCount, 1);
    assert.match(first.followedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const following = (await api(B.url, 'GET', `/api/users/${fans[0].username}/following`)).body;
    assert.deepEqual(following.users.map((u) => u.username), [star.username]);
    assert.equal(following.users[0].followerCount, 8);
    assert.equal(following.nextCursor, null);
  });
});

describe('follow: live rooms and notifications', () => {
  it('notifies a follower on node B when the streamer goes live on node A; stored, unread, marked read', async () => {
    const [star, fan, other] = await Promise.all([register(), register(B.url), register()]);
    const room = (await api(A.url, 'POST', '/api/rooms', { token: star.token, body: { title: `Live ${star.username}` } })).body.room;
    assert.equal((await follow(B, fan, star)).status, 204);
    const fanSock = await sock(B, fan), fanTab2 = await sock(A, fan), otherSock = await sock(B, other), starSock = await sock(A, star);
    const got = collect(fanSock, 'notification'), got2 = collect(fanTab2, 'notification');
    const none = [...collect(otherSock, 'notification'), ...collect(starSock, 'notification')];
    const before = (await api(B.url, 'GET', '/api/notifications', { token: fan.token })).body;
    assert.equal(before.unread, 0);
    assert.deepEqual(before.notifications, []);

    assert.equal((await api(A.url, 'POST', '/api/test/streams', { body: { roomId: room.id, userId: star.id, username: star.username } })).status, 201);
    await waitFor(() => got.length === 1 && got2.length === 1, 5000, 'notification on both of the follower\'s sockets');
    const n = got[0];
    assert.deepEqual(Object.keys(n).sort(), ['data', 'id', 'type']);
    assert.equal(n.type, 'stream-started');
    assert.equal(typeof n.id, 'number');
    assert.deepEqual(n.data, {
      roomId: room.id, title: room.title,
      streamer: { id: star.id, username: star.username, displayName: star.username, avatarUrl: null },
    });
    assert.deepEqual(got2[0], n);

    // the live rooms of followed streamers
    await waitFor(async () => (await api(B.url, 'GET', '/api/users/me/following/live', { token: fan.token })).body.rooms.length === 1, 5000, 'live room listed');
    const live = (await api(B.url, 'GET', '/api/users/me/following/live', { token: fan.token })).body.rooms[0];
    assert.equal(live.id, room.id);
    assert.equal(live.isLive, true);
    assert.equal(live.streamer.username, star.username);
    assert.deepEqual((await api(A.url, 'GET', '/api/users/me/following/live', { token: other.token })).body.rooms, []);
    assertError(await api(A.url, 'GET', '/api/users/me/following/live'), 401, 'unauthorized');

    // stored and unread
    const list = (await api(A.url, 'GET', '/api/notifications', { token: fan.token })).body;
    assert.equal(list.unread, 1);
    assert.equal(list.notifications.length, 1);
    const stored = list.notifications[0];
    assert.deepEqual(Object.keys(stored).sort(), ['createdAt', 'data', 'id', 'read', 'type']);
    assert.equal(stored.id, n.id);
    assert.equal(stored.read, false);
    assert.deepEqual(stored.data, n.data);
    assert.equal((await api(A.url, 'GET', '/api/notifications', { token: other.token })).body.unread, 0);
    assertError(await api(A.url, 'GET', '/api/notifications'), 401, 'unauthorized');

    // a second live session: two notifications; mark one read by id, then all
    assert.equal((await api(A.url, 'DELETE', `/api/test/streams/${room.id}`)).status, 204);
    await waitFor(async () => (await api(B.url, 'GET', '/api/users/me/following/live', { token: fan.token })).body.rooms.length === 0, 5000, 'not live');
    assert.equal((await api(B.url, 'POST', '/api/test/streams', { body: { roomId: room.id, userId: star.id, username: star.username } })).status, 201);
    await waitFor(() => got.length === 2, 5000, 'second notification');
    assert.equal((await api(B.url, 'POST', '/api/notifications/read', { token: fan.token, body: { ids: [n.id] } })).status, 204);
    let now = (await api(B.url, 'GET', '/api/notifications', { token: fan.token })).body;
    assert.equal(now.unread, 1);
    assert.deepEqual(now.notifications.map((x) => [x.id, x.read]), [[got[1].id, false], [n.id, true]]);
    // someone else's ids change nothing
    assert.equal((await api(A.url, 'POST', '/api/notifications/read', { token: other.token, body: { ids: [got[1].id] } })).status, 204);
    assert.equal((await api(B.url, 'GET', '/api/notifications', { token: fan.token })).body.unread, 1);
    assert.equal((await api(A.url, 'POST', '/api/notifications/read', { token: fan.token, body: { all: true } })).status, 204);
    now = (await api(B.url, 'GET', '/api/notifications', { token: fan.token })).body;
    assert.equal(now.unread, 0);
    assert.ok(now.notifications.every((x) => x.read));
    // paging
    const p1 = (await api(A.url, 'GET', '/api/notifications?limit=1', { token: fan.token })).body;
    assert.equal(p1.notifications.length, 1);
    const p2 = (await api(A.url, 'GET', `/api/notifications?limit=1&cursor=${p1.nextCursor}`, { token: fan.token })).body;
    assert.deepEqual([p1.notifications[0].id, p2.notifications[0].id], [got[1].id, n.id]);
    assert.equal(p2.nextCursor, null);
    for (const body of [{}, { ids: [] }, { ids: ['x'] }, { ids: [-1] }, { ids: 5 }, { all: 'yes' }]) {
      const r = await api(A.url, 'POST', '/api/notifications/read', { token: fan.token, body });
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.body.error.code, 'invalid_field');
    }
    assert.equal((await api(B.url, 'DELETE', `/api/test/streams/${room.id}`)).status, 204);
    await sleep(200);
    assert.deepEqual(none, [], 'neither a non-follower nor the streamer is notified');
  });

  it('fans out to many followers in batches, each notified once', async () => {
    const star = await register();
    const room = (await api(A.url, 'POST', '/api/rooms', { token: star.token, body: { title: 'many' } })).body.room;
    const fans = await registerMany(13); // more than 3 batches of fanout_batch = 4
    await Promise.all(fans.map((f, i) => follow(i % 2 ? A : B, f, star)));
    const got = [];
    for (const [i, f] of fans.entries()) got.push(collect(await sock(i % 2 ? B : A, f), 'notification'));
    assert.equal((await api(A.url, 'POST', '/api/test/streams', { body: { roomId: room.id, userId: star.id, username: star.username } })).status, 201);
    await waitFor(() => got.every((g) => g.length >= 1), 8000, 'every follower notified');
    await sleep(300);
    assert.deepEqual(got.map((g) => g.length), Array(13).fill(1));
    assert.equal(new Set(got.map((g) => g[0].id)).size, 13);
    for (const [i, f] of fans.entries()) {
      const l = (await api(B.url, 'GET', '/api/notifications', { token: f.token })).body;
      assert.equal(l.unread, 1);
      assert.equal(l.notifications[0].id, got[i][0].id);
    }
    assert.equal((await api(A.url, 'DELETE', `/api/test/streams/${room.id}`)).status, 204);
  });
});
