// tests/e2e/hls_player.test.mjs - a live stream played by hls.js in real Chromium (Debian's
// /usr/bin/chromium driven by playwright-core; no browser is ever downloaded).
//
// The stream: the test-only filesrc plugin publishes a looping H.264 + AAC FLV at real-time pace.
// The page: a minimal <video> + hls.js (from tests/node_modules) served by a tiny static server
// on another port, so every HLS request is cross-origin and relies on the plugin's
// `Access-Control-Allow-Origin: *`. Checked: playback starts, currentTime advances at about real
// time, hls.js reports no fatal error and runs in low-latency mode (parts, blocking reload), the
// player's latency behind live is printed from EXT-X-PROGRAM-DATE-TIME (hls.playingDate) and
// from hls.js's own estimate (hls.latency), and the player counts as one playback session.
//
// Needs SH_TEST_PG / SH_TEST_REDIS_PORT (tools/test.sh), ffmpeg, `make test-plugins`, chromium.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, api, BUILD, ROOT } from '../lib/server.mjs';

const require = createRequire(import.meta.url);
const CHROMIUM = '/usr/bin/chromium';
const FILESRC = join(BUILD, 'test-plugins', 'filesrc.so');
let HLS_JS = null;
try { HLS_JS = require.resolve('hls.js/dist/hls.min.js', { paths: [join(ROOT, 'tests')] }); } catch { /* not installed */ }
const skip = !process.env.SH_TEST_PG ? 'no SH_TEST_PG (run through tools/test.sh)'
  : !existsSync(CHROMIUM) ? `${CHROMIUM} not installed`
  : !HLS_JS ? 'hls.js not installed (npm ci in tests/)'
  : spawnSync('ffmpeg', ['-version']).status !== 0 ? 'ffmpeg not installed'
  : !existsSync(FILESRC) ? `${FILESRC} missing (make test-plugins)` : false;

const WORK = mkdtempSync(join(tmpdir(), 'sh-hls-e2e-'));
const FLV = join(WORK, 'live.flv');
const ROOM = 'e2eroom';
let srv, web, browser;

const PAGE = `<!doctype html>
<meta charset="utf-8"><title>hls.js player</title>
<video id="v" muted autoplay playsinline style="width:640px"></video>
<script src="/hls.js"></script>
<script>
  window.errors = [];
  window.fatal = null;
  window.parts = 0;
  const q = new URLSearchParams(location.search);
  const src = q.get('src');
  const video = document.getElementById('v');
  if (!Hls.isSupported()) {
    window.fatal = 'hls.js: MediaSource is not supported';
  } else {
    // hls.js's own log, kept (last 400 lines) for the test to print when playback stalls
    window.hlsLog = [];
    const keep = (level) => (...a) => { window.hlsLog.push((performance.now() / 1000).toFixed(3) + ' ' + level + ' ' + a.join(' ')); if (window.hlsLog.length > 400) window.hlsLog.shift(); };
    const hls = new Hls({ lowLatencyMode: true, backBufferLength: 30, maxLiveSyncPlaybackRate: Number(q.get('rate') || 1),
      debug: { log: keep('log'), info: keep('info'), debug: () => {}, warn: keep('warn'), error: keep('error') } });
    hls.on(Hls.Events.ERROR, (e, d) => {
      window.errors.push(d.type + ':' + d.details + (d.fatal ? ':fatal' : ''));
      if (d.fatal) window.fatal = d.details;
    });
    hls.on(Hls.Events.FRAG_LOADED, (e, d) => { if (d.part) window.parts++; });
    hls.loadSource(src);
    hls.attachMedia(video);
    hls.on(Hls.Events.MANIFEST_PARSED, () => video.play().catch((err) => window.errors.push('play:' + err.message)));
    window.hls = hls;
  }
</script>`;

before(async () => {
  if (skip) return;
  const r = spawnSync('ffmpeg', ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i',
    'testsrc=size=640x360:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '10',
    '-c:v', 'libx264', '-preset', 'veryfast', '-g', '30', '-keyint_min', '30', '-sc_threshold', '0',
    '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-f', 'flv', FLV], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const js = readFileSync(HLS_JS);
  web = http.createServer((req, res) => {
    const path = req.url.split('?')[0];
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(PAGE);
    } else if (path === '/hls.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      res.end(js);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise((resolve) => web.listen(0, '127.0.0.1', resolve));
  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--autoplay-policy=no-user-gesture-required'],
  });
}, { timeout: 120000 });

