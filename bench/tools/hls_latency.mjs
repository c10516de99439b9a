// bench/tools/hls_latency.mjs - B5's probe (a measuring client, not a load generator): how soon
// what a publisher sends can be fetched over HLS, and how far a real player stays behind.
//
//   node hls_latency.mjs --playlist URL --pub-log FILE [--seconds 14] [--player-seconds 10]
//                        [--player-warmup 5] [--player-join 6] [--out FILE]
//
// The publisher (bench/tools/rtmp_pub, replaying the stamped test FLV) writes
// "PUB 0 start_wall_ms=T loop_ms=D" to FILE when its media timestamp 0 goes out, so a frame of
// timestamp ts was sent at T + ts. Started before the publisher, this probe:
//   1. polls the playlist every 20 ms: "first playlist" = the first 200 answer listing a part or a
//      segment, minus T;
//   2. for each part (EXT-X-PART) or segment (EXTINF) that newly appears in the playlist, fetches
//      it and reads the decode time of its first video sample (fMP4: tfdt of the video track, with
//      the timescale from the init section's mdhd; MPEG-TS: the first video PES's PTS / 90):
//      "fetchable after send" = the time it was first listed - (T + that timestamp), i.e. how long
//      after its first frame was sent the part (or segment) could be fetched; parts where the
//      playlist has them, else segments;
//   3. joins --player-join s after the publisher started (a viewer arriving on a running stream)
//      and plays the playlist in Chromium (Debian's /usr/bin/chromium driven by playwright-core) with
//      hls.js in low-latency mode, reads the frame number stamped in the picture (16 blocks,
//      bit 0 first, top left) every 250 ms and computes "player lag" = now - (T + k*D + ts(frame)).
// Prints one line: RESULT first_playlist_ms=.. part_p50_ms=.. part_p90_ms=.. parts=.. kind=parts|segments
//                  player_lag_p50_ms=.. player_lag_p90_ms=.. player_samples=..
import http from 'node:http';
import { createRequire } from 'node:module';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, '..', 'peers', 'package.json'));
const args = Object.fromEntries(process.argv.slice(2).reduce((a, v, i, all) => (v.startsWith('--') ? [...a, [v.slice(2), all[i + 1]]] : a), []));
const PLAYLIST = args.playlist;
const PUBLOG = args['pub-log'];
const SECONDS = Number(args.seconds || 14);
const PLAYER_SECONDS = Number(args['player-seconds'] || 10);
const PLAYER_WARMUP = Number(args['player-warmup'] || 5);
const CHROMIUM = '/usr/bin/chromium';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

function get(url, binary = false) {
  return new Promise((resolve) => {
    const req = http.get(url, { agent, timeout: 5000 }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const b = Buffer.concat(chunks);
        resolve({ status: res.statusCode, body: binary ? b : b.toString('utf8') });
      });
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve({ status: 0, body: binary ? Buffer.alloc(0) : '' }));
  });
}

let pub = null; // {t0, loop}
function readPub() {
  if (pub) return pub;
  if (!existsSync(PUBLOG)) return null;
  const m = readFileSync(PUBLOG, 'utf8').match(/PUB 0 start_wall_ms=(\d+) loop_ms=(\d+)/);
  if (m) pub = { t0: Number(m[1]), loop: Number(m[2]) };
  return pub;
}

