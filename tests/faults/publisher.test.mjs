// tests/faults/publisher.test.mjs - an RTMP publisher that freezes (SIGSTOP: the half-open case,
// nothing more arrives and nothing is closed) or dies (SIGKILL: the kernel resets the connection)
// in the middle of a live stream. SECURITY.md: the stream ends within the idle timeout, the HLS
// playlist gets EXT-X-ENDLIST, the room's viewers get stream-ended, the room is no longer live.
// Real ffmpeg publishing into auth + rooms + rtmp + hls; loopback only; bounded in time.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, startServer } from '../lib/server.mjs';
import { connect } from '../lib/realtime.mjs';
import {
  AUTH, HAVE_FFMPEG, built, makeRoom, playlist, publish, register, rtmpPort, sleep, stopClean, streamKey, waitFor,
} from './helpers.mjs';

const SKIP = !process.env.SH_TEST_PG ? 'needs SH_TEST_PG' : !HAVE_FFMPEG ? 'needs ffmpeg'
  : !['auth', 'rooms', 'rtmp', 'hls'].every(built) ? 'needs the auth, rooms, rtmp and hls plugins' : false;
const IDLE_MS = 1500;

describe('a publisher that freezes or dies', { skip: SKIP }, () => {
  let srv, port;
  const children = [];
  const socks = [];
  before(async () => {
    srv = await startServer({
      plugins: [AUTH, 'rooms',
        { name: 'rtmp', config: { port: 0, bind: '127.0.0.1', idle_timeout_ms: IDLE_MS, auth_fail_limit: 0 } },
        { name: 'hls', config: { segment_ms: 1000, part_ms: 250, grace_ms: 30000, thumbnail_interval_ms: 0 } }],
    });
    port = await waitFor(() => rtmpPort(srv), 5000, 'the RTMP port');
  });
  after(async () => {
    for (const c of children) c.kill();
    for (const s of socks) s.close();
    await stopClean(srv);
  });

  // A streamer live with a viewer in the room; resolves once HLS has a segment.
  async function live() {
    const u = await register(srv.url, 'p');
    const room = await makeRoom(srv.url, u);
    const key = await streamKey(srv.url, u);
    const viewer = await connect(srv.url, { transports: ['websocket'] });
    socks.push(viewer);
    const events = [];
    viewer.on('stream-started', (d) => events.push(['started', d]));
    viewer.on('stream-ended', (d) => events.push(['ended', d]));
    assert.equal((await viewer.timeout(5000).emitWithAck('join-room', { roomId: room.id })).ok, true);
    const pub = publish(port, key, { seconds: 60 });
    children.push(pub);
    await waitFor(async () => (await playlist(srv.url, room.id)).segments >= 1, 20000, 'HLS segments from the publisher');
    await waitFor(() => events.some(([e]) => e === 'started'), 5000, 'stream-started at the viewer');
    return { u, room, pub, events };
  }

  async function assertEnded(ctx, reason, t0, maxMs) {
    const ended = await waitFor(() => ctx.events.find(([e]) => e === 'ended'), maxMs, 'stream-ended at the viewer');
    const took = Date.now() - t0;
    assert.deepEqual(ended[1], { roomId: ctx.room.id, reason });
    const pl = await waitFor(async () => { const p = await playlist(srv.url, ctx.room.id); return p.endlist ? p : null; }, 5000, 'EXT-X-ENDLIST');
    assert.equal(pl.status, 200);
    const r = await api(srv.url, 'GET', `/api/rooms/${ctx.room.id}`);
    assert.equal(r.body.room.isLive, false);
    return took;
  }

  test('publisher_frozen_by_sigstop_stream_ends_by_idle_timeout_with_endlist_and_stream_ended', { timeout: 60000 }, async () => {
    const ctx = await live();
    await sleep(300);
    const t0 = Date.now();
    ctx.pub.proc.kill('SIGSTOP');
    try {
      const took = await assertEnded(ctx, 'idle_timeout', t0, IDLE_MS + 5000);
      assert.ok(took >= IDLE_MS - 200, `not before the idle timeout (${took} ms)`);
      console.log(`# frozen publisher: stream-ended after ${took} ms (idle_timeout_ms ${IDLE_MS})`);
    } finally {
      ctx.pub.kill('SIGKILL');
    }
  });

  test('publisher_killed_by_sigkill_stream_ends_at_once_with_endlist_and_stream_ended', { timeout: 60000 }, async () => {
    const ctx = await live();
    await sleep(300);
    const t0 = Date.now();
    ctx.pub.kill('SIGKILL');
    const took = await assertEnded(ctx, 'disconnected', t0, 5000);
    console.log(`# killed publisher: stream-ended after ${took} ms`);
    assert.ok(took < IDLE_MS + 1000, `the reset is noticed without waiting for the idle timeout (${took} ms)`);
  });
});