after(async () => {
  await browser?.close();
  web?.close();
  await srv?.stop();
  rmSync(WORK, { recursive: true, force: true });
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const avg = (a) => a.reduce((x, y) => x + y, 0) / a.length;

// Starts a server with these hls settings, publishes, plays for 8 s in Chromium, checks, stops.
async function playAndMeasure(label, hlsConfig, { rate = 1 } = {}) {
  srv = await startServer({
    plugins: [{ name: 'hls', config: { grace_ms: 2000, ...hlsConfig } }, { name: 'filesrc', path: FILESRC }],
  });
  try {
    const pub = await api(srv.url, 'POST', '/api/test/filesrc', { body: { roomId: ROOM, path: FLV, loop: true } });
    assert.equal(pub.status, 201, JSON.stringify(pub.body));
    // let a couple of segments exist, as a viewer arriving on a running stream would find
    for (let i = 0; i < 100; i++) {
      const r = await fetch(`${srv.url}/hls/${ROOM}/index.m3u8`);
      if (r.status === 200 && ((await r.text()).match(/#EXTINF/g) || []).length >= 2) break;
      await sleep(100);
    }
    const watch = async (attempt) => {
      const page = await browser.newPage();
      const consoleErrors = [];
      page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
      page.on('pageerror', (e) => consoleErrors.push(String(e)));
      const badResponses = [];
      const reqLog = []; // media requests of the page: when each went out (s since the page opened)
      const tReq = Date.now();
      page.on('request', (rq) => { if (/\.m4s|\.mp4/.test(rq.url())) reqLog.push(`${((Date.now() - tReq) / 1000).toFixed(3)}s ${rq.url().replace(/^.*\//, '')}`); });
      page.on('response', (r) => { if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) badResponses.push(`${r.status()} ${r.url()}`); });
      const src = `${srv.url}/hls/${ROOM}/index.m3u8?_sid=e2e-player`;
      const webUrl = `http://127.0.0.1:${web.address().port}/?rate=${rate}&src=${encodeURIComponent(src)}`;
      assert.notEqual(new URL(webUrl).origin, new URL(srv.url).origin, 'the page is cross-origin');
      await page.goto(webUrl);

      // playback starts
      const t0 = Date.now();
      await page.waitForFunction(() => window.fatal || document.getElementById('v').currentTime > 0.5, null, { timeout: 30000 });
      const startupMs = Date.now() - t0;
      const first = await page.evaluate(() => ({ fatal: window.fatal, t: document.getElementById('v').currentTime }));
      assert.equal(first.fatal, null, `fatal hls.js error: ${first.fatal}`);

      // currentTime advances at about real time for 8 s; sample the latency meanwhile
      const samples = [];
      const wall0 = Date.now();
      for (let i = 0; i < 8; i++) {
        await sleep(1000);
        samples.push(await page.evaluate(() => {
          const v = document.getElementById('v');
          const h = window.hls;
          return {
            t: v.currentTime,
            paused: v.paused,
            latency: h.latency, // hls.js: live edge (playlist end + age) minus the playhead, s
            target: h.targetLatency,
            pdtLatency: h.playingDate ? (Date.now() - h.playingDate.getTime()) / 1000 : null, // from PROGRAM-DATE-TIME
            low: h.lowLatencyMode && !!h.levels[h.currentLevel >= 0 ? h.currentLevel : 0]?.details?.partList,
            canBlock: !!h.levels[0]?.details?.canBlockReload,
            buffered: v.buffered.length ? v.buffered.end(v.buffered.length - 1) - v.currentTime : 0,
            ranges: ((r) => Array.from({ length: r.length }, (_, i) => `${r.start(i).toFixed(3)}-${r.end(i).toFixed(3)}`).join(' '))(v.buffered),
          };
        }));
      }
      const wall = (Date.now() - wall0) / 1000;
      const last = samples.at(-1);
      const state = await page.evaluate(() => ({ fatal: window.fatal, errors: window.errors, parts: window.parts }));
      const advanced = last.t - first.t;
      const pdt = samples.map((x) => x.pdtLatency).filter((x) => x !== null);
      const tag = `[${label}${attempt > 1 ? ', attempt 2' : ''}]`;
      console.log(`# ${tag} hls.js ${await page.evaluate(() => Hls.version)} in Chromium ${await browser.version()}: started in ${startupMs} ms, ` +
        `currentTime +${advanced.toFixed(2)} s over ${wall.toFixed(2)} s wall, ${state.parts} parts loaded`);
      console.log(`# ${tag} latency behind live from EXT-X-PROGRAM-DATE-TIME (now - hls.playingDate): ` +
        `avg ${avg(pdt).toFixed(2)} s, min ${Math.min(...pdt).toFixed(2)} s, max ${Math.max(...pdt).toFixed(2)} s`);
      console.log(`# ${tag} hls.js latency estimate: ${last.latency?.toFixed(2)} s (target ${last.target?.toFixed(2)} s), ` +
        `forward buffer ${last.buffered.toFixed(2)} s; non-fatal errors: ${state.errors.length ? state.errors.join(', ') : 'none'}`);
      const stalled = advanced <= wall * 0.75 || !(avg(pdt) < 6);
      if (stalled) { // what the player did, for the record
        for (const x of samples) console.log(`# ${tag} t=${x.t.toFixed(3)} buffered ${x.ranges}`);
        console.log(`# ${tag} media requests: ${reqLog.join(', ')}`);
        const hlsLog = await page.evaluate(() => window.hlsLog);
        for (const x of hlsLog.filter((l) => /Loading main|Buffered main|REFRESHED|stall|Stall|hole|nudg|LL-Part/i.test(l)).slice(-60))
          console.log(`# ${tag} hls.js ${x}`);
      }
      await page.close();
      return { samples, wall, last, state, advanced, pdt, stalled, badResponses, consoleErrors };
    };

    // hls.js 1.7 was seen (only on a starved CPU: 2 cores shared with ffmpeg, the server and the
    // rest of a CI run) to stop loading at the last part of a segment: the playlist reload that
    // closes the segment arrives while the part before is still being appended, hls.js never
    // requests the last part, stalls until its gap controller skips the hole (6-9 s), and then
    // plays on at real time but as far behind live. The server answered every request in time
    // (the request log is printed). Such a run is printed and watched once more in a new page;
    // a stream the server broke stalls both times.
    let r = await watch(1);
    if (r.stalled) r = await watch(2);
    const { wall, last, state, advanced, pdt, badResponses, consoleErrors } = r;
    assert.equal(state.fatal, null, `fatal hls.js error: ${state.fatal} (${state.errors.join(', ')})`);
    assert.equal(last.paused, false);
    assert.ok(advanced > wall * 0.75, `playback advanced ${advanced.toFixed(2)} s in ${wall.toFixed(2)} s`);
    assert.ok(last.low, 'hls.js is not in low-latency mode (no parts in the playlist details)');
    assert.ok(last.canBlock, 'hls.js did not see CAN-BLOCK-RELOAD');
    assert.ok(state.parts > 0, 'hls.js loaded no partial segments');
    assert.ok(pdt.length > 0, 'hls.playingDate never set: EXT-X-PROGRAM-DATE-TIME missing?');
    assert.ok(avg(pdt) > 0 && avg(pdt) < 6, `latency ${avg(pdt).toFixed(2)} s behind live`);
    assert.deepEqual(badResponses, [], 'HTTP errors seen by the page');
    assert.deepEqual(consoleErrors.filter((e) => !/Failed to load resource/.test(e)), []);

    // the player is one playback session of the room
    const stats = await api(srv.url, 'GET', `/hls/${ROOM}/stats`);
    assert.equal(stats.body.viewers, 2, JSON.stringify(stats.body)); // the player's _sid + this test's polling fetch
    await api(srv.url, 'POST', '/api/test/filesrc/stop', { body: { roomId: ROOM } });
  } finally {
    await srv.stop();
    srv = null;
  }
}

test('hls.js in Chromium plays a live stream (default settings: 2 s segments, 333 ms parts); latency printed',
  { skip, timeout: 120000 }, () => playAndMeasure('defaults', {}));

test('hls.js in Chromium plays a live stream with tighter settings (1 s segments, 200 ms parts); latency printed',
  { skip, timeout: 120000 }, () => playAndMeasure('segment_ms=1000 part_ms=200', { segment_ms: 1000, part_ms: 200 }));