// ---- media timestamps -------------------------------------------------------------------------
function boxes(buf, start = 0, end = buf.length) {
  const out = [];
  for (let o = start; o + 8 <= end;) {
    let size = buf.readUInt32BE(o);
    const type = buf.toString('latin1', o + 4, o + 8);
    let h = 8;
    if (size === 1) { size = Number(buf.readBigUInt64BE(o + 8)); h = 16; }
    if (size < h || o + size > end) break;
    out.push({ type, start: o + h, end: o + size });
    o += size;
  }
  return out;
}
const find = (buf, list, type) => list.find((b) => b.type === type);
let videoTrack = null; // {id, timescale}
function parseInit(buf) {
  const moov = find(buf, boxes(buf), 'moov');
  if (!moov) return;
  for (const trak of boxes(buf, moov.start, moov.end).filter((b) => b.type === 'trak')) {
    const kids = boxes(buf, trak.start, trak.end);
    const tkhd = find(buf, kids, 'tkhd');
    const mdia = find(buf, kids, 'mdia');
    if (!tkhd || !mdia) continue;
    const mk = boxes(buf, mdia.start, mdia.end);
    const hdlr = find(buf, mk, 'hdlr');
    const mdhd = find(buf, mk, 'mdhd');
    if (!hdlr || !mdhd || buf.toString('latin1', hdlr.start + 8, hdlr.start + 12) !== 'vide') continue;
    const v = buf[tkhd.start];
    const id = buf.readUInt32BE(tkhd.start + (v === 1 ? 20 : 12));
    const mv = buf[mdhd.start];
    const timescale = buf.readUInt32BE(mdhd.start + (mv === 1 ? 20 : 12));
    videoTrack = { id, timescale };
  }
}
function fmp4StartMs(buf) {
  if (!videoTrack) return null;
  for (const moof of boxes(buf).filter((b) => b.type === 'moof')) {
    for (const traf of boxes(buf, moof.start, moof.end).filter((b) => b.type === 'traf')) {
      const kids = boxes(buf, traf.start, traf.end);
      const tfhd = find(buf, kids, 'tfhd');
      const tfdt = find(buf, kids, 'tfdt');
      if (!tfhd || !tfdt || buf.readUInt32BE(tfhd.start + 4) !== videoTrack.id) continue;
      const t = buf[tfdt.start] === 1 ? Number(buf.readBigUInt64BE(tfdt.start + 4)) : buf.readUInt32BE(tfdt.start + 4);
      return (t * 1000) / videoTrack.timescale;
    }
  }
  return null;
}
function tsStartMs(buf) {
  for (let o = 0; o + 188 <= buf.length; o += 188) {
    if (buf[o] !== 0x47 || !(buf[o + 1] & 0x40)) continue;
    const afc = (buf[o + 3] >> 4) & 3;
    let p = o + 4;
    if (afc === 2) continue;
    if (afc === 3) p += 1 + buf[p];
    if (p + 14 > o + 188 || buf[p] !== 0 || buf[p + 1] !== 0 || buf[p + 2] !== 1) continue;
    const sid = buf[p + 3];
    if (sid < 0xe0 || sid > 0xef || !(buf[p + 7] & 0x80)) continue;
    const q = p + 9;
    const pts = (buf[q] & 0x0e) * 536870912 + buf[q + 1] * 4194304 + (buf[q + 2] >> 1) * 32768 + buf[q + 3] * 128 + (buf[q + 4] >> 1);
    return pts / 90;
  }
  return null;
}

// ---- 1 + 2: the playlist ---------------------------------------------------------------------
const base = PLAYLIST.replace(/[^/]*(\?.*)?$/, '');
const seen = new Set();
let firstPlaylistAt = null;
const partLat = [];
const segLat = [];
let hasParts = false;

async function fetchStart(uri, listedAt, isPart) {
  const r = await get(base + uri, true);
  if (r.status !== 200) return;
  const ms = uri.endsWith('.ts') ? tsStartMs(r.body) : fmp4StartMs(r.body);
  if (ms == null) return;
  (isPart ? partLat : segLat).push({ listedAt, ms });
}

