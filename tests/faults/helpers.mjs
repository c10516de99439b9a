// tests/faults/helpers.mjs - shared by the fault suites (tests/faults/) and the security suites
// (tests/security/): the throwaway PostgreSQL and Redis that tools/test.sh lets tests stop and
// restart (SH_TEST_PG_DIR/SH_TEST_PG_PORT, SH_TEST_REDIS_DIR/SH_TEST_REDIS_PORT2), psql, accounts
// and rooms over the API, ffmpeg publishing over RTMP, HLS playlists, raw HTTP over net, and a
// check that a server stopped cleanly (no sanitizer report). Everything talks to loopback only.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUILD, JWT_SECRET, ROOT, api, uniq } from '../lib/server.mjs';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const SANITIZED = /build-san/.test(BUILD);
export const HAVE_FFMPEG = spawnSync('ffmpeg', ['-version']).status === 0;
export const built = (name) => existsSync(join(BUILD, 'plugins', `${name}.so`));
export const PSQL = ['/usr/lib/postgresql/15/bin/psql', '/usr/bin/psql'].find((p) => existsSync(p));

// The auth plugin as the suites need it (secret from the environment, cheap bcrypt, loopback exempt).
export const AUTH = { name: 'auth', config: { jwt_secret: '${STREAMHUB_JWT_SECRET}', bcrypt_cost: 10, exempt_loopback: true } };
export { JWT_SECRET };

// `p`, or `fallback` after `ms` (the timer is cleared, so nothing keeps the process alive).
export function within(p, ms, fallback = null) {
  let t;
  return Promise.race([p, new Promise((r) => { t = setTimeout(() => r(fallback), ms); })]).finally(() => clearTimeout(t));
}

export async function waitFor(fn, ms = 10000, what = 'condition', every = 50) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(every);
  }
}

// ---- services that a test may stop and restart --------------------------------------------------
const PG_SH = join(ROOT, 'tools/pg.sh');
const REDIS_SH = join(ROOT, 'tools/redis.sh');

export const throwawayPg = () => (process.env.SH_TEST_PG_DIR && process.env.SH_TEST_PG_PORT
  ? { dir: process.env.SH_TEST_PG_DIR, port: process.env.SH_TEST_PG_PORT } : null);
export const throwawayRedis = () => (process.env.SH_TEST_REDIS_DIR && process.env.SH_TEST_REDIS_PORT2
  ? { dir: process.env.SH_TEST_REDIS_DIR, port: Number(process.env.SH_TEST_REDIS_PORT2) } : null);

export function pgStart({ dir, port }) {
  return execFileSync(PG_SH, ['start', dir, String(port)], { encoding: 'utf8', env: { ...process.env, SH_PG_FAST: '1' } })
    .trim().split('\n').pop();
}
export function pgStop({ dir }) {
  try { execFileSync(PG_SH, ['stop', dir], { stdio: 'ignore' }); } catch { /* not running */ }
}
export function redisStart({ dir, port }) {
  execFileSync(REDIS_SH, ['start', dir, String(port)], { stdio: 'ignore' });
}
export function redisStop({ dir }) {
  try { execFileSync(REDIS_SH, ['stop', dir], { stdio: 'ignore' }); } catch { /* not running */ }
}

// Run SQL through psql (-At: unaligned tuples only); returns stdout.
export function psql(url, sql) {
  return execFileSync(PSQL, [url, '-v', 'ON_ERROR_STOP=1', '-At', '-c', sql], { encoding: 'utf8', timeout: 15000 });
}

// ---- accounts and rooms --------------------------------------------------------------------------
export async function register(base, prefix = 'u') {
  const username = uniq(prefix);
  const password = `pw-${Math.random().toString(36).slice(2)}-x`;
  const r = await api(base, 'POST', '/api/auth/register', { body: { username, email: `${username}@example.com`, password } });
  if (r.status !== 201) throw new Error(`register: ${r.status} ${JSON.stringify(r.body)}`);
  return { username, password, token: r.body.token, id: r.body.user.id };
}

