// tests/integration/rooms.test.mjs - the rooms plugin against real servers, PostgreSQL, Redis and
// socket.io-client: room CRUD and ownership, the list (filters, search, keyset pagination while
// rooms change, the short-lived live-list cache), live state driven through the core's media path
// by the test-only streamsim plugin (stream-started / stream-ended, past streams, a crashed ingest
// node's room ended by the sweep), and viewer counts (join/leave, tabs of one user, disconnects,
// two nodes sharing Redis, a crashed node's viewers ageing out, a single node without Redis).
// Names are unique per run (the database is shared between runs).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { BUILD, JWT_SECRET, api, startServer, uniq } from '../lib/server.mjs';
import { connect, sleep, stopChecked, waitFor } from '../lib/realtime.mjs';

const STREAMSIM = { name: 'streamsim', path: join(BUILD, 'test-plugins', 'streamsim.so') };
const AUTH = { name: 'auth', config: { jwt_secret: JWT_SECRET, bcrypt_cost: 10, exempt_loopback: true } };
const PREFIX = `${uniq('rt')}:`; // Redis keys and the Socket.IO channel shared by the cluster nodes
// short presence timings so that ageing out and the stale-live sweep happen within a test
const ROOMS = {
  name: 'rooms',
  config: { redis_prefix: PREFIX, presence_ttl_ms: 3000, presence_refresh_ms: 500, count_flush_ms: 100, live_stale_ms: 3000 },
};
const ROOM_KEYS = ['category', 'description', 'endedAt', 'followersOnly', 'followersOnlyMinutes', 'hlsUrl', 'id', 'isLive',
  'slowModeSeconds', 'startedAt', 'streamer', 'thumbnailUrl', 'title', 'viewerCount'];
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

const servers = [];
const socks = [];
let A, B, S; // A and B share PostgreSQL and Redis; S runs alone without Redis

const clusterNode = () => startServer({ plugins: [AUTH, ROOMS, STREAMSIM], redis: { prefix: PREFIX } });

