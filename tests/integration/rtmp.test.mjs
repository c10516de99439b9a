// tests/integration/rtmp.test.mjs - the rtmp plugin end to end: REAL ffmpeg publishing into a
// real server (auth for stream keys, rooms when build/plugins/rooms.so exists, the test-only
// recsink stage recording what the pipeline hands a sink), a small RTMP/AMF0 client written here
// for protocol checks and for SECURITY.md's hostile-input list, and the SDK example's keyframe
// counter. Needs PostgreSQL and Redis (SH_TEST_PG, SH_TEST_REDIS_PORT), ffmpeg and ffprobe.
//   SH_RTMP_ROOMS=0   leave rooms.so out even when it is built
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BUILD, ROOT, api, startServer, uniq } from '../lib/server.mjs';

const RECSINK = { name: 'recsink', path: join(BUILD, 'test-plugins', 'recsink.so') };
const WITH_ROOMS = existsSync(join(BUILD, 'plugins', 'rooms.so')) && process.env.SH_RTMP_ROOMS !== '0';
const HAVE_FFMPEG = spawnSync('ffmpeg', ['-version']).status === 0 && spawnSync('ffprobe', ['-version']).status === 0;
const SKIP = !process.env.SH_TEST_PG ? 'needs SH_TEST_PG (tools/test.sh starts PostgreSQL)' : !HAVE_FFMPEG ? 'needs ffmpeg and ffprobe' : false;

const auth = () => ({ name: 'auth', config: { jwt_secret: '${STREAMHUB_JWT_SECRET}', bcrypt_cost: 10, exempt_loopback: true } });
const rtmp = (config = {}) => ({
  name: 'rtmp',
  config: { port: 0, bind: '127.0.0.1', idle_timeout_ms: 1500, handshake_timeout_ms: 1000, publish_timeout_ms: 5000,
    auth_fail_limit: 0, max_message_bytes: 1048576, ...config },
});

const secrets = new Set(); // stream keys handed out: none may appear in a log
const servers = [];
const children = new Set();

async function start(plugins, opts = {}) {
  const s = await startServer({ plugins, ...opts });
  servers.push(s);
  const m = await waitFor(() => s.logs().match(/rtmp: listening on rtmp:\/\/127\.0\.0\.1:(\d+)\/live/), 5000);
  s.rtmpPort = m ? Number(m[1]) : 0;
  return s;
}

async function waitFor(fn, ms = 10000, every = 50) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) return v;
    await sleep(every);
  }
}

