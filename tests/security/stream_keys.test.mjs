// tests/security/stream_keys.test.mjs - stream keys stay secret (SECURITY.md, Auth: "stream keys:
// >= 128 random bits, visible only to their owner, never in logs or public URLs; a reset
// invalidates the old key"). One scenario at log level debug with the access log on: a streamer
// registers, reads the key, publishes with ffmpeg, resets the key, reads the new one, tries the
// old one (refused), publishes with the new one, and someone tries a wrong key. Then the server's
// whole log output is searched for every key (whole, its random part, URL-encoded), the token
// and the password, and every public answer about the room and the streamer is searched too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { api, startServer } from '../lib/server.mjs';
import { connect } from '../lib/realtime.mjs';
import {
  AUTH, HAVE_FFMPEG, built, makeRoom, playlist, publish, register, rtmpPort, stopClean, streamKey, waitFor, within,
} from '../faults/helpers.mjs';

const SKIP = !process.env.SH_TEST_PG ? 'needs SH_TEST_PG' : !HAVE_FFMPEG ? 'needs ffmpeg'
  : !['auth', 'rooms', 'rtmp', 'hls'].every(built) ? 'needs the auth, rooms, rtmp and hls plugins' : false;

test('stream_keys_never_appear_in_logs_or_public_answers_through_read_reset_and_publish', { skip: SKIP, timeout: 120000 }, async (t) => {
  const srv = await startServer({
    plugins: [AUTH, 'rooms', { name: 'rtmp', config: { port: 0, bind: '127.0.0.1', auth_fail_limit: 0, idle_timeout_ms: 2000 } },
      { name: 'hls', config: { segment_ms: 1000, part_ms: 250, grace_ms: 5000, thumbnail_interval_ms: 1000 } }],
    log: { level: 'debug' },
    server: { access_log: true },
  });
  const children = [];
  t.after(async () => { for (const c of children) c.kill(); await stopClean(srv); });
  const port = await waitFor(() => rtmpPort(srv), 5000, 'the RTMP port');
  const secrets = [];

  const u = await register(srv.url, 'k');
  secrets.push(u.password, u.token);
  const room = await makeRoom(srv.url, u);
  const k1 = await streamKey(srv.url, u);
  assert.match(k1, /^live_[0-9a-f]{40}$/, 'a 160-bit key');
  assert.ok(!k1.includes(room.id) && !room.id.includes(k1.slice(5, 17)), 'the room id is not derived from the key');
  secrets.push(k1);

  const viewer = await connect(srv.url, { transports: ['websocket'] });
  t.after(() => viewer.close());
  const events = [];
  viewer.onAny((e, d) => events.push([e, d]));
  assert.equal((await viewer.timeout(5000).emitWithAck('join-room', { roomId: room.id })).ok, true);

  // publish with the first key
  const p1 = publish(port, k1, { seconds: 60 });
  children.push(p1);
  await waitFor(async () => (await playlist(srv.url, room.id)).segments >= 1, 20000, 'HLS from the first key');
  const publicAnswers = [];
  const grab = async (path, token) => { const r = await api(srv.url, 'GET', path, { token }); publicAnswers.push([path, JSON.stringify(r.body)]); return r; };
  await grab(`/api/rooms/${room.id}`);
  await grab('/api/rooms?live=true&limit=50');
  await grab(`/api/rooms?q=${encodeURIComponent(u.username)}`);
  await grab(`/api/users/${u.username}`);
  const other = await register(srv.url, 'o');
  await grab(`/api/rooms/${room.id}`, other.token);
  await grab(`/api/users/${u.username}`, other.token);
  const pl = await playlist(srv.url, room.id);
  publicAnswers.push(['playlist', pl.text]);
  publicAnswers.push(['/health', await (await fetch(`${srv.url}/health`)).text()]);
  publicAnswers.push(['/metrics', await (await fetch(`${srv.url}/metrics`)).text()]);

  // reset while live: the publisher is cut off, the old key is dead
  const reset = await api(srv.url, 'POST', '/api/users/me/stream-key/reset', { token: u.token });
  assert.equal(reset.status, 200, JSON.stringify(reset.body));
  const k2 = reset.body.streamKey ?? await streamKey(srv.url, u);
  secrets.push(k2);
  assert.notEqual(k2, k1);
  assert.equal(await streamKey(srv.url, u), k2);
  const end1 = await within(p1.done, 10000);
  assert.ok(end1 && end1.code !== 0, 'the publisher on the old key was disconnected');
  const old = await within(publish(port, k1, { seconds: 2 }).done, 15000);
  assert.ok(old && old.code !== 0, 'the old key is refused');
  const wrong = `live_${randomBytes(20).toString('hex')}`;
  secrets.push(wrong);
  const w = await within(publish(port, wrong, { seconds: 2 }).done, 15000);
  assert.ok(w && w.code !== 0, 'a wrong key is refused');

  // publish with the new key
  const p2 = publish(port, k2, { seconds: 60 });
  children.push(p2);
  await waitFor(() => events.filter(([e]) => e === 'stream-started').length >= 2, 20000, 'the second stream started');
  await waitFor(async () => (await playlist(srv.url, room.id)).segments >= 1, 20000, 'HLS from the second key');
  publicAnswers.push(['playlist 2', (await playlist(srv.url, room.id)).text]);
  await grab(`/api/rooms/${room.id}`);
  p2.kill('SIGINT');
  await within(p2.done, 10000);
  await waitFor(() => events.filter(([e]) => e === 'stream-ended').length >= 2, 10000, 'the second stream ended');
  publicAnswers.push(['socket events', JSON.stringify(events)]);
  await stopClean(srv);

  const logs = srv.logs();
  assert.ok(logs.split('\n').length > 50, 'the debug log has content to search');
  const forms = (s) => [s, encodeURIComponent(s), s.startsWith('live_') ? s.slice(5) : null, s.startsWith('live_') ? s.slice(5, 21) : null].filter(Boolean);
  for (const s of secrets) {
    for (const f of forms(s)) assert.ok(!logs.includes(f), `a secret (${s.slice(0, 9)}...) appears in the server log`);
    for (const [what, text] of publicAnswers) for (const f of forms(s)) assert.ok(!text.includes(f), `a secret appears in ${what}`);
  }
  console.log(`# searched ${logs.length} bytes of debug log and ${publicAnswers.length} public answers for ${secrets.length} secrets`);
});