async function register(base = A.url) {
  const username = uniq('r');
  const r = await api(base, 'POST', '/api/auth/register', {
    body: { username, email: `${username}@example.com`, password: 'password-123' },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return { username, token: r.body.token, id: r.body.user.id };
}

async function makeRoom(u, body = {}, base = A.url) {
  const r = await api(base, 'POST', '/api/rooms', { token: u.token, body: { title: `room of ${u.username}`, ...body } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.room;
}

async function sock(srv, u) {
  const s = await connect(srv.url, u ? { auth: { token: u.token } } : {});
  socks.push(s);
  return s;
}

const ack = (s, event, data) => s.timeout(5000).emitWithAck(event, data);
function collect(s, event) {
  const got = [];
  s.on(event, (d) => got.push(d));
  return got;
}
async function getRoom(srv, id) {
  const r = await api(srv.url, 'GET', `/api/rooms/${id}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.room;
}
const count = async (srv, id) => (await getRoom(srv, id)).viewerCount;
const startStream = (srv, room, u) =>
  api(srv.url, 'POST', '/api/test/streams', { body: { roomId: room.id, userId: u.id, username: u.username } });
const stopStream = (srv, room, reason) =>
  api(srv.url, 'DELETE', `/api/test/streams/${room.id}${reason ? `?reason=${reason}` : ''}`);
const list = async (srv, query) => {
  const r = await api(srv.url, 'GET', `/api/rooms?${new URLSearchParams(query)}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
};
function assertError(r, status, code, field) {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.equal(r.body.error.code, code, JSON.stringify(r.body));
  if (field) assert.equal(r.body.error.field, field);
}

before(async () => {
  [A, B] = await Promise.all([clusterNode(), clusterNode()]);
  S = await startServer({ plugins: [AUTH, { name: 'rooms', config: { count_flush_ms: 100 } }, STREAMSIM], redis: false });
  servers.push(A, B, S);
  // both nodes subscribed: a viewer-joined emitted on A must reach a member on B
  const u = await register();
  const room = await makeRoom(u);
  const b = await sock(B), a = await sock(A);
  const seen = collect(b, 'viewer-joined');
  assert.equal((await ack(b, 'join-room', { roomId: room.id })).ok, true);
  await waitFor(async () => {
    await ack(a, 'join-room', { roomId: room.id });
    await sleep(100);
    if (seen.length >= 2) return true;
    await ack(a, 'leave-room');
    return false;
  }, 10000, 'cluster delivery between the nodes');
  a.close();
  b.close();
});

after(async () => {
  for (const s of socks) s.close();
  await Promise.all(servers.map((s) => stopChecked(s)));
});

describe('rooms: REST', () => {
  it('creates one room per streamer, with a public URL-safe id that is not the stream key', async () => {
    const u = await register();
    const room = await makeRoom(u, { title: '  My channel  ', description: 'line one\nline two', category: 'Gaming' });
    assert.match(room.id, /^[A-Za-z0-9]{12}$/);
    assert.deepEqual(Object.keys(room).sort(), ROOM_KEYS);
    assert.deepEqual(Object.keys(room.streamer).sort(), ['avatarUrl', 'displayName', 'id', 'username']);
    assert.equal(room.title, 'My channel');
    assert.equal(room.description, 'line one\nline two');
    assert.equal(room.category, 'Gaming');
    assert.equal(room.isLive, false);
    assert.equal(room.viewerCount, 0);
    assert.equal(room.hlsUrl, null);
    assert.equal(room.thumbnailUrl, null);
    assert.equal(room.streamer.id, u.id);
    assert.equal(room.streamer.username, u.username);
    const key = await api(A.url, 'GET', '/api/users/me/stream-key', { token: u.token });
    assert.equal(key.status, 200);
    assert.ok(!key.body.streamKey.includes(room.id) && !room.id.includes(key.body.streamKey));
    assertError(await api(A.url, 'POST', '/api/rooms', { token: u.token, body: { title: 'again' } }), 409, 'room_exists');
    assert.deepEqual(await getRoom(B, room.id), room);
  });

  it('validates the fields and needs a token', async () => {
    const u = await register();
    assertError(await api(A.url, 'POST', '/api/rooms', { body: { title: 'x' } }), 401, 'unauthorized');
    assertError(await api(A.url, 'POST', '/api/rooms', { token: u.token, body: {} }), 400, 'invalid_field', 'title');
    assertError(await api(A.url, 'POST', '/api/rooms', { token: u.token, body: { title: 'x'.repeat(141) } }), 400, 'invalid_field', 'title');
    assertError(await api(A.url, 'POST', '/api/rooms', { token: u.token, body: { title: 'ok', category: 'Knitting' } }), 400, 'invalid_field', 'category');
    assertError(await api(A.url, 'POST', '/api/rooms', { token: u.token, body: { title: 'ok', description: 5 } }), 400, 'invalid_field', 'description');
    // SQL and markup are data
    const room = await makeRoom(u, { title: "'); DROP TABLE rooms;-- <script>x</script>" });
    assert.equal((await getRoom(A, room.id)).title, "'); DROP TABLE rooms;-- <script>x</script>");
    assertError(await api(A.url, 'GET', '/api/rooms/nope-nope'), 404, 'room_not_found');
    assertError(await api(A.url, 'GET', '/api/rooms/AAAAAAAAAAAA'), 404, 'room_not_found');
  });

  it('only the owner updates or deletes a room (403 for others, 404 for unknown rooms)', async () => {
    const owner = await register(), other = await register();
    const room = await makeRoom(owner);
    const path = `/api/rooms/${room.id}`;
    assertError(await api(A.url, 'PATCH', path, { token: other.token, body: { title: 'mine now' } }), 403, 'forbidden');
    assertError(await api(A.url, 'DELETE', path, { token: other.token }), 403, 'forbidden');
    assertError(await api(A.url, 'PATCH', path, { body: { title: 'anon' } }), 401, 'unauthorized');
    assertError(await api(A.url, 'PATCH', '/api/rooms/AAAAAAAAAAAA', { token: owner.token, body: { title: 'x' } }), 404, 'room_not_found');
    assertError(await api(A.url, 'PATCH', path, { token: owner.token, body: { slowModeSeconds: 99999 } }), 400, 'invalid_field', 'slowModeSeconds');
    assertError(await api(A.url, 'PATCH', path, { token: owner.token, body: { followersOnly: 'yes' } }), 400, 'invalid_field', 'followersOnly');
    const r = await api(A.url, 'PATCH', path, {
      token: owner.token,
      body: { title: 'New title', description: 'about', category: 'music', slowModeSeconds: 30, followersOnly: true, followersOnlyMinutes: 10 },
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(
      { ...r.body.room, streamer: undefined },
      { ...room, streamer: undefined, title: 'New title', description: 'about', category: 'Music', slowModeSeconds: 30, followersOnly: true, followersOnlyMinutes: 10 },
    );
    // only what is sent changes; category null clears it
    const r2 = await api(A.url, 'PATCH', path, { token: owner.token, body: { category: null, followersOnly: false } });
    assert.equal(r2.status, 200);
    assert.equal(r2.body.room.category, null);
    assert.equal(r2.body.room.followersOnly, false);
    assert.equal(r2.body.room.title, 'New title');
    assert.equal(r2.body.room.slowModeSeconds, 30);
    assert.deepEqual(await getRoom(B, room.id), r2.body.room);
    assert.equal((await api(A.url, 'DELETE', path, { token: owner.token })).status, 204);
    assertError(await api(A.url, 'GET', path), 404, 'room_not_found');
    assertError(await api(A.url, 'DELETE', path, { token: owner.token }), 404, 'room_not_found');
    // the streamer can make a new one
    await makeRoom(owner);
  });

  it('caches a room for GET briefly: a PATCH shows at once (every node), other changes within room_cache_ms', async () => {
    const u = await register();
    const room = await makeRoom(u, { title: uniq('C') });
    const path = `/api/rooms/${room.id}`;
    // concurrent misses share one query and all get the room; later reads come from the cache
    const many = await Promise.all(Array.from({ length: 20 }, (_, i) => getRoom(i % 2 ? A : B, room.id)));
    for (const got of many) assert.deepEqual(got, room);
    for (const srv of [A, B, A, B]) assert.deepEqual(await getRoom(srv, room.id), room);
    const metrics = await api(A.url, 'GET', '/metrics');
    assert.equal(metrics.status, 200);
    assert.match(metrics.body, /streamhub_rooms_room_cache_total\{result="hit"\} [1-9]/);
    const r = await api(A.url, 'PATCH', path, { token: u.token, body: { title: 'Renamed at once' } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal((await getRoom(A, room.id)).title, 'Renamed at once'); // the same node dropped it at once
    // the other node drops it when room.updated arrives through Redis: well before the TTL (2 s)
    await waitFor(async () => (await getRoom(B, room.id)).title === 'Renamed at once', 2000, 'the new title on B');
    assert.deepEqual(await getRoom(B, room.id), r.body.room);
    // the streamer's display name publishes nothing: it shows after room_cache_ms at most
    assert.equal((await getRoom(A, room.id)).streamer.displayName, room.streamer.displayName); // cached again
    const d = await api(A.url, 'PATCH', '/api/users/me', { token: u.token, body: { displayName: 'Cache Test' } });
    assert.equal(d.status, 200, JSON.stringify(d.body));
    const t1 = Date.now();
    await waitFor(async () => (await getRoom(A, room.id)).streamer.displayName === 'Cache Test', 3500, 'the new name');
    assert.ok(Date.now() - t1 <= 3500);
    // DELETE drops it too: 404 at once, not the cached room
    assert.equal((await api(A.url, 'DELETE', path, { token: u.token })).status, 204);
    assertError(await api(A.url, 'GET', path), 404, 'room_not_found');
    await waitFor(async () => (await api(B.url, 'GET', path)).status === 404, 2000, '404 on B');
  });

  it('lists with the live, category and q filters, and searches titles and streamer names', async () => {
    const tag = uniq('T');
    const [u1, u2, u3] = await Promise.all([register(), register(), register()]);
    const r1 = await makeRoom(u1, { title: `${tag} speedrun`, category: 'gaming' });
    const r2 = await makeRoom(u2, { title: `${tag} piano`, category: 'Music' });
    const r3 = await makeRoom(u3, { title: `${tag} 100% done_` });
    const ids = (body) => body.rooms.map((r) => r.id).sort();
    assert.deepEqual(ids(await list(A, { q: tag })), [r1.id, r2.id, r3.id].sort());
    assert.deepEqual(ids(await list(A, { q: tag.toLowerCase(), category: 'music' })), [r2.id]);
    assert.deepEqual(ids(await list(A, { q: tag, category: 'Gaming' })), [r1.id]);
    assert.deepEqual(ids(await list(A, { q: tag, category: 'nothing-like-it' })), []);
    assert.deepEqual(ids(await list(A, { q: u2.username })), [r2.id]);
    assert.deepEqual(ids(await list(A, { q: `${tag} 100%` })), [r3.id]); // % and _ are literal
    assert.deepEqual(ids(await list(A, { q: `${tag}%piano` })), []);
    assert.deepEqual(ids(await list(A, { q: `${tag} 100% done_` })), [r3.id]);
    assert.deepEqual(ids(await list(A, { q: `${tag} _00` })), []);
    // live ones first: start r2
    assert.equal((await startStream(A, r2, u2)).status, 201);
    await waitFor(async () => (await getRoom(A, r2.id)).isLive, 5000, 'room live');
    const all = await list(A, { q: tag });
    assert.equal(all.rooms[0].id, r2.id);
    assert.equal(all.rooms[0].isLive, true);
    assert.deepEqual(ids(await list(B, { q: tag, live: 'true' })), [r2.id]);
    assert.deepEqual(ids(await list(A, { q: tag, live: 'false' })), [r1.id, r3.id].sort());
    assert.equal((await stopStream(A, r2)).status, 204);
    for (const [query, field] of [[{ limit: 0 }, 'limit'], [{ limit: 101 }, 'limit'], [{ limit: 'x' }, 'limit'], [{ live: 'maybe' }, 'live'],
      [{ cursor: 'garbage!' }, 'cursor'], [{ cursor: Buffer.from('r:1:2').toString('base64url') }, 'cursor'], [{ q: 'x'.repeat(101) }, 'q']]) {
      assertError(await api(A.url, 'GET', `/api/rooms?${new URLSearchParams(query)}`), 400, 'invalid_field', field);
    }
  });

  it('pages with an opaque cursor without duplicates or gaps while rooms are created and deleted', async () => {
    const tag = uniq('P');
    const users = await Promise.all(Array.from({ length: 12 }, () => register()));
    const rooms = [];
    for (const u of users) rooms.push({ u, room: await makeRoom(u, { title: `${tag} ${rooms.length}` }) });
    const deleted = new Set();
    const seen = [];
    let cursor = null, page = 0;
    do {
      const body = await list(A, { q: tag, limit: 4, ...(cursor ? { cursor } : {}) });
      assert.ok(body.rooms.length <= 4);
      seen.push(...body.rooms.map((r) => r.id));
      cursor = body.nextCursor;
      page++;
      // meanwhile: rooms already seen are deleted, new rooms are created, one unseen room goes away
      const gone = rooms.find((r) => seen.includes(r.room.id) && !deleted.has(r.room.id));
      if (gone) {
        assert.equal((await api(A.url, 'DELETE', `/api/rooms/${gone.room.id}`, { token: gone.u.token })).status, 204);
        deleted.add(gone.room.id);
      }
      const extra = await register();
      await makeRoom(extra, { title: `${tag} late ${page}` });
      if (page === 2) {
        const unseen = rooms.find((r) => !seen.includes(r.room.id) && !deleted.has(r.room.id));
        assert.equal((await api(A.url, 'DELETE', `/api/rooms/${unseen.room.id}`, { token: unseen.u.token })).status, 204);
        deleted.add(unseen.room.id);
      }
      assert.ok(page < 20, 'pagination ends');
    } while (cursor);
    assert.equal(new Set(seen).size, seen.length, `no duplicates: ${seen}`);
    for (const { room } of rooms) {
      if (deleted.has(room.id) && !seen.includes(room.id)) continue; // deleted before its page: gone
      assert.ok(seen.includes(room.id), `room ${room.id} was not listed (a gap)`);
    }
    // the order: newest first among rooms with equal (offline, 0 viewers) keys
    const original = seen.filter((id) => rooms.some((r) => r.room.id === id));
    const expected = rooms.map((r) => r.room.id).reverse().filter((id) => original.includes(id));
    assert.deepEqual(original, expected);
  });

  it('lists the categories with their live counts', async () => {
    const before = (await api(A.url, 'GET', '/api/categories')).body.categories;
    assert.deepEqual(before.map((c) => c.name), ['Just Chatting', 'Gaming', 'Music', 'Art', 'Science & Technology', 'Sports', 'Other']);
    for (const c of before) {
      assert.deepEqual(Object.keys(c).sort(), ['id', 'liveCount', 'name']);
      assert.match(c.id, /^[a-z0-9-]+$/);
    }
    const u = await register();
    const room = await makeRoom(u, { category: 'science-technology' });
    const live = (cats) => cats.find((c) => c.id === 'science-technology').liveCount;
    assert.equal((await startStream(B, room, u)).status, 201);
    await waitFor(async () => live((await api(A.url, 'GET', '/api/categories')).body.categories) === live(before) + 1, 5000, 'live count up');
    assert.equal((await stopStream(B, room)).status, 204);
    await waitFor(async () => live((await api(A.url, 'GET', '/api/categories')).body.categories) === live(before), 5000, 'live count down');
  });
});

describe('rooms: live state from the media pipeline', () => {
  it('stream.started makes the room live and tells its members; stream.ended ends it', async () => {
    const u = await register();
    const room = await makeRoom(u, { title: uniq('L') });
    const viewer = await sock(B); // on the other node than the stream
    const started = collect(viewer, 'stream-started'), ended = collect(viewer, 'stream-ended');
    assert.deepEqual(await ack(viewer, 'join-room', { roomId: room.id }), { ok: true, roomId: room.id, viewerCount: 1 });
    await waitFor(async () => (await list(A, { q: room.title })).rooms[0]?.viewerCount === 1, 5000, 'viewer count written');
    const r = await startStream(A, room, u);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assertError(await startStream(A, room, u), 409, 'stream_exists');
    await waitFor(() => started.length === 1, 5000, 'stream-started on the other node');
    assert.deepEqual(started[0], { roomId: room.id });
    const live = await getRoom(B, room.id);
    assert.equal(live.isLive, true);
    assert.match(live.startedAt, ISO);
    assert.equal(live.endedAt, null);
    assert.equal(live.hlsUrl, `/hls/${room.id}/index.m3u8`);
    assert.equal(live.thumbnailUrl, `/hls/${room.id}/thumbnail.jpg`);
    assert.equal(live.viewerCount, 1);
    assert.equal((await api(B.url, 'GET', `/api/users/${u.username}`)).body.user.isStreaming, true);
    assert.deepEqual((await list(A, { live: 'true', q: room.title })).rooms.map((x) => x.id), [room.id]);

    assert.equal((await stopStream(A, room)).status, 204);
    await waitFor(() => ended.length === 1, 5000, 'stream-ended');
    assert.deepEqual(ended[0], { roomId: room.id, reason: 'unpublished' });
    const over = await getRoom(A, room.id);
    assert.equal(over.isLive, false);
    assert.equal(over.hlsUrl, null);
    assert.equal(over.thumbnailUrl, null);
    assert.match(over.endedAt, ISO);
    assert.equal((await api(A.url, 'GET', `/api/users/${u.username}`)).body.user.isStreaming, false);
    const streams = (await api(B.url, 'GET', `/api/rooms/${room.id}/streams`)).body;
    assert.equal(streams.streams.length, 1);
    const s = streams.streams[0];
    assert.deepEqual(Object.keys(s).sort(), ['endedAt', 'id', 'messages', 'peakViewers', 'startedAt']);
    assert.equal(s.startedAt, live.startedAt);
    assert.equal(s.endedAt, over.endedAt);
    assert.equal(s.peakViewers, 1);
    assert.equal(s.messages, 0);
    assert.equal(streams.nextCursor, null);
    assertError(await api(A.url, 'GET', '/api/rooms/AAAAAAAAAAAA/streams'), 404, 'room_not_found');
  });

  it('keeps past streams newest first, paged, and passes the end reason on', async () => {
    const u = await register();
    const room = await makeRoom(u);
    const viewer = await sock(A);
    const ended = collect(viewer, 'stream-ended');
    await ack(viewer, 'join-room', { roomId: room.id });
    for (let i = 0; i < 3; i++) {
      assert.equal((await startStream(i === 1 ? B : A, room, u)).status, 201);
      await waitFor(async () => (await getRoom(A, room.id)).isLive, 5000, 'live');
      assert.equal((await stopStream(i === 1 ? B : A, room, i === 2 ? 'disconnected' : '')).status, 204);
      await waitFor(() => ended.length === i + 1, 5000, 'stream-ended');
    }
    assert.deepEqual(ended.map((e) => e.reason), ['unpublished', 'unpublished', 'disconnected']);
    const p1 = (await api(A.url, 'GET', `/api/rooms/${room.id}/streams?limit=2`)).body;
    assert.equal(p1.streams.length, 2);
    assert.ok(p1.nextCursor);
    const p2 = (await api(A.url, 'GET', `/api/rooms/${room.id}/streams?limit=2&cursor=${p1.nextCursor}`)).body;
    assert.equal(p2.streams.length, 1);
    assert.equal(p2.nextCursor, null);
    const all = [...p1.streams, ...p2.streams];
    assert.deepEqual(all.map((s) => s.id), all.map((s) => s.id).sort((a, b) => b - a));
    assert.equal(new Set(all.map((s) => s.id)).size, 3);
  });

  it('gives a streamer who publishes without a room one, and the same one next time (rooms service)', async () => {
    const u = await register();
    const go = () => api(A.url, 'POST', '/api/test/streams', { body: { userId: u.id, username: u.username } });
    const r = await go();
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.match(r.body.roomId, /^[A-Za-z0-9]{12}$/);
    await waitFor(async () => (await getRoom(B, r.body.roomId)).isLive, 5000, 'live');
    const room = await getRoom(B, r.body.roomId);
    assert.equal(room.title, `${u.username}'s stream`);
    assert.equal(room.streamer.id, u.id);
    assertError(await api(A.url, 'POST', '/api/rooms', { token: u.token, body: { title: 'x' } }), 409, 'room_exists');
    assert.equal((await stopStream(A, room)).status, 204);
    await waitFor(async () => !(await getRoom(A, room.id)).isLive, 5000, 'ended');
    const again = await go();
    assert.equal(again.status, 201);
    assert.equal(again.body.roomId, room.id);
    assert.equal((await stopStream(A, room)).status, 204);
    const nobody = await api(A.url, 'POST', '/api/test/streams', { body: { userId: 2 ** 52, username: 'nobody' } });
    assert.equal(nobody.status, 404);
  });

  it('serves the live list from a short-lived cache', async () => {
    const u = await register();
    const room = await makeRoom(u, { title: uniq('C') });
    assert.equal((await startStream(A, room, u)).status, 201);
    await waitFor(async () => (await getRoom(A, room.id)).isLive, 5000, 'live');
    assert.equal((await list(A, { live: 'true', q: room.title })).rooms.length, 1);
    assert.equal((await stopStream(A, room)).status, 204);
    await waitFor(async () => !(await getRoom(A, room.id)).isLive, 5000, 'ended');
    // the cached answer (shared through Redis) still shows it for a moment, then it goes
    assert.equal((await list(B, { live: 'true', q: room.title })).rooms.length, 1);
    await waitFor(async () => (await list(B, { live: 'true', q: room.title })).rooms.length === 0, 8000, 'cache expiry');
    assert.equal((await list(A, { q: room.title })).rooms[0].isLive, false); // other lists are not cached
  });

  it("ends the live room of a node that crashed (reason node_lost)", async () => {
    const C = await clusterNode();
    const u = await register();
    const room = await makeRoom(u);
    const viewer = await sock(A);
    const ended = collect(viewer, 'stream-ended');
    await ack(viewer, 'join-room', { roomId: room.id });
    assert.equal((await startStream(C, room, u)).status, 201);
    await waitFor(async () => (await getRoom(A, room.id)).isLive, 5000, 'live');
    C.proc.kill('SIGKILL');
    await C.exited;
    await waitFor(() => ended.length === 1, 12000, 'stream-ended after the node was lost');
    assert.deepEqual(ended[0], { roomId: room.id, reason: 'node_lost' });
    assert.equal((await getRoom(B, room.id)).isLive, false);
    assert.equal((await api(A.url, 'GET', `/api/users/${u.username}`)).body.user.isStreaming, false);
  });
});

describe('rooms: sockets and viewer counts', () => {
  it('join-room, create-room and leave-room answer errors clearly', async () => {
    const owner = await register(), other = await register();
    const room = await makeRoom(owner);
    const anon = await sock(A), o = await sock(A, owner), x = await sock(A, other);
    assert.equal((await ack(anon, 'join-room', { roomId: 'AAAAAAAAAAAA' })).error.code, 'room_not_found');
    assert.equal((await ack(anon, 'join-room', { roomId: '../etc' })).error.code, 'invalid_room');
    assert.equal((await ack(anon, 'join-room', {})).error.code, 'invalid_room');
    assert.equal((await ack(anon, 'create-room', { roomId: room.id })).error.code, 'not_authenticated');
    assert.equal((await ack(x, 'create-room', { roomId: room.id })).error.code, 'forbidden');
    const errors = collect(x, 'room-error');
    x.emit('create-room', { roomId: room.id }); // no ack: the error comes as an event
    await waitFor(() => errors.length === 1, 3000, 'room-error');
    assert.equal(errors[0].code, 'forbidden');
    // the owner opens the room: in the Socket.IO room (gets its events) but not a viewer
    const joined = collect(o, 'viewer-joined');
    assert.deepEqual(await ack(o, 'create-room', { roomId: room.id }), { ok: true, roomId: room.id });
    assert.equal(await count(A, room.id), 0);
    assert.equal((await ack(x, 'join-room', { roomId: room.id })).viewerCount, 1);
    await waitFor(() => joined.length === 1, 3000, 'the owner sees the viewer');
    assert.deepEqual(joined[0], { userId: other.id, username: other.username, viewerCount: 1 });
    assert.deepEqual(await ack(x, 'leave-room'), { ok: true, roomId: room.id });
    assert.deepEqual(await ack(x, 'leave-room'), { ok: true, roomId: null });
    assert.equal(await count(A, room.id), 0);
  });

  it('counts joins and leaves, a user with three tabs once, and disconnects', async () => {
    const u = await register(), x = await register();
    const room = await makeRoom(u);
    const watcher = await sock(A); // anonymous: counts by socket
    const joined = collect(watcher, 'viewer-joined'), left = collect(watcher, 'viewer-left');
    assert.equal((await ack(watcher, 'join-room', { roomId: room.id })).viewerCount, 1);
    await waitFor(() => joined.length === 1, 3000, 'own viewer-joined');
    assert.deepEqual(joined[0], { userId: null, username: null, viewerCount: 1 });
    const tabs = [await sock(A, x), await sock(A, x), await sock(A, x)];
    for (const t of tabs) assert.equal((await ack(t, 'join-room', { roomId: room.id })).viewerCount, 2);
    await sleep(300);
    assert.deepEqual(joined.slice(1), [{ userId: x.id, username: x.username, viewerCount: 2 }], 'one viewer-joined for three tabs');
    assert.equal(await count(A, room.id), 2);
    assert.equal(await count(B, room.id), 2);
    tabs[0].close();
    assert.deepEqual(await ack(tabs[1], 'leave-room'), { ok: true, roomId: room.id });
    await sleep(300);
    assert.equal(left.length, 0, 'the user still watches in a third tab');
    assert.equal(await count(A, room.id), 2);
    tabs[2].close(); // disconnect
    await waitFor(() => left.length === 1, 3000, 'viewer-left');
    assert.deepEqual(left[0], { userId: x.id, username: x.username, viewerCount: 1 });
    assert.equal(await count(B, room.id), 1);
    // moving to another room leaves the first
    const other = await makeRoom(x);
    assert.equal((await ack(watcher, 'join-room', { roomId: other.id })).viewerCount, 1);
    assert.equal(await count(A, room.id), 0);
    // the list order follows the written counts
    await waitFor(async () => (await getRoom(A, other.id)).viewerCount === 1 &&
      (await list(A, { q: x.username })).rooms[0]?.viewerCount === 1, 5000, 'count written');
  });

  it('two nodes sharing Redis report the same count, with tabs of one user on both', async () => {
    const u = await register(), x = await register(), y = await register();
    const room = await makeRoom(u);
    const watcher = await sock(B);
    const left = collect(watcher, 'viewer-left'), joined = collect(watcher, 'viewer-joined');
    await ack(watcher, 'join-room', { roomId: room.id }); // anonymous on B
    const xa = await sock(A, x), yb = await sock(B, y), xb = await sock(B, x);
    assert.equal((await ack(xa, 'join-room', { roomId: room.id })).viewerCount, 2);
    assert.equal((await ack(yb, 'join-room', { roomId: room.id })).viewerCount, 3);
    assert.equal((await ack(xb, 'join-room', { roomId: room.id })).viewerCount, 3, 'x counts once across nodes');
    assert.equal(await count(A, room.id), 3);
    assert.equal(await count(B, room.id), 3);
    await sleep(300);
    // one viewer-joined each (x once for its two tabs); across nodes their order is not fixed
    assert.deepEqual(joined.map((j) => String(j.userId)).sort(), [String(null), String(x.id), String(y.id)].sort());
    await ack(xa, 'leave-room'); // x still watches on B
    await sleep(300);
    assert.equal(left.length, 0);
    assert.equal(await count(A, room.id), 3);
    xb.close();
    await waitFor(() => left.length === 1, 3000, 'viewer-left from B');
    assert.deepEqual(left[0], { userId: x.id, username: x.username, viewerCount: 2 });
    assert.equal(await count(A, room.id), 2);
    // presence survives the refresh ticks (scores are renewed, nobody ages out)
    await sleep(4000);
    assert.equal(await count(A, room.id), 2);
    assert.equal(await count(B, room.id), 2);
  });

  it("a crashed node's viewers age out", async () => {
    const C = await clusterNode();
    const u = await register(), x = await register();
    const room = await makeRoom(u);
    const a = await sock(A), c1 = await sock(C), c2 = await sock(C, x);
    await ack(a, 'join-room', { roomId: room.id });
    await ack(c1, 'join-room', { roomId: room.id });
    assert.equal((await ack(c2, 'join-room', { roomId: room.id })).viewerCount, 3);
    assert.equal(await count(B, room.id), 3);
    C.proc.kill('SIGKILL');
    await C.exited;
    await waitFor(async () => (await count(B, room.id)) === 1, 8000, 'the lost viewers age out');
    assert.equal(await count(A, room.id), 1);
    // and the written count follows
    await waitFor(async () => (await list(A, { q: u.username })).rooms[0]?.viewerCount === 1, 5000, 'count written');
  });

  it('a single node without Redis counts in-process', async () => {
    const u = await register(S.url), x = await register(S.url);
    const room = await makeRoom(u, {}, S.url);
    const w = await sock(S);
    const left = collect(w, 'viewer-left');
    assert.equal((await ack(w, 'join-room', { roomId: room.id })).viewerCount, 1);
    const t1 = await sock(S, x), t2 = await sock(S, x);
    assert.equal((await ack(t1, 'join-room', { roomId: room.id })).viewerCount, 2);
    assert.equal((await ack(t2, 'join-room', { roomId: room.id })).viewerCount, 2);
    assert.equal(await count(S, room.id), 2);
    t1.close();
    await sleep(200);
    assert.equal(await count(S, room.id), 2);
    t2.close();
    await waitFor(() => left.length === 1, 3000, 'viewer-left');
    assert.deepEqual(left[0], { userId: x.id, username: x.username, viewerCount: 1 });
    assert.equal(await count(S, room.id), 1);
    // live state and the in-process list cache work the same
    const started = collect(w, 'stream-started');
    assert.equal((await startStream(S, room, u)).status, 201);
    await waitFor(() => started.length === 1, 3000, 'stream-started');
    assert.equal((await list(S, { live: 'true', q: u.username })).rooms.length, 1);
    assert.equal((await stopStream(S, room)).status, 204);
    await waitFor(async () => !(await getRoom(S, room.id)).isLive, 3000, 'ended');
    await waitFor(async () => (await list(S, { live: 'true', q: u.username })).rooms.length === 0, 8000, 'cache expiry');
  });
});