async function streamer(base) {
  const username = uniq('r');
  const r = await api(base, 'POST', '/api/auth/register', { body: { username, email: `${username}@example.com`, password: `pw-${randomBytes(6).toString('hex')}` } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const k = await api(base, 'GET', '/api/users/me/stream-key', { token: r.body.token });
  assert.equal(k.status, 200, JSON.stringify(k.body));
  secrets.add(k.body.streamKey);
  return { username, token: r.body.token, user: r.body.user, key: k.body.streamKey };
}

// ---- ffmpeg ---------------------------------------------------------------------------------
function ffmpegArgs({ seconds = 4, video = true, audio = true } = {}) {
  const a = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-re'];
  if (video) a.push('-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25');
  if (audio) a.push('-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100');
  a.push('-t', String(seconds));
  if (video) a.push('-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-g', '50');
  if (audio) a.push('-c:a', 'aac');
  a.push('-f', 'flv');
  return a;
}

function publish(port, key, opts = {}) {
  const proc = spawn('ffmpeg', [...ffmpegArgs(opts), `rtmp://127.0.0.1:${port}/live/${key}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(proc);
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const done = new Promise((resolve) => proc.on('exit', (code, signal) => { children.delete(proc); resolve({ code, signal, stderr }); }));
  return { proc, done };
}

// Counts of an identical encode written to a local file, read back with ffprobe.
function reference(opts) {
  const dir = mkdtempSync(join(tmpdir(), 'sh-rtmp-'));
  const file = join(dir, 'ref.flv');
  execFileSync('ffmpeg', [...ffmpegArgs({ ...opts }).filter((x) => x !== '-re'), '-y', file], { stdio: 'ignore' });
  const probe = (sel) => execFileSync('ffprobe', ['-v', 'error', '-select_streams', sel, '-show_entries', 'packet=flags', '-of', 'csv=p=0', file]).toString().trim().split('\n').filter(Boolean);
  const v = opts.video === false ? [] : probe('v');
  const a = opts.audio === false ? [] : probe('a');
  return { video: v.length, audio: a.length, keyframes: v.filter((f) => f.includes('K')).length };
}

// ---- the recording sink ---------------------------------------------------------------------
// The room a user streams into: the username without rooms.so, the rooms service's id with it.
async function roomOf(base, userId, ms = 10000) {
  return waitFor(async () => {
    const r = await api(base, 'GET', '/api/test/recsink');
    const room = r.status === 200 && r.body.rooms.find((x) => x.userId === userId);
    return room ? room.roomId : null;
  }, ms);
}
const rec = async (base, room) => (await api(base, 'GET', `/api/test/recsink/${encodeURIComponent(room)}`)).body;
async function liveRecord(base, userId, ms = 10000) {
  const room = await roomOf(base, userId, ms);
  assert.ok(room, `no stream of user ${userId} reached the sink`);
  const r = await waitFor(async () => (await rec(base, room)).live, ms);
  assert.ok(r, `no live stream in room ${room}`);
  return r;
}
// The record of stream `streamId` once it ended.
async function endedRecord(base, room, streamId, ms = 10000) {
  const r = await waitFor(async () => {
    const x = (await rec(base, room)).streams?.find((s) => s.streamId === streamId);
    return x && x.ended && x.endedEvent ? x : null;
  }, ms);
  assert.ok(r, `stream ${streamId} in room ${room} did not end (with a stream.ended event) in ${ms} ms`);
  return r;
}
const track = (r, kind) => r.tracks.find((t) => t.kind === kind);
const health = async (base) => (await fetch(`${base}/health`)).status;

// ---- AMF0 -----------------------------------------------------------------------------------
class Ecma { constructor(o) { this.o = o; } }
function amf(values) {
  const out = [];
  const str = (s) => { const b = Buffer.from(s, 'utf8'); const h = Buffer.alloc(2); h.writeUInt16BE(b.length); return [h, b]; };
  const put = (v) => {
    if (v === null) out.push(Buffer.from([5]));
    else if (v === undefined) out.push(Buffer.from([6]));
    else if (Buffer.isBuffer(v)) out.push(v); // raw bytes, for hostile input
    else if (typeof v === 'number') { const b = Buffer.alloc(9); b.writeDoubleBE(v, 1); out.push(b); }
    else if (typeof v === 'boolean') out.push(Buffer.from([1, v ? 1 : 0]));
    else if (typeof v === 'string') {
      const b = Buffer.from(v, 'utf8');
      if (b.length > 0xffff) { const h = Buffer.alloc(5); h[0] = 0x0c; h.writeUInt32BE(b.length, 1); out.push(h, b); } else out.push(Buffer.from([2]), ...str(v));
    } else {
      const ecma = v instanceof Ecma;
      const o = ecma ? v.o : v;
      if (ecma) { const h = Buffer.alloc(5); h[0] = 8; h.writeUInt32BE(Object.keys(o).length, 1); out.push(h); } else out.push(Buffer.from([3]));
      for (const [k, x] of Object.entries(o)) { out.push(...str(k)); put(x); }
      out.push(Buffer.from([0, 0, 9]));
    }
  };
  values.forEach(put);
  return Buffer.concat(out);
}
function amfDecode(buf) {
  let p = 0;
  const key = () => { const n = buf.readUInt16BE(p); p += 2; const s = buf.toString('utf8', p, p + n); p += n; return s; };
  const val = () => {
    const m = buf[p++];
    switch (m) {
      case 0: { const v = buf.readDoubleBE(p); p += 8; return v; }
      case 1: return buf[p++] !== 0;
      case 2: return key();
      case 3: case 8: {
        if (m === 8) p += 4;
        const o = {};
        for (;;) { const k = key(); if (k === '' && buf[p] === 9) { p++; return o; } o[k] = val(); }
      }
      case 5: return null;
      case 6: return undefined;
      case 10: { const n = buf.readUInt32BE(p); p += 4; return Array.from({ length: n }, val); }
      case 12: { const n = buf.readUInt32BE(p); p += 4; const s = buf.toString('utf8', p, p + n); p += n; return s; }
      default: throw new Error(`AMF0 marker ${m}`);
    }
  };
  const vals = [];
  while (p < buf.length) vals.push(val());
  return vals;
}

// ---- a small RTMP client --------------------------------------------------------------------
const u32 = (v) => { const b = Buffer.alloc(4); b.writeUInt32BE(v >>> 0); return b; };
function basic(fmt, csid) {
  if (csid < 64) return Buffer.from([(fmt << 6) | csid]);
  if (csid < 320) return Buffer.from([fmt << 6, csid - 64]);
  return Buffer.from([(fmt << 6) | 1, (csid - 64) & 0xff, (csid - 64) >> 8]);
}
// One message as a list of chunks (type 0 then type 3; extended timestamp repeated on each, as
// FFmpeg and OBS do).
function chunks(csid, type, msid, ts, payload, size) {
  const ext = ts >= 0xffffff;
  const h = Buffer.alloc(11);
  h.writeUIntBE(ext ? 0xffffff : ts, 0, 3);
  h.writeUIntBE(payload.length, 3, 3);
  h[6] = type;
  h.writeUInt32LE(msid, 7);
  const e = ext ? u32(ts) : Buffer.alloc(0);
  const list = [];
  let off = 0;
  do {
    const n = Math.min(size, payload.length - off);
    list.push(Buffer.concat([off === 0 ? Buffer.concat([basic(0, csid), h]) : basic(3, csid), e, payload.subarray(off, off + n)]));
    off += n;
  } while (off < payload.length);
  return list;
}

class Rtmp {
  constructor(port) {
    this.sock = net.connect({ port, host: '127.0.0.1' });
    this.sock.setNoDelay(true);
    this.raw = Buffer.alloc(0);
    this.phase = 'hs';
    this.inChunk = 128;
    this.outChunk = 128;
    this.cs = new Map();
    this.msgs = [];
    this.waiters = new Set();
    this.closed = false;
    this.received = 0;
    this.opened = new Promise((resolve, reject) => { this.sock.once('connect', resolve); this.sock.once('error', reject); });
    this.gone = new Promise((resolve) => this.sock.on('close', () => { this.closed = true; this.closedAt = Date.now(); resolve(); this.wake(); }));
    this.sock.on('error', () => {});
    this.sock.on('data', (d) => { this.received += d.length; this.raw = Buffer.concat([this.raw, d]); if (this.phase === 'chunks') this.parse(); this.wake(); });
  }

  static async open(port) { const c = new Rtmp(port); await c.opened; return c; }
  write(b) { if (!this.sock.destroyed) this.sock.write(b); }
  close() { this.sock.destroy(); }
  wake() { for (const w of [...this.waiters]) if (w.pred()) { this.waiters.delete(w); clearTimeout(w.t); w.resolve(true); } }
  until(pred, ms = 5000) {
    if (pred()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const w = { pred, resolve };
      w.t = setTimeout(() => { this.waiters.delete(w); resolve(false); }, ms);
      this.waiters.add(w);
    });
  }
  // true when the server closed the connection within ms
  closes(ms = 3000) { return this.until(() => this.closed, ms); }

  async handshake() {
    const c1 = Buffer.alloc(1536);
    randomBytes(1528).copy(c1, 8);
    this.write(Buffer.concat([Buffer.from([3]), c1]));
    if (!(await this.until(() => this.raw.length >= 3073 || this.closed, 5000)) || this.raw.length < 3073) throw new Error('no S0+S1+S2');
    assert.equal(this.raw[0], 3);
    const s1 = Buffer.from(this.raw.subarray(1, 1537));
    this.raw = this.raw.subarray(3073);
    this.phase = 'chunks';
    this.write(s1); // C2 echoes S1
    this.parse();
  }

  parse() {
    for (;;) {
      const b = this.raw;
      if (b.length < 1) return;
      const fmt = b[0] >> 6;
      let csid = b[0] & 0x3f, off = 1;
      if (csid === 0) { if (b.length < 2) return; csid = 64 + b[1]; off = 2; } else if (csid === 1) { if (b.length < 3) return; csid = 64 + b[1] + 256 * b[2]; off = 3; }
      const hl = [11, 7, 3, 0][fmt];
      if (b.length < off + hl) return;
      const st = this.cs.get(csid) || { ts: 0, delta: 0, len: 0, type: 0, msid: 0, ext: false, parts: [], got: 0 };
      let field = st.delta, len = st.len, type = st.type, msid = st.msid;
      if (fmt <= 2) field = b.readUIntBE(off, 3);
      if (fmt <= 1) { len = b.readUIntBE(off + 3, 3); type = b[off + 6]; }
      if (fmt === 0) msid = b.readUInt32LE(off + 7);
      off += hl;
      const ext = fmt <= 2 ? field === 0xffffff : st.ext;
      if (ext) { if (b.length < off + 4) return; field = b.readUInt32BE(off); off += 4; }
      const fresh = st.got === 0;
      const n = Math.min(this.inChunk, (fresh ? len : st.len) - st.got);
      if (b.length < off + n) return;
      if (fresh) {
        st.ext = fmt <= 2 ? ext : st.ext;
        st.ts = fmt === 0 ? field : (st.ts + field) >>> 0;
        st.delta = field; st.len = len; st.type = type; st.msid = msid;
      }
      st.parts.push(b.subarray(off, off + n));
      st.got += n;
      this.raw = b.subarray(off + n);
      this.cs.set(csid, st);
      if (st.got === st.len) {
        const payload = Buffer.concat(st.parts);
        st.parts = []; st.got = 0;
        const m = { csid, type: st.type, msid: st.msid, ts: st.ts, payload };
        if (m.type === 1) this.inChunk = payload.readUInt32BE(0);
        if (m.type === 20 || m.type === 18) m.values = amfDecode(payload);
        this.msgs.push(m);
      }
    }
  }

  send(csid, type, msid, ts, payload) { for (const c of chunks(csid, type, msid, ts, payload, this.outChunk)) this.write(c); }
  cmd(name, tx, ...args) { this.send(3, 20, 0, 0, amf([name, tx, ...args])); }
  async message(pred, ms = 5000) {
    let found = null;
    await this.until(() => (found = this.msgs.find(pred)) !== undefined || this.closed, ms);
    return found || this.msgs.find(pred) || null;
  }
  result(tx, ms) { return this.message((m) => m.type === 20 && (m.values[0] === '_result' || m.values[0] === '_error') && m.values[1] === tx, ms); }
  status(code, ms) { return this.message((m) => m.type === 20 && m.values[0] === 'onStatus' && (!code || m.values[3]?.code === code), ms); }

  async connectApp(app = 'live') {
    this.cmd('connect', 1, { app, type: 'nonprivate', flashVer: 'FMLE/3.0 (compatible; test)', tcUrl: `rtmp://127.0.0.1/${app}` });
    return this.result(1);
  }
  // releaseStream, FCPublish, createStream, publish (the way OBS does it): the onStatus answer
  async publish(name) {
    this.cmd('releaseStream', 2, null, name);
    this.cmd('FCPublish', 3, null, name);
    this.cmd('createStream', 4, null);
    const cs = await this.result(4);
    assert.ok(cs && cs.values[0] === '_result', 'createStream answered');
    this.send(8, 20, cs.values[3], 0, amf(['publish', 5, null, name, 'live']));
    return this.status(null, 5000);
  }
}

const AAC_ASC = Buffer.from([0x12, 0x08]); // AAC-LC 44.1 kHz mono
const aacTag = (raw) => Buffer.concat([Buffer.from([0xaf, raw ? 1 : 0]), raw || AAC_ASC]);

// x265 Main 640x360 hvcC (VPS/SPS/PPS), as in tests/unit/test_flv.c
const HVCC = Buffer.from('0101600000009000000000003ff000fcfdf8f800000f03200001001840010c01ffff01600000030090000003000003003f959809'
  + '210001002a42010101600000030090000003000003003fa00502016965959a4932bc05a0200000030020000003032122000100074401c172b46240', 'hex');

// ---- suites ---------------------------------------------------------------------------------
describe('rtmp ingest', { skip: SKIP }, () => {
  let A; // auth (+ rooms) + rtmp + recsink
  let ref, refVideoOnly, refAudioOnly;

  before(async () => {
    ref = reference({ seconds: 4 });
    refVideoOnly = reference({ seconds: 2, audio: false });
    refAudioOnly = reference({ seconds: 2, video: false });
    A = await start([auth(), ...(WITH_ROOMS ? ['rooms'] : []), rtmp(), RECSINK]);
    assert.ok(A.rtmpPort > 0, `no rtmp listening line:\n${A.logs()}`);
  });

  after(async () => {
    for (const p of children) p.kill('SIGKILL');
    for (const s of servers) await s.stop();
    for (const s of servers) {
      const text = s.logs();
      for (const k of secrets) assert.ok(!text.includes(k), 'a stream key appeared in a server log');
      assert.ok(!/AddressSanitizer|runtime error/.test(text), text);
    }
  });

  describe('with ffmpeg', () => {
    it('publishes H.264 + AAC: tracks, codec parameters, every packet, monotonic timestamps, keyframes, stream.started/ended', { timeout: 60000 }, async () => {
      const s = await streamer(A.url);
      const pub = publish(A.rtmpPort, s.key, { seconds: 4 });
      const live = await liveRecord(A.url, s.user.id);
      const room = live.roomId;
      if (!WITH_ROOMS) assert.equal(room, s.username, 'without a rooms service the room is the username');
      const { code, stderr } = await pub.done;
      assert.equal(code, 0, stderr);
      const r = await endedRecord(A.url, room, live.streamId);
      assert.equal(r.endReason, 'unpublished');
      assert.equal(r.userId, s.user.id);
      assert.equal(r.username, s.username);
      assert.equal(r.tracks.length, 2);
      const v = track(r, 'video'), a = track(r, 'audio');
      assert.deepEqual([v.codec, v.width, v.height, v.fps], ['h264', 320, 240, 25]);
      assert.ok(v.extradataLen > 7, 'avcC extradata');
      assert.deepEqual([a.codec, a.sampleRate, a.channels], ['aac', 44100, 1]);
      assert.ok(a.extradataLen >= 2, 'AudioSpecificConfig extradata');
      assert.equal(v.packets, ref.video, 'every video packet ffmpeg sent');
      assert.equal(v.packets, 100, '4 s at 25 fps');
      assert.equal(a.packets, ref.audio, 'every audio packet ffmpeg sent');
      assert.equal(v.keyframes, ref.keyframes, 'keyframes flagged');
      assert.equal(v.keyframeDts[0], v.firstDts, 'the first video packet is a keyframe');
      assert.ok(v.keyframeDts.length < 2 || Math.abs(v.keyframeDts[1] - v.keyframeDts[0] - 2000) <= 1, `GOP of 2 s: ${v.keyframeDts}`);
      assert.equal(v.avccBad, 0, 'packets are AVCC length-prefixed');
      for (const t of [v, a]) {
        assert.equal(t.dtsMonotonic, true);
        assert.equal(t.ptsBeforeDts, 0);
      }
      assert.ok(Math.abs(v.lastDts - v.firstDts - 99 * 40) <= 2, `video dts span ${v.firstDts}..${v.lastDts}`);
      assert.ok(Math.abs(v.firstDts - a.firstDts) < 200, 'audio and video on one clock');
      // the core published both events for the stream
      assert.equal(r.startedEvent.streamId, r.streamId);
      assert.equal(r.startedEvent.roomId, room);
      assert.deepEqual(r.startedEvent.tracks.map((t) => `${t.kind}:${t.codec}`), ['video:h264', 'audio:aac']);
      assert.equal(r.endedEvent.reason, 'unpublished');
    });

    it('video-only and audio-only streams start and carry their one track', { timeout: 60000 }, async () => {
      const sv = await streamer(A.url), sa = await streamer(A.url);
      const pv = publish(A.rtmpPort, sv.key, { seconds: 2, audio: false });
      const pa = publish(A.rtmpPort, sa.key, { seconds: 2, video: false });
      const lv = await liveRecord(A.url, sv.user.id), la = await liveRecord(A.url, sa.user.id);
      assert.equal((await pv.done).code, 0);
      assert.equal((await pa.done).code, 0);
      const rv = await endedRecord(A.url, lv.roomId, lv.streamId);
      const ra = await endedRecord(A.url, la.roomId, la.streamId);
      assert.deepEqual(rv.tracks.map((t) => t.kind), ['video']);
      assert.equal(rv.tracks[0].packets, refVideoOnly.video);
      assert.equal(rv.tracks[0].keyframes, refVideoOnly.keyframes);
      assert.deepEqual(ra.tracks.map((t) => t.kind), ['audio']);
      assert.equal(ra.tracks[0].packets, refAudioOnly.audio);
      assert.equal(ra.tracks[0].codec, 'aac');
    });

    it('a wrong stream key is refused: ffmpeg exits non-zero and nothing starts', { timeout: 30000 }, async () => {
      const before = (await api(A.url, 'GET', '/api/test/recsink')).body.rooms.length;
      const { code, stderr } = await publish(A.rtmpPort, `live_${randomBytes(20).toString('hex')}`, { seconds: 2 }).done;
      assert.notEqual(code, 0);
      assert.match(stderr, /invalid stream key|BadName|Operation not permitted/i);
      assert.equal((await api(A.url, 'GET', '/api/test/recsink')).body.rooms.length, before);
      assert.match(A.logs(), /refused: wrong stream key/);
    });

    it('a second publisher on a live key is refused; the first carries on; SIGKILL ends it as disconnected', { timeout: 60000 }, async () => {
      const s = await streamer(A.url);
      const first = publish(A.rtmpPort, s.key, { seconds: 30 });
      const live = await liveRecord(A.url, s.user.id);
      const second = await publish(A.rtmpPort, s.key, { seconds: 2 }).done;
      assert.notEqual(second.code, 0);
      assert.match(second.stderr, /already publishing/);
      const now = await rec(A.url, live.roomId);
      assert.equal(now.live?.streamId, live.streamId, 'the first stream is still live');
      const p1 = track(now.live, 'video').packets;
      await sleep(500);
      assert.ok(track((await rec(A.url, live.roomId)).live, 'video').packets > p1, 'and still receiving');
      first.proc.kill('SIGKILL');
      const r = await endedRecord(A.url, live.roomId, live.streamId);
      assert.equal(r.endReason, 'disconnected');
    });

    it('a stream-key reset disconnects the live publisher (key_reset); the old key is refused', { timeout: 60000 }, async () => {
      const s = await streamer(A.url);
      const pub = publish(A.rtmpPort, s.key, { seconds: 30 });
      const live = await liveRecord(A.url, s.user.id);
      await sleep(500);
      const reset = await api(A.url, 'POST', '/api/users/me/stream-key/reset', { token: s.token });
      assert.equal(reset.status, 200, JSON.stringify(reset.body));
      if (reset.body?.streamKey) secrets.add(reset.body.streamKey);
      const r = await endedRecord(A.url, live.roomId, live.streamId, 5000);
      assert.equal(r.endReason, 'key_reset');
      const { code } = await pub.done;
      assert.notEqual(code, 0, 'ffmpeg lost its connection');
      const again = await publish(A.rtmpPort, s.key, { seconds: 1 }).done;
      assert.notEqual(again.code, 0, 'the old key no longer works');
    });

    it('a frozen publisher (SIGSTOP) ends by idle timeout', { timeout: 60000 }, async () => {
      const s = await streamer(A.url);
      const pub = publish(A.rtmpPort, s.key, { seconds: 30 });
      const live = await liveRecord(A.url, s.user.id);
      await sleep(500);
      const t0 = Date.now();
      pub.proc.kill('SIGSTOP');
      try {
        const r = await endedRecord(A.url, live.roomId, live.streamId, 6000);
        assert.equal(r.endReason, 'idle_timeout');
        const took = Date.now() - t0;
        assert.ok(took >= 1000 && took < 4000, `ended after ${took} ms (idle_timeout_ms 1500)`);
      } finally {
        pub.proc.kill('SIGKILL');
      }
    });

    it('a publisher that reconnects continues the same room in a new stream session', { timeout: 60000 }, async () => {
      const s = await streamer(A.url);
      assert.equal((await publish(A.rtmpPort, s.key, { seconds: 2 }).done).code, 0);
      const room = await roomOf(A.url, s.user.id);
      const firstRec = (await rec(A.url, room)).streams[0];
      await endedRecord(A.url, room, firstRec.streamId);
      const pub = publish(A.rtmpPort, s.key, { seconds: 2 });
      const live = await liveRecord(A.url, s.user.id);
      assert.equal(live.roomId, room, 'same room');
      assert.notEqual(live.streamId, firstRec.streamId, 'new stream session');
      assert.equal((await pub.done).code, 0);
      await endedRecord(A.url, room, live.streamId);
      const all = (await rec(A.url, room)).streams;
      assert.equal(all.length, 2);
      assert.deepEqual(all.map((x) => x.endReason), ['unpublished', 'unpublished']);
      assert.equal((await rec(A.url, room)).last.streamId, live.streamId);
    });

    it('the rooms service names the room (rooms.so)', { skip: !WITH_ROOMS && 'rooms.so not built', timeout: 60000 }, async () => {
      const s = await streamer(A.url);
      const pub = publish(A.rtmpPort, s.key, { seconds: 3 });
      const live = await liveRecord(A.url, s.user.id);
      assert.notEqual(live.roomId, s.username, 'the public room id, not the username');
      const room = await api(A.url, 'GET', `/api/rooms/${live.roomId}`);
      assert.equal(room.status, 200, JSON.stringify(room.body));
      assert.equal((await pub.done).code, 0);
    });
  });

  describe('protocol (a raw client)', () => {
    it('connect is answered with window ack size, peer bandwidth, chunk size and NetConnection.Connect.Success', { timeout: 20000 }, async () => {
      const c = await Rtmp.open(A.rtmpPort);
      await c.handshake();
      const res = await c.connectApp();
      assert.ok(res, 'an answer to connect');
      const types = c.msgs.map((m) => m.type);
      assert.ok(types.includes(5) && types.includes(6) && types.includes(1), `control messages ${types}`);
      assert.equal(c.msgs.find((m) => m.type === 5).payload.readUInt32BE(0), 2500000);
      assert.equal(c.msgs.find((m) => m.type === 1).payload.readUInt32BE(0), 4096);
      const [name, tx, props, info] = res.values;
      assert.deepEqual([name, tx], ['_result', 1]);
      assert.match(props.fmsVer, /^FMS\//);
      assert.equal(props.capabilities, 31);
      assert.deepEqual([info.level, info.code, info.objectEncoding], ['status', 'NetConnection.Connect.Success', 0]);
      assert.equal(typeof info.description, 'string');
      // unknown commands: _error with a transaction id, ignored without; never fatal
      c.cmd('getStreamLength', 7, null, 'x');
      const err = await c.result(7);
      assert.equal(err?.values[0], '_error');
      c.cmd('someNotification', 0, null);
      c.cmd('FCPublish', 8, null, 'x');
      const fc = await c.message((m) => m.type === 20 && m.values[0] === 'onFCPublish');
      assert.ok(fc, 'onFCPublish');
      c.cmd('createStream', 9, null);
      const cs = await c.result(9);
      assert.deepEqual(cs.values, ['_result', 9, null, 1]);
      assert.equal(c.closed, false);
      c.close();
    });

    it('a raw AAC publisher: 3-byte chunk stream ids, interleaved chunks, extended timestamps across the 2^32 wrap, acknowledgements', { timeout: 30000 }, async () => {
      const s = await streamer(A.url);
      const c = await Rtmp.open(A.rtmpPort);
      await c.handshake();
      assert.ok(await c.connectApp());
      c.send(2, 5, 0, 0, u32(4096)); // our window: the server must acknowledge every 4096 bytes
      const st = await c.publish(s.key);
      assert.equal(st?.values[3]?.code, 'NetStream.Publish.Start', JSON.stringify(st?.values));
      assert.ok(c.msgs.some((m) => m.type === 4 && m.payload.readUInt16BE(0) === 0), 'Stream Begin');
      c.send(4, 18, 1, 0, amf(['@setDataFrame', 'onMetaData', new Ecma({ audiocodecid: 10, audiosamplerate: 44100, audiochannels: 1, stereo: false })]));
      const start = 2 ** 32 - 23 * 25;
      c.send(400, 8, 1, start, aacTag());
      let sent = 0;
      for (let i = 0; i < 50; i += 2) { // two frames at a time, chunk by chunk on two chunk streams
        const a = chunks(400, 8, 1, (start + 23 * i) % 2 ** 32, aacTag(randomBytes(300)), c.outChunk);
        const b = chunks(401, 8, 1, (start + 23 * (i + 1)) % 2 ** 32, aacTag(randomBytes(300)), c.outChunk);
        for (let k = 0; k < Math.max(a.length, b.length); k++) { if (a[k]) c.write(a[k]); if (b[k]) c.write(b[k]); }
        sent += 2;
      }
      const live = await liveRecord(A.url, s.user.id);
      const got = await waitFor(async () => {
        const r = (await rec(A.url, live.roomId)).live;
        return r && track(r, 'audio')?.packets === sent ? r : null;
      }, 5000);
      assert.ok(got, 'every frame reached the sink');
      const t = track(got, 'audio');
      assert.deepEqual(got.tracks.map((x) => x.kind), ['audio'], 'onMetaData said audio only: started without waiting');
      assert.equal(t.firstDts, start);
      assert.equal(t.lastDts, start + 23 * 49, 'unwrapped past 2^32');
      assert.equal(t.dtsMonotonic, true);
      assert.ok(await c.until(() => c.msgs.some((m) => m.type === 3), 3000), 'an Acknowledgement');
      const ack = c.msgs.find((m) => m.type === 3).payload.readUInt32BE(0);
      assert.ok(ack >= 4096, `acknowledged ${ack} bytes`);
      c.cmd('FCUnpublish', 6, null, s.key);
      c.send(3, 20, 0, 0, amf(['deleteStream', 7, null, 1]));
      const r = await endedRecord(A.url, live.roomId, live.streamId);
      assert.equal(r.endReason, 'unpublished');
      c.close();
    });

    it('Enhanced RTMP: hvc1 is accepted with its codec, hvcC and composition times', { timeout: 30000 }, async () => {
      const s = await streamer(A.url);
      const c = await Rtmp.open(A.rtmpPort);
      await c.handshake();
      assert.ok(await c.connectApp());
      c.send(2, 1, 0, 0, u32(4096));
      c.outChunk = 4096;
      const st = await c.publish(s.key);
      assert.equal(st?.values[3]?.code, 'NetStream.Publish.Start');
      const HVC1 = Buffer.from('hvc1');
      c.send(4, 18, 1, 0, amf(['@setDataFrame', 'onMetaData', new Ecma({ videocodecid: HVC1.readUInt32BE(0), width: 640, height: 360, framerate: 25 })]));
      c.send(6, 9, 1, 0, Buffer.concat([Buffer.from([0x90]), HVC1, HVCC])); // key frame, SequenceStart
      for (let i = 0; i < 10; i++) {
        const nal = randomBytes(50);
        const body = Buffer.concat([u32(nal.length), nal]);
        const key = i === 0 ? 1 : 2;
        const tag = i % 2 === 0
          ? Buffer.concat([Buffer.from([0x80 | (key << 4) | 1]), HVC1, Buffer.from([0, 0, 80]), body]) // CodedFrames, cts 80
          : Buffer.concat([Buffer.from([0x80 | (key << 4) | 3]), HVC1, body]); // CodedFramesX
        c.send(6, 9, 1, 40 * i, tag);
      }
      const live = await liveRecord(A.url, s.user.id);
      const got = await waitFor(async () => {
        const r = (await rec(A.url, live.roomId)).live;
        return r && track(r, 'video')?.packets === 10 ? r : null;
      }, 5000);
      assert.ok(got, 'all 10 frames');
      const v = track(got, 'video');
      assert.deepEqual([v.codec, v.extradataLen, v.width, v.height, v.keyframes, v.avccBad], ['hevc', HVCC.length, 640, 360, 1, 0]);
      assert.equal(v.firstPts - v.firstDts, 80);
      c.close();
      const r = await endedRecord(A.url, live.roomId, live.streamId);
      assert.equal(r.endReason, 'disconnected');
    });

    for (const [fourcc, config, codec] of [['av01', Buffer.from([0x81, 0x08, 0x0c, 0x00]), 'av1'],
      ['vp09', Buffer.from([1, 0, 0, 0, 0, 31, 0x80, 1, 1, 1, 0, 0]), 'vp9']]) {
      it(`Enhanced RTMP: ${fourcc} passes through as ${codec}`, { timeout: 30000 }, async () => {
        const s = await streamer(A.url);
        const c = await Rtmp.open(A.rtmpPort);
        await c.handshake();
        assert.ok(await c.connectApp());
        const st = await c.publish(s.key);
        assert.equal(st?.values[3]?.code, 'NetStream.Publish.Start');
        const cc = Buffer.from(fourcc);
        c.send(4, 18, 1, 0, amf(['@setDataFrame', 'onMetaData', new Ecma({ videocodecid: cc.readUInt32BE(0), width: 320, height: 240 })]));
        c.send(6, 9, 1, 0, Buffer.concat([Buffer.from([0x90]), cc, config]));
        for (let i = 0; i < 5; i++) c.send(6, 9, 1, 40 * i, Buffer.concat([Buffer.from([0x80 | ((i ? 2 : 1) << 4) | 1]), cc, randomBytes(40)]));
        const live = await liveRecord(A.url, s.user.id);
        const got = await waitFor(async () => {
          const r = (await rec(A.url, live.roomId)).live;
          return r && track(r, 'video')?.packets === 5 ? r : null;
        }, 5000);
        assert.ok(got, 'all 5 frames');
        const v = track(got, 'video');
        assert.deepEqual([v.codec, v.extradataLen, v.keyframes, v.lastDts], [codec, config.length, 1, 160]);
        c.close();
      });
    }

    it('play is refused; connect to another app is rejected', { timeout: 20000 }, async () => {
      const c = await Rtmp.open(A.rtmpPort);
      await c.handshake();
      assert.ok(await c.connectApp());
      c.cmd('createStream', 2, null);
      await c.result(2);
      c.send(8, 20, 1, 0, amf(['play', 3, null, 'anything']));
      const st = await c.status('NetStream.Play.Failed');
      assert.equal(st?.values[3]?.level, 'error');
      assert.ok(await c.closes(3000), 'closed after refusing play');
      const d = await Rtmp.open(A.rtmpPort);
      await d.handshake();
      const res = await d.connectApp('admin');
      assert.equal(res?.values[0], '_error');
      assert.equal(res?.values[3]?.code, 'NetConnection.Connect.Rejected');
      assert.ok(await d.closes(3000));
    });
  });

  describe('hostile input (SECURITY.md, RTMP ingest) while another stream publishes', () => {
    let bystander, pub;
    const alive = async () => {
      assert.equal(await health(A.url), 200, '/health');
      const r = (await rec(A.url, bystander.room)).live;
      assert.equal(r?.streamId, bystander.streamId, 'the bystander stream is still live');
      return r;
    };

    before(async () => {
      const s = await streamer(A.url);
      pub = publish(A.rtmpPort, s.key, { seconds: 60 });
      const live = await liveRecord(A.url, s.user.id);
      bystander = { user: s, room: live.roomId, streamId: live.streamId, t0: Date.now(), packets0: track(live, 'video').packets };
    });

    after(async () => {
      if (!pub) return;
      pub.proc.kill('SIGINT'); // ffmpeg finishes cleanly: FCUnpublish + deleteStream
      await pub.done;
    });

    it('C0 other than 3 is closed without an answer', async () => {
      const c = await Rtmp.open(A.rtmpPort);
      c.write(Buffer.concat([Buffer.from([6]), randomBytes(1536)]));
      assert.ok(await c.closes(2000));
      assert.equal(c.received, 0);
      await alive();
    });

    it('a handshake started and abandoned is closed within the timeout', async () => {
      const c = await Rtmp.open(A.rtmpPort);
      const t0 = Date.now();
      c.write(Buffer.concat([Buffer.from([3]), randomBytes(100)]));
      assert.ok(await c.closes(4000), 'closed');
      const took = Date.now() - t0;
      assert.ok(took >= 800 && took < 3000, `closed after ${took} ms (handshake_timeout_ms 1000)`);
      await alive();
    });

    for (const [what, size] of [['0', 0], ['2^24', 2 ** 24], ['with its top bit set', 0x80000001]]) {
      it(`Set Chunk Size ${what} closes the connection`, async () => {
        const c = await Rtmp.open(A.rtmpPort);
        await c.handshake();
        c.send(2, 1, 0, 0, u32(size));
        assert.ok(await c.closes(2000));
        await alive();
      });
    }

    it('a message declared longer than max_message_bytes closes the connection before any allocation', async () => {
      const c = await Rtmp.open(A.rtmpPort);
      await c.handshake();
      const h = Buffer.alloc(11);
      h.writeUIntBE(0xffffff, 3, 3); // 16 MiB declared, 1 MiB allowed
      h[6] = 9;
      c.write(Buffer.concat([basic(0, 6), h, randomBytes(64)]));
      assert.ok(await c.closes(2000));
      await alive();
    });

    it('a type-1 chunk on a chunk stream never opened closes the connection', async () => {
      const c = await Rtmp.open(A.rtmpPort);
      await c.handshake();
      c.write(Buffer.concat([basic(1, 9), Buffer.alloc(7), randomBytes(20)]));
      assert.ok(await c.closes(2000));
      await alive();
    });

    it('AMF0 nested 10000 deep is rejected', async () => {
      const c = await Rtmp.open(A.rtmpPort);
      await c.handshake();
      const deep = Buffer.concat([Buffer.from([3]), ...Array.from({ length: 10000 }, () => Buffer.from([0, 1, 0x61, 3]))]);
      c.send(3, 20, 0, 0, amf(['connect', 1, deep]));
      assert.ok(await c.closes(2000));
      assert.equal(c.msgs.some((m) => m.type === 20), false, 'never answered');
      await alive();
    });

    it('an AMF0 string running past the buffer is rejected', async () => {
      const c = await Rtmp.open(A.rtmpPort);
      await c.handshake();
      c.send(3, 20, 0, 0, Buffer.concat([amf(['connect', 1]), Buffer.from([2, 0xff, 0xff, 0x61])]));
      assert.ok(await c.closes(2000));
      await alive();
    });

    for (const [what, name] of [['../', '../../etc/passwd'], ['NUL', 'live_ab\u0000cd'], ['over 256 bytes', 'k'.repeat(300)], ['spaces', 'a key']]) {
      it(`a stream name with ${what} is refused (BadName) and closed`, async () => {
        const c = await Rtmp.open(A.rtmpPort);
        await c.handshake();
        assert.ok(await c.connectApp());
        const st = await c.publish(name);
        assert.equal(st?.values[3]?.code, 'NetStream.Publish.BadName');
        assert.equal(st?.values[3]?.level, 'error');
        assert.ok(await c.closes(3000));
        await alive();
      });
    }

    it('more than 1 MiB sent without publishing closes the connection', async () => {
      const c = await Rtmp.open(A.rtmpPort);
      await c.handshake();
      assert.ok(await c.connectApp());
      for (let i = 0; i < 40 && !c.closed; i++) { c.send(6, 9, 1, i * 40, randomBytes(60000)); await sleep(5); }
      assert.ok(await c.closes(3000));
      await alive();
    });

    it('garbage after the handshake closes the connection', async () => {
      const c = await Rtmp.open(A.rtmpPort);
      await c.handshake();
      c.write(Buffer.concat([Buffer.from([0xc5]), randomBytes(4000)])); // type 3 on an unknown chunk stream
      assert.ok(await c.closes(2000));
      for (let i = 0; i < 5; i++) { // and random garbage: closed, or idle-timed out
        const d = await Rtmp.open(A.rtmpPort);
        await d.handshake();
        d.write(randomBytes(2000 + i * 1000));
        assert.ok(await d.closes(4000), 'closed (protocol error or idle timeout)');
      }
      await alive();
    });

    it('the stream that published meanwhile was not disturbed', { timeout: 30000 }, async () => {
      const r = await alive();
      const v = track(r, 'video');
      const secs = (Date.now() - bystander.t0) / 1000;
      assert.ok(v.packets - bystander.packets0 >= Math.floor(secs * 25 * 0.8), `${v.packets - bystander.packets0} frames in ${secs.toFixed(1)} s`);
      assert.equal(v.dtsMonotonic, true);
      assert.equal(v.avccBad, 0);
      assert.equal(track(r, 'audio').dtsMonotonic, true);
      pub.proc.kill('SIGINT');
      await pub.done;
      const end = await endedRecord(A.url, bystander.room, bystander.streamId);
      assert.equal(end.endReason, 'unpublished');
      const fv = track(end, 'video');
      const span = (fv.lastDts - fv.firstDts) / 40 + 1;
      assert.ok(Math.abs(fv.packets - span) <= 1, `no frame lost: ${fv.packets} packets over ${span} frame times`);
      pub = null;
    });
  });

  describe('limits (a second server without Redis or rooms)', () => {
    let B;
    before(async () => {
      B = await start([auth(), rtmp({ auth_fail_limit: 3, auth_fail_window_ms: 60000, auth_fail_delay_ms: 300, max_connections: 6, handshake_timeout_ms: 3000 }), RECSINK], { redis: false });
    });

    it('repeated wrong keys from one address are slowed, then the address is refused before the handshake', { timeout: 30000 }, async () => {
      for (let i = 0; i < 4; i++) {
        const c = await Rtmp.open(B.rtmpPort);
        await c.handshake();
        assert.ok(await c.connectApp());
        const t0 = Date.now();
        const st = await c.publish(`live_${randomBytes(20).toString('hex')}`);
        assert.equal(st?.values[3]?.code, 'NetStream.Publish.BadName');
        assert.equal(st?.values[3]?.description, 'invalid stream key');
        assert.ok(Date.now() - t0 >= 250, 'answered after auth_fail_delay_ms');
        assert.ok(await c.closes(3000));
      }
      const c = await Rtmp.open(B.rtmpPort);
      c.write(Buffer.concat([Buffer.from([3]), randomBytes(1536)]));
      assert.ok(await c.closes(2000), 'refused');
      assert.equal(c.received, 0, 'before the handshake');
      assert.match(B.logs(), /too many wrong stream keys from 127\.0\.0\.1/);
      const m = await (await fetch(`${B.url}/metrics`)).text();
      assert.match(m, /rtmp_refusals_total\{reason="rate_limited"\} [1-9]/);
      assert.match(m, /rtmp_refusals_total\{reason="bad_key"\} [1-9]/);
    });

    it('connections over max_connections are closed at once; the server stays healthy', { timeout: 30000 }, async () => {
      // 127.0.0.1 is refused for a minute after the test above: connect from 127.0.0.2 (loopback too)
      const conns = [];
      const open = () => new Promise((resolve) => {
        const s = net.connect({ port: B.rtmpPort, host: '127.0.0.1', localAddress: '127.0.0.2' });
        s.on('error', () => resolve(null));
        s.on('connect', () => resolve(s));
      });
      for (let i = 0; i < 6; i++) conns.push(await open());
      assert.ok(conns.every(Boolean), 'connected from 127.0.0.2');
      await sleep(100);
      const extra = await open();
      const closed = await new Promise((resolve) => { extra.on('close', () => resolve(true)); setTimeout(() => resolve(false), 2000); });
      assert.ok(closed, 'the 7th connection is closed');
      assert.ok(conns.every((s) => s && !s.destroyed), 'the first 6 are kept (until their handshake times out)');
      for (const s of conns) s.destroy();
      assert.equal(await health(B.url), 200);
      const m = await (await fetch(`${B.url}/metrics`)).text();
      assert.match(m, /rtmp_refusals_total\{reason="max_connections"\} [1-9]/);
    });

    it('metrics: connections, publishers, bytes in, refusals by reason', async () => {
      const m = await (await fetch(`${A.url}/metrics`)).text();
      for (const re of [/^rtmp_connections \d+/m, /^rtmp_connections_total [1-9]/m, /^rtmp_publishers \d+/m, /^rtmp_bytes_in_total [1-9]/m,
        /^rtmp_refusals_total\{reason="bad_name"\} [1-9]/m, /^rtmp_refusals_total\{reason="handshake"\} [1-9]/m,
        /^rtmp_refusals_total\{reason="handshake_timeout"\} [1-9]/m, /^rtmp_refusals_total\{reason="chunk_size"\} [1-9]/m,
        /^rtmp_refusals_total\{reason="message_too_long"\} [1-9]/m, /^rtmp_refusals_total\{reason="bad_amf"\} [1-9]/m,
        /^rtmp_refusals_total\{reason="already_publishing"\} [1-9]/m, /^rtmp_refusals_total\{reason="play"\} [1-9]/m]) {
        assert.match(m, re);
      }
    });
  });

  describe('shutdown', () => {
    it('SIGTERM with a publisher live: the stream ends as "shutdown" and the server exits cleanly', { timeout: 60000 }, async () => {
      const D = await start([auth(), rtmp(), RECSINK]);
      const s = await streamer(D.url);
      const pub = publish(D.rtmpPort, s.key, { seconds: 30 });
      const live = await liveRecord(D.url, s.user.id);
      await sleep(300);
      const { code } = await D.stop('SIGTERM');
      assert.equal(code, 0, D.logs());
      assert.match(D.logs(), new RegExp(`stream ${live.streamId} in room ${live.roomId} ended: shutdown`));
      assert.ok(!/AddressSanitizer|runtime error|LeakSanitizer/.test(D.logs()), D.logs());
      assert.notEqual((await pub.done).code, 0, 'ffmpeg lost its server');
    });
  });

  describe('the SDK example', () => {
    it('counts video keyframes per room on GET /api/hello/keyframes', { timeout: 60000 }, async (t) => {
      const dir = mkdtempSync(join(tmpdir(), 'sh-hello-'));
      const so = join(dir, 'hello.so');
      const cflags = execFileSync('pkg-config', ['--cflags', 'json-c']).toString().trim().split(/\s+/).filter(Boolean);
      const b = spawnSync('cc', ['-std=c11', '-O1', '-Wall', '-Wextra', '-shared', '-fPIC', `-I${ROOT}/sdk/include`, ...cflags,
        '-o', so, join(ROOT, 'sdk/examples/hello/hello.c'), '-ljson-c']);
      if (b.status !== 0) { t.skip(`hello.c does not build: ${b.stderr}`); return; }
      const C = await start([auth(), rtmp(), { name: 'hello', path: so }]);
      const s = await streamer(C.url);
      const { code, stderr } = await publish(C.rtmpPort, s.key, { seconds: 3 }).done;
      assert.equal(code, 0, stderr);
      const kf = await waitFor(async () => {
        const r = await api(C.url, 'GET', '/api/hello/keyframes');
        return r.status === 200 && r.body[s.username] !== undefined ? r.body : null;
      }, 5000);
      assert.ok(kf, 'the room is listed');
      assert.equal(kf[s.username], 2, '3 s with a keyframe every 2 s: 2 keyframes (audio frames not counted)');
    });
  });
});