async function pollPlaylist(untilMs) {
  while (Date.now() < untilMs) {
    const t = Date.now();
    const r = await get(PLAYLIST);
    const at = Date.now();
    if (r.status === 200) {
      const map = r.body.match(/#EXT-X-MAP:URI="([^"]+)"/);
      if (map && !videoTrack && !seen.has('map:' + map[1])) {
        seen.add('map:' + map[1]);
        const ir = await get(base + map[1], true);
        if (ir.status === 200) parseInit(ir.body);
      }
      const parts = [...r.body.matchAll(/#EXT-X-PART:[^\n]*URI="([^"]+)"/g)].map((m) => m[1]);
      const segs = r.body.split('\n').filter((l) => l && !l.startsWith('#'));
      if (parts.length) hasParts = true;
      if (firstPlaylistAt === null && (parts.length || segs.length)) firstPlaylistAt = at;
      const fresh = seen.size > 0 || parts.length + segs.length > 0;
      for (const u of parts) if (!seen.has(u)) { seen.add(u); if (fresh) fetchStart(u, at, true); }
      for (const u of segs) if (!seen.has(u)) { seen.add(u); fetchStart(u, at, false); }
    }
    const spent = Date.now() - t;
    if (spent < 20) await sleep(20 - spent);
  }
}

// ---- 3: the player -------------------------------------------------------------------------------
const PAGE = `<!doctype html><meta charset="utf-8"><video id="v" muted autoplay playsinline></video>
<canvas id="c" width="512" height="32" style="display:none"></canvas><script src="/hls.js"></script><script>
  window.fatal = null;
  const v = document.getElementById('v');
  const hls = new Hls({ lowLatencyMode: true, backBufferLength: 30 });
  hls.on(Hls.Events.ERROR, (e, d) => { if (d.fatal) window.fatal = d.details; });
  hls.loadSource(new URLSearchParams(location.search).get('src'));
  hls.attachMedia(v);
  hls.on(Hls.Events.MANIFEST_PARSED, () => v.play().catch(() => {}));
  const ctx = document.getElementById('c').getContext('2d', { willReadFrequently: true });
  window.sample = () => {
    if (v.readyState < 2 || v.paused) return null;
    ctx.drawImage(v, 0, 0, 512, 32, 0, 0, 512, 32);
    const d = ctx.getImageData(0, 0, 512, 32).data;
    let n = 0;
    for (let k = 0; k < 16; k++) if (d[(16 * 512 + 32 * k + 16) * 4] > 128) n |= 1 << k;
    return { frame: n, now: Date.now(), latency: hls.latency };
  };
</script>`;

async function player(startAt) {
  let hlsJs;
  let chromium;
  try {
    hlsJs = readFileSync(require.resolve('hls.js/dist/hls.min.js'));
    const pw = await import(require.resolve('playwright-core'));
    chromium = pw.chromium || pw.default?.chromium;
    if (!chromium) throw new Error('no chromium in playwright-core');
  } catch {
    return { error: 'hls.js / playwright-core not installed (bench/peers)' };
  }
  if (!existsSync(CHROMIUM)) return { error: `${CHROMIUM} not installed` };
  const web = http.createServer((req, res) => {
    if (req.url.startsWith('/hls.js')) { res.writeHead(200, { 'content-type': 'text/javascript' }); res.end(hlsJs); return; }
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(PAGE);
  });
  await new Promise((r) => web.listen(0, '127.0.0.1', r));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--autoplay-policy=no-user-gesture-required'],
  });
  const lags = [];
  let fatal = null;
  try {
    while (Date.now() < startAt) await sleep(50);
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${web.address().port}/?src=${encodeURIComponent(PLAYLIST)}`);
    const warmEnd = Date.now() + PLAYER_WARMUP * 1000;
    const end = warmEnd + PLAYER_SECONDS * 1000;
    while (Date.now() < end) {
      await sleep(250);
      const s = await page.evaluate(() => window.sample());
      fatal = await page.evaluate(() => window.fatal);
      if (fatal) break;
      const p = readPub();
      if (!s || !p || Date.now() < warmEnd) continue;
      const ts = Math.round((s.frame * 1000) / 30);
      let sent = p.t0 + ts;
      while (sent + p.loop <= s.now) sent += p.loop; // the loop the picture is from
      lags.push(s.now - sent);
    }
  } finally {
    await browser.close();
    web.close();
  }
  return { lags, fatal };
}

const q = (a, f) => {
  if (!a.length) return '';
  const s = [...a].sort((x, y) => x - y);
  return Math.round(s[Math.min(s.length - 1, Math.floor(f * s.length))]);
};

const t0 = Date.now();
const pl = pollPlaylist(t0 + SECONDS * 1000);
// the player joins as a viewer arriving on a running stream: --player-join seconds after the
// publisher started (default 6: three segments exist), and plays while the polling goes on
const JOIN = Number(args['player-join'] || 6) * 1000;
const pr = (async () => {
  while ((firstPlaylistAt === null || !readPub()) && Date.now() < t0 + SECONDS * 1000) await sleep(50);
  try {
    return await player(Math.max(Date.now(), (readPub()?.t0 || 0) + JOIN));
  } catch (e) {
    return { error: String(e.message || e).slice(0, 80) };
  }
})();
await pl;
const pres = await pr;
await sleep(300);
const p = readPub() || { t0: NaN };
// Media timestamps are the publisher's (ts 0 = the first frame), up to a constant some packagers
// add (nginx-rtmp's MPEG-TS carries PTS + 700 ms): the earliest start seen (the stream's first
// frame, as the probe started before the publisher) is taken as timestamp 0.
const all = [...partLat, ...segLat];
const zero = all.length ? Math.min(...all.map((x) => x.ms)) : 0;
const toLat = (l) => l.sort((a, b) => a.ms - b.ms).map((x) => x.listedAt - (p.t0 + x.ms - zero));
const lat = toLat(hasParts ? partLat : segLat);
const segOnly = toLat(segLat);
const trimmed = lat.slice(2); // the very first ones were cut before the probe was warm
const out = `RESULT first_playlist_ms=${firstPlaylistAt && p ? firstPlaylistAt - p.t0 : ''} part_p50_ms=${q(trimmed, 0.5)} `
  + `part_p90_ms=${q(trimmed, 0.9)} parts=${trimmed.length} kind=${hasParts ? 'parts' : 'segments'} `
  + `segment_p50_ms=${q(segOnly.slice(1), 0.5)} player_lag_p50_ms=${pres.lags ? q(pres.lags, 0.5) : ''} `
  + `player_lag_p90_ms=${pres.lags ? q(pres.lags, 0.9) : ''} player_samples=${pres.lags ? pres.lags.length : 0} `
  + `player_error=${(pres.error || pres.fatal || 'none').replace(/ /g, '_')}`;
console.log(out);
if (args.out) writeFileSync(args.out, out + '\n');
agent.destroy();
process.exit(0);
