// tests/integration/hls.test.mjs - the hls plugin end to end against a real server: streams are
// published by the test-only filesrc plugin (tests/plugins/filesrc: a local FLV/MP4 file pushed
// through the SDK's source side at real-time pace or at once) and, when build/plugins/rtmp.so
// exists, by ffmpeg over RTMP. Checked over real HTTP: every LL-HLS tag, headers (MIME, caching,
// CORS), ffprobe/ffmpeg reading the live stream without errors, keyframe-aligned segments with
// monotonic DTS, parts that make up their segments, blocking playlist reload (held, answered, 400,
// 503 after three target durations), blocked part requests, delta updates, EXT-X-ENDLIST,
// EXT-X-DISCONTINUITY on a reconnect, the grace period, thumbnails, playback-session counts on
// /stats and /metrics, HEVC passthrough, codec parameters read from extradata, and the server's
// memory (VmRSS) back at its baseline after 20 streams came and went.
//
// Needs SH_TEST_PG / SH_TEST_REDIS_PORT (tools/test.sh), ffmpeg/ffprobe, `make test-plugins`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, api, BUILD } from '../lib/server.mjs';

const FILESRC = join(BUILD, 'test-plugins', 'filesrc.so');
const RTMP_SO = join(BUILD, 'plugins', 'rtmp.so');
const hasFfmpeg = spawnSync('ffmpeg', ['-version']).status === 0 && spawnSync('ffprobe', ['-version']).status === 0;
const skip = !process.env.SH_TEST_PG ? 'no SH_TEST_PG (run through tools/test.sh)'
  : !hasFfmpeg ? 'ffmpeg/ffprobe not installed'
  : !existsSync(FILESRC) ? `${FILESRC} missing (make test-plugins)` : false;
const SANITIZED = /build-san/.test(BUILD);

const GRACE_MS = 4000;
const TD = 3; // EXT-X-TARGETDURATION for the default segment_ms (2000): ceil(2 s) + 1
const WORK = mkdtempSync(join(tmpdir(), 'sh-hls-'));
const MEDIA = {
  flv: join(WORK, 'a.flv'),      // 640x360 30 fps H.264 (GOP 2 s) + AAC 48 kHz, 12 s
  long: join(WORK, 'long.flv'),  // 320x180, 40 s (delta updates)
  hevc: join(WORK, 'hevc.mp4'),  // HEVC + AAC in MP4 (time base 1/15360, B-frames), '' without libx265
  audio: join(WORK, 'audio.flv'), // AAC only, 44.1 kHz, 6 s
  video: join(WORK, 'video.flv'), // H.264 only, 25 fps, GOP 2 s, 6 s
  short: join(WORK, 'short.flv'), // 320x180 H.264 (GOP 1 s) + AAC, 4 s
};
let srv;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function ff(args) {
  const r = spawnSync('ffmpeg', ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y', ...args], { encoding: 'utf8' });
  return r.status === 0;
}

function run(cmd, args, { timeout = 60000 } = {}) {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    const t = setTimeout(() => p.kill('SIGKILL'), timeout);
    p.on('exit', (code, signal) => { clearTimeout(t); resolve({ code, signal, stdout, stderr }); });
  });
}