export async function makeRoom(base, user, body = {}) {
  const r = await api(base, 'POST', '/api/rooms', { token: user.token, body: { title: `room of ${user.username}`, ...body } });
  if (r.status !== 201) throw new Error(`create room: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.room;
}

export async function streamKey(base, user) {
  const r = await api(base, 'GET', '/api/users/me/stream-key', { token: user.token });
  if (r.status !== 200) throw new Error(`stream key: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.streamKey;
}

// ---- RTMP publishing with ffmpeg ----------------------------------------------------------------
export function rtmpPort(srv) {
  const m = /rtmp: listening on rtmp:\/\/[^:]+:(\d+)\//.exec(srv.logs());
  return m ? Number(m[1]) : 0;
}

// A live test pattern (H.264 + AAC, 1 s GOP) pushed in real time for `seconds`.
export function publish(port, key, { seconds = 30, app = 'live' } = {}) {
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-re',
    '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100',
    '-t', String(seconds), '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '25',
    '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-f', 'flv', `rtmp://127.0.0.1:${port}/${app}/${key}`];
  const proc = spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const done = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal, stderr })));
  return { proc, done, kill: (sig = 'SIGKILL') => { try { proc.kill(sig); } catch { /* gone */ } } };
}

// ---- HLS ------------------------------------------------------------------------------------------
export async function playlist(base, room) {
  const res = await fetch(`${base}/hls/${room}/index.m3u8`);
  const text = await res.text();
  if (res.status !== 200) return { status: res.status, text, endlist: false, segments: 0, last: 0 };
  const segs = text.split('\n').filter((l) => l && !l.startsWith('#')).length;
  const seq = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text)?.[1] ?? 0);
  return { status: res.status, text, endlist: text.includes('#EXT-X-ENDLIST'), segments: segs, last: seq + segs };
}

// ---- raw HTTP --------------------------------------------------------------------------------------
// Send raw bytes (optionally spaced out), collect the answer until the server closes or `ms` passes.
export function rawHttp(port, chunks, { ms = 3000, gapMs = 0 } = {}) {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let out = '';
    let closed = false;
    const t0 = Date.now();
    sock.on('data', (d) => { out += d; });
    sock.on('close', () => { closed = true; resolve({ out, closed, ms: Date.now() - t0 }); });
    sock.on('error', () => {});
    (async () => {
      for (const c of chunks) {
        if (sock.destroyed) break;
        sock.write(c);
        if (gapMs) await sleep(gapMs);
      }
    })();
    setTimeout(() => { if (!closed) { sock.destroy(); resolve({ out, closed: false, ms: Date.now() - t0 }); } }, ms);
  });
}

// Resident memory of a process, bytes.
export function rss(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m[1]) * 1024;
}

// Stop a server and require a clean exit: status 0 and no sanitizer report (a LeakSanitizer
// report outside the code under test is tolerated, as tests/lib/realtime.mjs does).
export async function stopClean(srv, { allowLeak = true } = {}) {
  if (!srv) return null;
  const r = await srv.stop();
  const logs = srv.logs();
  if (/ERROR: AddressSanitizer|runtime error:/.test(logs)) throw new Error(`memory error or UB in the server:\n${logs.slice(-8000)}`);
  if (logs.includes('ERROR: LeakSanitizer')) {
    if (!allowLeak) throw new Error(`leak:\n${logs.slice(logs.indexOf('ERROR: LeakSanitizer'), 8000)}`);
    return r;
  }
  if (r.code !== 0) throw new Error(`server exited with ${r.code ?? r.signal}:\n${logs.slice(-3000)}`);
  return r;
}

// A scratch directory removed at exit.
const scratch = [];
process.on('exit', () => { for (const d of scratch) { try { rmSync(d, { recursive: true, force: true }); } catch { /* gone */ } } });
export function scratchDir(prefix = 'sh-sec-') {
  const d = mkdtempSync(join(tmpdir(), prefix));
  scratch.push(d);
  return d;
}