before(async () => {
  if (skip) return;
  assert.ok(ff(['-f', 'lavfi', '-i', 'testsrc=size=640x360:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', '12', '-c:v', 'libx264', '-preset', 'veryfast', '-g', '60', '-keyint_min', '60', '-sc_threshold', '0',
    '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '96k', '-f', 'flv', MEDIA.flv]), 'ffmpeg could not render the test FLV');
  assert.ok(ff(['-f', 'lavfi', '-i', 'testsrc=size=320x180:rate=30', '-f', 'lavfi', '-i', 'sine=sample_rate=44100',
    '-t', '40', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '60', '-keyint_min', '60', '-sc_threshold', '0',
    '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-f', 'flv', MEDIA.long]));
  assert.ok(ff(['-f', 'lavfi', '-i', 'sine=sample_rate=44100', '-t', '6', '-c:a', 'aac', '-f', 'flv', MEDIA.audio]));
  assert.ok(ff(['-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25', '-t', '6', '-c:v', 'libx264', '-preset', 'ultrafast',
    '-g', '50', '-sc_threshold', '0', '-pix_fmt', 'yuv420p', '-f', 'flv', MEDIA.video]));
  assert.ok(ff(['-f', 'lavfi', '-i', 'testsrc=size=320x180:rate=30', '-f', 'lavfi', '-i', 'sine', '-t', '4', '-c:v', 'libx264',
    '-preset', 'ultrafast', '-g', '30', '-sc_threshold', '0', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-f', 'flv', MEDIA.short]));
  if (!ff(['-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=30', '-f', 'lavfi', '-i', 'sine', '-t', '6',
    '-c:v', 'libx265', '-x265-params', 'log-level=none:keyint=60:min-keyint=60:scenecut=0', '-tag:v', 'hvc1',
    '-c:a', 'aac', MEDIA.hevc])) MEDIA.hevc = '';
  srv = await startServer({
    plugins: [
      { name: 'hls', config: { grace_ms: GRACE_MS, thumbnail_interval_ms: 1000, thumbnail_width: 320 } },
      { name: 'filesrc', path: FILESRC },
    ],
  });
}, { timeout: 180000 });

after(async () => {
  await srv?.stop();
  rmSync(WORK, { recursive: true, force: true });
});

// ---- helpers ------------------------------------------------------------------------------

async function publish(roomId, path, opts = {}) {
  const r = await api(srv.url, 'POST', '/api/test/filesrc', { body: { roomId, path, ...opts } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

async function unpublish(roomId) {
  const r = await api(srv.url, 'POST', '/api/test/filesrc/stop', { body: { roomId } });
  assert.equal(r.status, 204);
}

const hlsUrl = (room, file = 'index.m3u8') => `${srv.url}/hls/${room}/${file}`;

async function get(url, init) {
  const t0 = Date.now();
  const res = await fetch(url, init);
  const buf = Buffer.from(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, buf, text: buf.toString('utf8'), ms: Date.now() - t0 };
}

// Minimal media-playlist parser: what the assertions need.
function parse(text) {
  const lines = text.split('\n').filter(Boolean);
  const pl = { lines, segments: [], open: null, tags: new Set(), endlist: false, hint: null, skipped: 0 };
  let cur = { parts: [] };
  for (const l of lines) {
    const tag = l.startsWith('#') ? l.split(':')[0] : null;
    if (tag) pl.tags.add(tag);
    if (l.startsWith('#EXT-X-MEDIA-SEQUENCE:')) pl.mediaSequence = Number(l.split(':')[1]);
    else if (l.startsWith('#EXT-X-VERSION:')) pl.version = Number(l.split(':')[1]);
    else if (l.startsWith('#EXT-X-TARGETDURATION:')) pl.targetDuration = Number(l.split(':')[1]);
    else if (l.startsWith('#EXT-X-SKIP:')) pl.skipped = Number(/SKIPPED-SEGMENTS=(\d+)/.exec(l)[1]);
    else if (l === '#EXT-X-DISCONTINUITY') cur.disc = true;
    else if (l.startsWith('#EXT-X-MAP:') && pl.segments.length + (cur.parts.length ? 1 : 0) >= 0) cur.map = /URI="([^"]+)"/.exec(l)[1];
    else if (l.startsWith('#EXT-X-PROGRAM-DATE-TIME:')) cur.pdt = Date.parse(l.slice(25));
    else if (l.startsWith('#EXT-X-PART:')) {
      cur.parts.push({ uri: /URI="([^"]+)"/.exec(l)[1], dur: Number(/DURATION=([\d.]+)/.exec(l)[1]), indep: l.includes('INDEPENDENT=YES') });
    } else if (l.startsWith('#EXTINF:')) cur.dur = Number(l.slice(8).split(',')[0]);
    else if (l.startsWith('#EXT-X-PRELOAD-HINT:')) pl.hint = /URI="([^"]+)"/.exec(l)[1];
    else if (l === '#EXT-X-ENDLIST') pl.endlist = true;
    else if (!l.startsWith('#')) {
      cur.uri = l;
      pl.segments.push(cur);
      cur = { parts: [] };
    }
  }
  if (cur.parts.length) pl.open = cur;
  const first = (pl.mediaSequence ?? 0) + pl.skipped;
  pl.segments.forEach((s, i) => { s.msn = first + i; });
  if (pl.open) pl.open.msn = first + pl.segments.length;
  pl.nextMsn = first + pl.segments.length; // the in-progress (or next) segment
  return pl;
}

async function playlist(room, query = '') {
  const r = await get(hlsUrl(room) + query);
  return { ...r, pl: r.status === 200 ? parse(r.text) : null };
}

async function waitFor(fn, { ms = 20000, every = 200, what = 'condition' } = {}) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(every);
  }
}

const waitSegments = (room, n, query = '') => waitFor(async () => {
  const r = await playlist(room, query);
  return r.pl && r.pl.segments.length >= n ? r : null;
}, { ms: 30000, what: `${n} segments in ${room}` });

async function probePackets(file, stream = 'v:0') {
  const r = await run('ffprobe', ['-v', 'error', '-select_streams', stream, '-show_entries', 'packet=dts,pts,flags',
    '-of', 'csv=p=0', file]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim().split('\n').filter(Boolean).map((l) => {
    const [pts, dts, flags] = l.split(',');
    return { pts: Number(pts), dts: Number(dts), key: flags.startsWith('K') };
  });
}

function jpegSize(buf) {
  assert.equal(buf[0], 0xff);
  assert.equal(buf[1], 0xd8);
  for (let i = 2; i + 9 < buf.length;) {
    if (buf[i] !== 0xff) { i++; continue; }
    const m = buf[i + 1];
    if (m >= 0xc0 && m <= 0xc3) return { height: buf.readUInt16BE(i + 5), width: buf.readUInt16BE(i + 7) };
    i += 2 + buf.readUInt16BE(i + 2);
  }
  throw new Error('no SOF marker');
}

// The tracks of an init segment: tkhd width/height (16.16) and mdhd timescale, per trak.
function initTracks(buf) {
  const kids = (b, s, e) => {
    const out = [];
    for (let i = s; i + 8 <= e;) {
      const size = b.readUInt32BE(i);
      if (size < 8 || i + size > e) break;
      out.push({ type: b.toString('latin1', i + 4, i + 8), start: i + 8, end: i + size });
      i += size;
    }
    return out;
  };
  const moov = kids(buf, 0, buf.length).find((x) => x.type === 'moov');
  return kids(buf, moov.start, moov.end).filter((x) => x.type === 'trak').map((trak) => {
    const k = kids(buf, trak.start, trak.end);
    const tkhd = k.find((x) => x.type === 'tkhd');
    const v1 = buf[tkhd.start] === 1;
    const wOff = tkhd.start + (v1 ? 88 : 76);
    const mdia = k.find((x) => x.type === 'mdia');
    const mdhd = kids(buf, mdia.start, mdia.end).find((x) => x.type === 'mdhd');
    const m1 = buf[mdhd.start] === 1;
    return {
      width: buf.readUInt32BE(wOff) / 65536,
      height: buf.readUInt32BE(wOff + 4) / 65536,
      timescale: buf.readUInt32BE(mdhd.start + (m1 ? 20 : 12)),
    };
  });
}

async function rss() {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${srv.proc.pid}/status`, 'utf8'));
  return Number(m[1]) * 1024;
}

// Segments held in memfds (sent with sendfile): the server's open memfds.
const memfds = () => readdirSync(`/proc/${srv.proc.pid}/fd`).filter((f) => {
  try { return readlinkSync(`/proc/${srv.proc.pid}/fd/${f}`).startsWith('/memfd:hls-segment'); } catch { return false; }
}).length;

async function metricsText() {
  return (await get(`${srv.url}/metrics`)).text;
}

// ---- tests --------------------------------------------------------------------------------

test('the playlist appears with every LL-HLS tag, and media are served with their MIME, caching and CORS headers',
  { skip, timeout: 60000 }, async () => {
    const nope = await get(hlsUrl('nosuchroom'));
    assert.equal(nope.status, 404);
    assert.equal(nope.headers.get('access-control-allow-origin'), '*');

    await publish('live1', MEDIA.flv, { loop: true });
    const { pl, headers, text } = await waitSegments('live1', 2);
    assert.equal(headers.get('content-type'), 'application/vnd.apple.mpegurl');
    assert.equal(headers.get('cache-control'), 'max-age=1');
    assert.equal(headers.get('access-control-allow-origin'), '*');
    for (const tag of ['#EXTM3U', '#EXT-X-VERSION', '#EXT-X-TARGETDURATION', '#EXT-X-SERVER-CONTROL', '#EXT-X-PART-INF',
      '#EXT-X-MEDIA-SEQUENCE', '#EXT-X-MAP', '#EXT-X-PROGRAM-DATE-TIME', '#EXT-X-PART', '#EXTINF', '#EXT-X-PRELOAD-HINT'])
      assert.ok(pl.tags.has(tag), `${tag} missing in\n${text}`);
    assert.equal(pl.version, 6);
    assert.equal(pl.targetDuration, TD);
    assert.match(text, /#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=18\.0,PART-HOLD-BACK=0\.999\n/);
    assert.match(text, /#EXT-X-PART-INF:PART-TARGET=0\.333\n/);
    assert.equal(pl.endlist, false);
    for (const s of pl.segments) {
      assert.ok(s.dur >= 1.8 && s.dur <= TD + 0.5, `segment ${s.uri} lasts ${s.dur}`);
      if (s.parts.length) {
        assert.ok(s.parts[0].indep, 'a segment starts with an independent part');
        const sum = s.parts.reduce((a, p) => a + p.dur, 0);
        assert.ok(Math.abs(sum - s.dur) < 0.002, `parts sum ${sum} vs ${s.dur}`);
        for (const p of s.parts) assert.ok(p.dur <= 0.333 + 1e-9);
      }
    }
    // PROGRAM-DATE-TIME is the wall clock of the media: close to now for a real-time stream
    const lastPdt = pl.open?.pdt ?? pl.segments.at(-1).pdt;
    assert.ok(Math.abs(Date.now() - lastPdt) < 5000, `PDT ${new Date(lastPdt).toISOString()} is far from now`);

    const init = await get(hlsUrl('live1', 'init0.mp4'));
    assert.equal(init.status, 200);
    assert.equal(init.headers.get('content-type'), 'video/mp4');
    assert.equal(init.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal(init.headers.get('access-control-allow-origin'), '*');
    assert.equal(init.buf.subarray(4, 8).toString(), 'ftyp');
    const seg = await get(hlsUrl('live1', pl.segments.at(-1).uri));
    assert.equal(seg.status, 200);
    assert.equal(seg.headers.get('content-type'), 'video/mp4');
    assert.equal(seg.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.ok(['moof', 'styp'].includes(seg.buf.subarray(4, 8).toString()));
    const partUri = (pl.open ?? pl.segments.at(-1)).parts[0].uri;
    const part = await get(hlsUrl('live1', partUri));
    assert.equal(part.status, 200);
    assert.equal(part.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal((await get(hlsUrl('live1', 'seg999999.m4s'))).status, 404);
    assert.equal((await get(hlsUrl('live1', 'part1000000.m4s'))).status, 404);
    assert.equal((await get(hlsUrl('live1', 'init7.mp4'))).status, 404);
    assert.equal((await get(hlsUrl('live1', 'evil.txt'))).status, 404);
    assert.equal((await get(hlsUrl('live1', 'seg01.m4s'))).status, 404); // not a canonical name
    const bad = await get(hlsUrl('live1') + '?_HLS_msn=abc');
    assert.equal(bad.status, 400);
    assert.equal((await get(hlsUrl('live1') + '?_HLS_part=1')).status, 400); // _HLS_part alone
    const head = await fetch(hlsUrl('live1', 'init0.mp4'), { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(init.buf.length));
  });

test('ffprobe and ffmpeg read the live stream over HTTP with no errors', { skip, timeout: 90000 }, async () => {
  await waitSegments('live1', 3);
  const probe = await run('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,width,height,sample_rate',
    '-of', 'json', hlsUrl('live1')]);
  assert.equal(probe.code, 0, probe.stderr);
  assert.equal(probe.stderr.trim(), '', probe.stderr);
  const streams = JSON.parse(probe.stdout).streams;
  const v = streams.find((s) => s.codec_name === 'h264');
  const a = streams.find((s) => s.codec_name === 'aac');
  assert.ok(v && a, probe.stdout);
  assert.equal(v.width, 640);
  assert.equal(v.height, 360);
  assert.equal(a.sample_rate, '48000');
  // the brief's exact command line
  const plain = await run('ffprobe', ['-v', 'error', hlsUrl('live1')]);
  assert.equal(plain.code, 0);
  assert.equal(plain.stderr.trim(), '');
  // decode 6 s of the live stream (crosses segment boundaries and the file's loop point)
  const dec = await run('ffmpeg', ['-nostdin', '-v', 'error', '-i', hlsUrl('live1'), '-t', '6', '-f', 'null', '-'], { timeout: 60000 });
  assert.equal(dec.code, 0, dec.stderr);
  assert.equal(dec.stderr.trim(), '', dec.stderr);
});

test('every segment starts with a keyframe, DTS increase across segments, parts make up their segment',
  { skip, timeout: 60000 }, async () => {
    const { pl } = await waitSegments('live1', 4);
    const init = (await get(hlsUrl('live1', 'init0.mp4'))).buf;
    const segs = [];
    for (const s of pl.segments) {
      const r = await get(hlsUrl('live1', s.uri));
      assert.equal(r.status, 200, s.uri);
      segs.push(r.buf);
      const f = join(WORK, `one_${s.msn}.mp4`);
      writeFileSync(f, Buffer.concat([init, r.buf]));
      const pk = await probePackets(f);
      assert.ok(pk.length > 0, `no video in ${s.uri}`);
      assert.ok(pk[0].key, `${s.uri} starts with a non-keyframe`);
      if (s.parts.length) { // the parts listed for it are its bytes
        const parts = [];
        for (const p of s.parts) parts.push((await get(hlsUrl('live1', p.uri))).buf);
        assert.ok(Buffer.concat(parts).equals(r.buf), `parts of ${s.uri} differ from it`);
      }
      const head = await fetch(hlsUrl('live1', s.uri), { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get('content-length'), String(r.buf.length), `HEAD ${s.uri}`);
      assert.equal((await head.arrayBuffer()).byteLength, 0);
    }
    const all = join(WORK, 'all.mp4');
    writeFileSync(all, Buffer.concat([init, ...segs]));
    for (const st of ['v:0', 'a:0']) {
      const pk = await probePackets(all, st);
      for (let i = 1; i < pk.length; i++)
        assert.ok(pk[i].dts > pk[i - 1].dts, `${st} DTS ${pk[i - 1].dts} -> ${pk[i].dts} at packet ${i}`);
    }
  });

test('a blocking playlist request is held until the requested part exists, then answered with it',
  { skip, timeout: 60000 }, async () => {
    const { pl } = await playlist('live1');
    const msn = pl.nextMsn;
    const next = pl.open ? pl.open.parts.length : 0;
    const t0 = Date.now();
    const r = await playlist('live1', `?_HLS_msn=${msn}&_HLS_part=${next}`);
    const held = Date.now() - t0;
    assert.equal(r.status, 200);
    // the answer contains part `next` of segment `msn` (or a later segment: part index past the end)
    const seg = r.pl.open?.msn === msn ? r.pl.open : r.pl.segments.find((s) => s.msn === msn);
    assert.ok(seg && (seg.parts.length > next || r.pl.nextMsn > msn), r.text);
    assert.ok(held < 2000, `held ${held} ms for one part`);

    // two more parts ahead: held longer (about two part durations)
    const { pl: p2 } = await playlist('live1');
    const t1 = Date.now();
    const ahead = await playlist('live1', `?_HLS_msn=${p2.nextMsn}&_HLS_part=${(p2.open?.parts.length ?? 0) + 1}`);
    assert.equal(ahead.status, 200);
    assert.ok(Date.now() - t1 >= 150, `answered after ${Date.now() - t1} ms: not held`);

    // the preload-hinted part: held until its bytes exist, then 200 with them
    const { pl: p3 } = await playlist('live1');
    const t2 = Date.now();
    const part = await get(hlsUrl('live1', p3.hint));
    assert.equal(part.status, 200);
    assert.equal(part.headers.get('content-type'), 'video/mp4');
    assert.ok(part.buf.length > 100);
    assert.ok(Date.now() - t2 < 2000);
    const after = await playlist('live1');
    assert.ok(after.text.includes(`URI="${p3.hint}"`) && !after.pl.hint.endsWith(`"${p3.hint}"`));

    // delivery directives beyond the rules: 400 now (counted from the newest playlist, with a
    // margin of one segment that may close meanwhile on a slow machine)
    assert.equal((await playlist('live1', `?_HLS_msn=${after.pl.nextMsn + 3}`)).status, 400);
    assert.equal((await playlist('live1', `?_HLS_msn=${after.pl.nextMsn + 1}&_HLS_part=50`)).status, 400);
    // an old one: answered at once
    const old = await playlist('live1', `?_HLS_msn=${p3.nextMsn - 1}&_HLS_part=0`);
    assert.equal(old.status, 200);
    assert.ok(old.ms < 500);
  });

test('a blocked request waits three target durations for a stalled publisher, then gets 503',
  { skip, timeout: 60000 }, async () => {
    // 3 s of media pushed at once, then the stream stays open with nothing coming
    await publish('stall', MEDIA.flv, { realtime: false, holdOpen: true, maxMs: 3000 });
    const { pl } = await waitSegments('stall', 1);
    const stats = (await api(srv.url, 'GET', '/hls/stall/stats')).body;
    assert.equal(stats.live, true);
    const t0 = Date.now();
    const [blocked, part] = await Promise.all([
      playlist('stall', `?_HLS_msn=${pl.nextMsn}&_HLS_part=${pl.open ? pl.open.parts.length : 0}`),
      get(hlsUrl('stall', pl.hint)),
    ]);
    const ms = Date.now() - t0;
    assert.equal(blocked.status, 503);
    assert.equal(part.status, 503);
    assert.ok(ms >= TD * 3 * 1000 - 300 && ms < TD * 3 * 1000 + 3000, `503 after ${ms} ms`);
    assert.match(await metricsText(), /streamhub_hls_block_timeouts_total [1-9]/);
    await unpublish('stall');
  });

test('delta updates (_HLS_skip=YES) replace old segments with EXT-X-SKIP', { skip, timeout: 60000 }, async () => {
  // 40 s at once: 12 segments listed (window_segments), CAN-SKIP-UNTIL = 6 x 3 s
  await publish('delta', MEDIA.long, { realtime: false, holdOpen: true });
  const full = await waitFor(async () => {
    const r = await playlist('delta');
    return r.pl && r.pl.segments.length >= 12 ? r : null;
  }, { what: 'a full window' });
  const delta = await playlist('delta', '?_HLS_skip=YES');
  assert.equal(delta.status, 200);
  assert.equal(delta.pl.version, 9);
  assert.ok(delta.pl.skipped > 0, delta.text);
  assert.equal(delta.pl.mediaSequence, full.pl.mediaSequence);
  assert.equal(delta.pl.skipped + delta.pl.segments.length, full.pl.segments.length);
  // what follows EXT-X-SKIP is the tail of the full playlist, tag for tag
  const tail = full.pl.segments.slice(delta.pl.skipped).map((s) => s.uri);
  assert.deepEqual(delta.pl.segments.map((s) => s.uri), tail);
  // the skipped segments end more than CAN-SKIP-UNTIL before the end of the playlist
  const total = full.pl.segments.reduce((a, s) => a + s.dur, 0) + (full.pl.open?.parts.reduce((a, p) => a + p.dur, 0) ?? 0);
  const skippedDur = full.pl.segments.slice(0, delta.pl.skipped).reduce((a, s) => a + s.dur, 0);
  assert.ok(total - skippedDur > 6 * TD - 1e-6);
  assert.ok(full.text.length > delta.text.length);
  // window: 12 segments listed, MEDIA-SEQUENCE advanced past the dropped ones; old ones are 404
  assert.equal(full.pl.segments.length, 12);
  assert.ok(full.pl.mediaSequence >= 6);
  assert.equal((await get(hlsUrl('delta', 'seg0.m4s'))).status, 404);
  assert.equal((await get(hlsUrl('delta', 'part0.m4s'))).status, 404);
  await unpublish('delta');
  const ended = await playlist('delta', '?_HLS_skip=YES');
  assert.equal(ended.pl.skipped, 0, 'no delta once ended');
});

test('EXT-X-ENDLIST when the publisher stops: held requests are answered, the thumbnail stays',
  { skip, timeout: 60000 }, async () => {
    await publish('ending', MEDIA.flv, { loop: true });
    const { pl } = await waitSegments('ending', 2);
    const held = playlist('ending', `?_HLS_msn=${pl.nextMsn + 1}&_HLS_part=0`); // a few seconds ahead
    const heldPart = get(hlsUrl('ending', pl.hint.replace(/\d+/, (n) => String(Number(n) + 2))));
    await waitFor(async () => (await get(hlsUrl('ending', 'thumbnail.jpg'))).status === 200, { what: 'a thumbnail' });
    await sleep(200);
    await unpublish('ending');
    const h = await held;
    assert.equal(h.status, 200);
    assert.ok(h.pl.endlist, h.text);
    const hp = await heldPart;
    assert.ok([200, 404].includes(hp.status)); // produced before the end, or never
    const { pl: end, text } = await playlist('ending');
    assert.ok(end.endlist, text);
    assert.equal(end.hint, null);
    assert.ok(text.trimEnd().endsWith('#EXT-X-ENDLIST'));
    assert.equal(end.open, null);
    // the last segment is complete and served; nothing past it will come
    assert.equal((await get(hlsUrl('ending', end.segments.at(-1).uri))).status, 200);
    assert.equal((await get(hlsUrl('ending', `seg${end.nextMsn}.m4s`))).status, 404);
    const stats = (await api(srv.url, 'GET', '/hls/ending/stats')).body;
    assert.equal(stats.live, false);
    assert.equal(stats.ended, true);
    assert.ok(stats.endedAt > 0);
    const thumb = await get(hlsUrl('ending', 'thumbnail.jpg'));
    assert.equal(thumb.status, 200);
    assert.equal(thumb.headers.get('content-type'), 'image/jpeg');
  });

test('a publisher reconnecting within the grace period continues the playlist after EXT-X-DISCONTINUITY',
  { skip, timeout: 60000 }, async () => {
    const before = (await playlist('ending')).pl;
    assert.ok(before.endlist);
    await publish('ending', MEDIA.flv);
    const { pl, text } = await waitFor(async () => {
      const r = await playlist('ending');
      return r.pl && !r.pl.endlist && r.pl.segments.some((s) => s.disc) && r.pl.segments.length > before.segments.length ? r : null;
    }, { what: 'segments after the discontinuity' });
    assert.equal(pl.mediaSequence, before.mediaSequence, 'numbering continues');
    const i = pl.segments.findIndex((s) => s.disc);
    assert.equal(pl.segments[i].msn, before.nextMsn, 'the first new segment follows the last old one');
    assert.equal(pl.segments[i].map, 'init1.mp4', text);
    assert.ok(text.includes('#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI="init1.mp4"'));
    assert.equal((await get(hlsUrl('ending', 'init1.mp4'))).status, 200);
    assert.equal((await get(hlsUrl('ending', 'init0.mp4'))).status, 200); // still listed before it
    assert.ok(pl.segments[i].parts[0]?.indep ?? true);
    const stats = (await api(srv.url, 'GET', '/hls/ending/stats')).body;
    assert.equal(stats.streams, 2);
    assert.equal(stats.live, true);
    // both sessions decode back to back
    const dec = await run('ffmpeg', ['-nostdin', '-v', 'error', '-live_start_index', '0', '-i', hlsUrl('ending'), '-t', '3', '-f', 'null', '-']);
    assert.equal(dec.code, 0, dec.stderr);
    await unpublish('ending');
  });

test('the playlist, media, thumbnail and viewer gauge of a room go when its grace period ends',
  { skip, timeout: 60000 }, async () => {
    assert.equal((await playlist('ending')).status, 200);
    assert.match(await metricsText(), /streamhub_hls_viewers\{room="ending"\}/);
    await sleep(GRACE_MS + 600);
    assert.equal((await playlist('ending')).status, 404);
    assert.equal((await get(hlsUrl('ending', 'init0.mp4'))).status, 404);
    assert.equal((await get(hlsUrl('ending', 'thumbnail.jpg'))).status, 404);
    assert.equal((await api(srv.url, 'GET', '/hls/ending/stats')).status, 404);
    assert.doesNotMatch(await metricsText(), /streamhub_hls_viewers\{room="ending"\}/);
  });

test('the thumbnail is a JPEG of thumbnail_width with the source aspect ratio', { skip, timeout: 30000 }, async () => {
  const r = await waitFor(async () => {
    const t = await get(hlsUrl('live1', 'thumbnail.jpg'));
    return t.status === 200 ? t : null;
  }, { what: 'a thumbnail' });
  assert.equal(r.headers.get('content-type'), 'image/jpeg');
  assert.equal(r.headers.get('access-control-allow-origin'), '*');
  assert.match(r.headers.get('cache-control'), /max-age=\d$/);
  assert.deepEqual(jpegSize(r.buf), { width: 320, height: 180 });
  const stats = (await api(srv.url, 'GET', '/hls/live1/stats')).body;
  assert.equal(stats.thumbnail.width, 320);
  assert.equal(stats.thumbnail.height, 180);
  // refreshed every thumbnail_interval_ms (1 s here)
  await sleep(2200);
  const later = (await api(srv.url, 'GET', '/hls/live1/stats')).body;
  assert.ok(later.thumbnail.updatedAt > stats.thumbnail.updatedAt);
  const f = join(WORK, 'thumb.jpg');
  writeFileSync(f, r.buf);
  const p = await run('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,width,height', '-of', 'csv=p=0', f]);
  assert.equal(p.stdout.trim(), 'mjpeg,320,180');
});

test('playback sessions: distinct players (_sid, else address + User-Agent) on /stats and /metrics',
  { skip, timeout: 30000 }, async () => {
    await publish('viewers', MEDIA.flv, { loop: true });
    await waitSegments('viewers', 1);
    // waitSegments fetched as node's fetch (one session: 127.0.0.1 + its User-Agent)
    for (const q of ['?_sid=alpha', '?_sid=alpha', '?_sid=beta', '?_sid=beta&_HLS_skip=YES'])
      assert.equal((await playlist('viewers', q)).status, 200);
    for (const ua of ['player-x', 'player-y', 'player-x'])
      assert.equal((await get(hlsUrl('viewers'), { headers: { 'user-agent': ua } })).status, 200);
    await get(hlsUrl('viewers', 'init0.mp4'), { headers: { 'user-agent': 'media-only' } }); // not a playlist fetch
    const stats = (await api(srv.url, 'GET', '/hls/viewers/stats')).body;
    assert.equal(stats.viewers, 5, JSON.stringify(stats)); // node, alpha, beta, player-x, player-y
    assert.ok(stats.latestMsn >= 0);
    assert.ok(stats.latestPart >= 0);
    const m = await waitFor(async () => {
      const t = await metricsText();
      return /streamhub_hls_viewers\{room="viewers"\} 5\n/.test(t) ? t : null;
    }, { ms: 3000, what: 'the viewer gauge' });
    assert.match(m, /# TYPE streamhub_hls_viewers gauge/);
    await unpublish('viewers');
  });

test('HEVC is passed through without re-encoding (MP4 source, 1/15360 time base, B-frames)',
  { skip: skip || (!MEDIA.hevc && 'no libx265') || false, timeout: 60000 }, async (t) => {
    if (!MEDIA.hevc) return t.skip('no libx265');
    const pub = await publish('hevc', MEDIA.hevc, { loop: true, omitParams: true }); // size from the hvcC's SPS
    assert.equal(pub.tracks[0].codec, 'hevc');
    await waitSegments('hevc', 2);
    const init = await get(hlsUrl('hevc', 'init0.mp4'));
    assert.ok(init.buf.includes(Buffer.from('hvc1')) && init.buf.includes(Buffer.from('hvcC')));
    assert.deepEqual(initTracks(init.buf).map((t) => [t.width, t.height]), [[320, 240], [0, 0]]);
    const probe = await run('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,width,height', '-of', 'csv=p=0', hlsUrl('hevc')]);
    assert.equal(probe.code, 0, probe.stderr);
    assert.match(probe.stdout, /hevc,320,240/);
    const dec = await run('ffmpeg', ['-nostdin', '-v', 'error', '-i', hlsUrl('hevc'), '-t', '3', '-f', 'null', '-']);
    assert.equal(dec.code, 0, dec.stderr);
    assert.equal(dec.stderr.trim(), '');
    const thumb = await waitFor(async () => {
      const r = await get(hlsUrl('hevc', 'thumbnail.jpg'));
      return r.status === 200 ? r : null;
    }, { what: 'an HEVC thumbnail' });
    assert.deepEqual(jpegSize(thumb.buf), { width: 320, height: 240 });
    await unpublish('hevc');
  });

test('picture size, sample rate and channels missing from the track info are read from the extradata',
  { skip, timeout: 60000 }, async () => {
    await publish('noparams', MEDIA.flv, { loop: true, omitParams: true });
    await waitSegments('noparams', 2);
    const init = (await get(hlsUrl('noparams', 'init0.mp4'))).buf;
    // tkhd from the SPS, the audio timescale from the AudioSpecificConfig (48 kHz)
    assert.deepEqual(initTracks(init), [{ width: 640, height: 360, timescale: 90000 }, { width: 0, height: 0, timescale: 48000 }]);
    const f = join(WORK, 'np.mp4');
    writeFileSync(f, init);
    const probe = await run('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,width,height,sample_rate,channels',
      '-of', 'csv=p=0', f]);
    assert.match(probe.stdout, /h264,640,360/);
    assert.match(probe.stdout, /aac,48000,1/);
    const dec = await run('ffmpeg', ['-nostdin', '-v', 'error', '-i', hlsUrl('noparams'), '-t', '2', '-f', 'null', '-']);
    assert.equal(dec.code, 0, dec.stderr);
    await unpublish('noparams');
  });

test('audio-only and video-only streams are packaged too', { skip, timeout: 60000 }, async () => {
  await publish('audioonly', MEDIA.audio, { loop: true });
  await publish('videoonly', MEDIA.video, { loop: true });
  const a = (await waitSegments('audioonly', 2)).pl;
  for (const seg of a.segments) {
    assert.ok(seg.dur > 1.8 && seg.dur <= 2.0 + 1e-6, `audio segment ${seg.uri}: ${seg.dur} s`);
    assert.ok(seg.parts.every((p) => p.indep), 'every AAC part is independent');
  }
  const v = (await waitSegments('videoonly', 2)).pl;
  for (const seg of v.segments) assert.ok(seg.parts.length === 0 || seg.parts[0].indep);
  for (const [room, codec] of [['audioonly', 'aac'], ['videoonly', 'h264']]) {
    const probe = await run('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name', '-of', 'csv=p=0', hlsUrl(room)]);
    assert.equal(probe.code, 0, probe.stderr);
    assert.equal(probe.stderr.trim(), '');
    assert.deepEqual([...new Set(probe.stdout.trim().split('\n').filter(Boolean))], [codec]);
  }
  // no video: no thumbnail
  await sleep(1200);
  assert.equal((await get(hlsUrl('audioonly', 'thumbnail.jpg'))).status, 404);
  await unpublish('audioonly');
  await unpublish('videoonly');
});

test('a publisher whose timestamps start over gets a new segment after EXT-X-DISCONTINUITY', { skip, timeout: 60000 },
  async () => {
    await publish('tsreset', MEDIA.short, { loop: true, resetTimestamps: true });
    const { pl, text } = await waitFor(async () => {
      const r = await playlist('tsreset');
      return r.pl && r.pl.segments.some((s) => s.disc) && r.pl.segments.at(-1).disc !== true ? r : null;
    }, { ms: 20000, what: 'a discontinuity after the timestamps went back' });
    const i = pl.segments.findIndex((s) => s.disc);
    assert.equal(pl.segments[i].map, 'init1.mp4', text);
    assert.ok(pl.segments[i].parts.length === 0 || pl.segments[i].parts[0].indep);
    assert.equal((await get(hlsUrl('tsreset', 'init1.mp4'))).status, 200);
    const stats = (await api(srv.url, 'GET', '/hls/tsreset/stats')).body;
    assert.equal(stats.streams, 1, 'still the same stream');
    assert.equal(stats.droppedPackets, 0);
    await unpublish('tsreset');
  });

test('memory returns to its baseline after 20 streams come and go', { skip, timeout: 120000 }, async () => {
  for (const r of ['live1']) await unpublish(r).catch(() => {});
  // warm-up round: first-use allocations of libavformat/libavcodec, thread stacks, caches
  const warm = async (prefix, n) => {
    for (let i = 0; i < n; i += 5) {
      await Promise.all(Array.from({ length: Math.min(5, n - i) }, async (_, k) => {
        const room = `${prefix}${i + k}`;
        await publish(room, MEDIA.flv, { realtime: false });
        const r = await waitFor(async () => {
          const p = await playlist(room);
          return p.pl?.endlist ? p : null;
        }, { what: `${room} to end` });
        // read like a player: playlist, init, every segment and the listed parts
        await get(hlsUrl(room, 'init0.mp4'));
        for (const s of r.pl.segments) {
          await get(hlsUrl(room, s.uri));
          for (const p of s.parts) await get(hlsUrl(room, p.uri));
        }
        await get(hlsUrl(room, 'thumbnail.jpg'));
      }));
    }
  };
  const gauge = (text, name) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
  await warm('warm', 5);
  await sleep(GRACE_MS + 1000);
  const roomsBefore = gauge(await metricsText(), 'streamhub_hls_rooms');
  const fdsBefore = memfds();
  const base = await rss();
  await warm('mem', 20);
  const peak = await rss();
  assert.ok(memfds() > fdsBefore, 'segments are held in memfds (sent with sendfile)');
  await sleep(GRACE_MS + 1500);
  assert.equal(memfds(), fdsBefore, 'every segment memfd was closed with its room');
  const m = await metricsText();
  assert.equal(gauge(m, 'streamhub_hls_rooms'), roomsBefore, 'every room was freed');
  if (roomsBefore === 0) assert.equal(gauge(m, 'streamhub_hls_stored_bytes'), 0);
  assert.doesNotMatch(m, /streamhub_hls_viewers\{room="mem/);
  const end = await rss();
  const mb = (b) => (b / 1048576).toFixed(1);
  console.log(`# VmRSS baseline ${mb(base)} MB, with 20 streams ${mb(peak)} MB, after their grace ${mb(end)} MB`);
  if (!SANITIZED) assert.ok(end - base < 4 * 1048576, `RSS grew by ${mb(end - base)} MB`);
});

test('ffmpeg publishing over RTMP plays back over HLS', { skip: skip || (!existsSync(RTMP_SO) && 'plugins/rtmp is not built'), timeout: 120000 },
  async () => {
    // Its own server: the rtmp plugin checks stream keys through the auth plugin; without a rooms
    // plugin the room id is the username.
    const s2 = await startServer({
      plugins: [
        { name: 'auth', config: { jwt_secret: '${STREAMHUB_JWT_SECRET}', exempt_loopback: true, bcrypt_cost: 10 } },
        { name: 'rtmp', config: { port: 0, bind: '127.0.0.1' } },
        { name: 'hls', config: { grace_ms: 2000, thumbnail_interval_ms: 1000 } },
      ],
    });
    let pub;
    try {
      const port = Number(await waitFor(() => /listening on rtmp:\/\/[^:]+:(\d+)\//.exec(s2.logs())?.[1], { ms: 5000, what: 'the RTMP port' }));
      const user = `hls${Date.now().toString(36)}`;
      const reg = await api(s2.url, 'POST', '/api/auth/register', { body: { username: user, email: `${user}@example.com`, password: 'correct horse battery' } });
      assert.equal(reg.status, 201, JSON.stringify(reg.body));
      const key = await api(s2.url, 'GET', '/api/users/me/stream-key', { token: reg.body.token });
      assert.equal(key.status, 200, JSON.stringify(key.body));
      pub = spawn('ffmpeg', ['-nostdin', '-v', 'error', '-re', '-stream_loop', '-1', '-i', MEDIA.flv, '-c', 'copy',
        '-f', 'flv', `rtmp://127.0.0.1:${port}/live/${key.body.streamKey}`], { stdio: ['ignore', 'ignore', 'pipe'] });
      let pubErr = '';
      pub.stderr.on('data', (d) => { pubErr += d; });
      const url = `${s2.url}/hls/${user}/index.m3u8`;
      const first = await waitFor(async () => {
        const r = await get(url);
        return r.status === 200 && parse(r.text).segments.length >= 2 ? r : null;
      }, { ms: 30000, what: `an RTMP-fed playlist (publisher: ${pubErr})` });
      const pl = parse(first.text);
      for (const seg of pl.segments) assert.ok(seg.parts.length === 0 || seg.parts[0].indep);
      assert.ok(Math.abs(Date.now() - (pl.open?.pdt ?? pl.segments.at(-1).pdt)) < 5000);
      const probe = await run('ffprobe', ['-v', 'error', url]);
      assert.equal(probe.code, 0, probe.stderr);
      assert.equal(probe.stderr.trim(), '');
      const info = await run('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,width,height,sample_rate', '-of', 'csv=p=0', url]);
      assert.match(info.stdout, /h264,640,360/);
      assert.match(info.stdout, /aac,48000/);
      const dec = await run('ffmpeg', ['-nostdin', '-v', 'error', '-i', url, '-t', '4', '-f', 'null', '-']);
      assert.equal(dec.code, 0, dec.stderr);
      assert.equal(dec.stderr.trim(), '');
      // blocking reload on the RTMP-fed playlist
      const now = parse((await get(url)).text);
      const held = await get(`${url}?_HLS_msn=${now.nextMsn}&_HLS_part=${now.open ? now.open.parts.length : 0}`);
      assert.equal(held.status, 200);
      const thumb = await waitFor(async () => {
        const r = await get(`${s2.url}/hls/${user}/thumbnail.jpg`);
        return r.status === 200 ? r : null;
      }, { what: 'a thumbnail' });
      assert.deepEqual(jpegSize(thumb.buf), { width: 640, height: 360 });
      // the publisher leaves: ENDLIST
      pub.kill('SIGINT');
      await waitFor(async () => parse((await get(url)).text).endlist, { ms: 15000, what: 'EXT-X-ENDLIST after the publisher left' });
    } finally {
      pub?.kill('SIGKILL');
      await s2.stop();
    }
  });

test('the server stops cleanly with streams live and requests held (no leak or error under the sanitizers)',
  { skip, timeout: 60000 }, async () => {
    await publish('shutdown1', MEDIA.flv, { loop: true });
    await publish('shutdown2', MEDIA.flv, { realtime: false, holdOpen: true, maxMs: 3000 });
    const { pl } = await waitSegments('shutdown1', 1);
    await waitSegments('shutdown2', 1);
    const held = playlist('shutdown1', `?_HLS_msn=${pl.nextMsn + 1}&_HLS_part=0`);
    const s2 = (await playlist('shutdown2')).pl;
    const heldPart = get(hlsUrl('shutdown2', s2.hint));
    await sleep(300);
    const exit = srv.stop();
    const h = await held; // answered by the shutdown: the streams ended, ENDLIST
    assert.equal(h.status, 200);
    assert.ok(h.pl.endlist);
    const hp = await heldPart; // the samples held back at the stall become the final part at the end
    assert.equal(hp.status, 200);
    assert.equal(hp.headers.get('content-type'), 'video/mp4');
    const { code, signal } = await exit;
    const logs = srv.logs();
    assert.equal(signal, null, logs.slice(-3000));
    assert.equal(code, 0, logs.slice(-3000));
    assert.doesNotMatch(logs, /AddressSanitizer|LeakSanitizer|runtime error/);
  });
