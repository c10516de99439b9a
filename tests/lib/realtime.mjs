// tests/lib/realtime.mjs - helpers for the realtime (Engine.IO v4 / Socket.IO v5) suites:
// starting a server with the test-only sioconf plugin, waiting on events with deadlines, plain
// HTTP requests with any header (Origin included), a `ws` client that keeps every message, and a
// raw WebSocket client over net for frames no library would send (unmasked, RSV bits, bad UTF-8).
import http from 'node:http';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import WebSocket from 'ws';
import { io } from 'socket.io-client';
import { BUILD, startServer, uniq } from './server.mjs';

export const SIOCONF = { name: 'sioconf', path: join(BUILD, 'test-plugins', 'sioconf.so') };
export const PROTO = { ping_interval_ms: 300, ping_timeout_ms: 200, max_payload: 1000000 };

// A server with sioconf (plus `plugins`), its own Redis prefix unless given, realtime settings.
export function startRealtime({ plugins = [], realtime = {}, server = {}, redis = {}, ...rest } = {}) {
  return startServer({
    plugins: [...plugins, SIOCONF],
    realtime,
    server,
    redis: redis === false ? false : { prefix: `${uniq('t')}:`, ...redis },
    ...rest,
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Resolve with the arguments of the next `event` on an EventEmitter-like object, or reject.
export function once(em, event, ms = 5000, what = event) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => { em.off(event, on); reject(new Error(`timed out after ${ms} ms waiting for ${what}`)); }, ms);
    const on = (...args) => { clearTimeout(t); resolve(args); };
    em.once(event, on);
  });
}

export async function waitFor(pred, ms = 5000, what = 'condition') {
  const end = Date.now() + ms;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

// A socket.io-client socket, resolved once connected (rejects on connect_error).
export async function connect(url, opts = {}, ms = 5000) {
  const s = io(url, { reconnection: false, forceNew: true, timeout: ms, ...opts });
  await new Promise((resolve, reject) => {
    const t = setTimeout(() => { s.close(); reject(new Error(`no connect in ${ms} ms`)); }, ms);
    s.once('connect', () => { clearTimeout(t); resolve(); });
    s.once('connect_error', (e) => { clearTimeout(t); s.close(); reject(e); });
  });
  return s;
}

// Plain HTTP request: {status, headers, body (text)}.
export function request(url, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { data += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: data }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

export function eioUrl(base, query = '') {
  return `${base}/socket.io/?EIO=4&transport=polling${query}`;
}

// Polling handshake: the open packet's JSON, its raw text and the sid.
export async function pollingOpen(base, headers = {}) {
  const r = await request(eioUrl(base), { headers });
  if (r.status !== 200 || r.body[0] !== '0') throw new Error(`handshake failed: ${r.status} ${r.body}`);
  const open = JSON.parse(r.body.slice(1));
  return { sid: open.sid, open, raw: r.body.slice(1) };
}

// A `ws` client keeping every message (as text, or Buffer for binary) in order.
export class WsClient {
  constructor(base, { sid, autoPong = false, headers } = {}) {
    const q = sid ? `&sid=${encodeURIComponent(sid)}` : '';
    this.ws = new WebSocket(`${base.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket${q}`, { headers, maxPayload: 0 });
    this.messages = [];
    this.waiters = [];
    this.autoPong = autoPong;
    this.closeInfo = null;
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', resolve);
      this.ws.once('error', reject);
      this.ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
    this.ws.on('error', () => {});
    this.closed = new Promise((resolve) => {
      this.ws.once('close', (code, reason) => { this.closeInfo = { code, reason: reason.toString() }; resolve(this.closeInfo); this.wake(); });
    });
    this.ws.on('message', (data, isBinary) => {
      const m = isBinary ? Buffer.from(data) : data.toString();
      if (this.autoPong && m === '2') this.ws.send('3');
      this.messages.push(m);
      this.wake();
    });
  }
  wake() { for (const w of this.waiters.splice(0)) w(); }
  send(m) { this.ws.send(m); }
  // Wait for a message matching pred (from `from` on); returns its index and value.
  async next(pred = () => true, ms = 3000, from = 0) {
    const end = Date.now() + ms;
    for (;;) {
      for (let i = from; i < this.messages.length; i++) if (pred(this.messages[i])) return { i, m: this.messages[i] };
      if (this.closeInfo) throw new Error(`connection closed (${this.closeInfo.code}) before the expected message; got ${JSON.stringify(this.messages.map(String))}`);
      const left = end - Date.now();
      if (left <= 0) throw new Error(`no matching message in ${ms} ms; got ${JSON.stringify(this.messages.map(String))}`);
      await new Promise((r) => { const t = setTimeout(r, left); this.waiters.push(() => { clearTimeout(t); r(); }); });
    }
  }
  // Resolves with {code, reason} when closed, or null if still open after ms.
  async closedWithin(ms) {
    return Promise.race([this.closed, sleep(ms).then(() => null)]);
  }
  close() { try { this.ws.terminate(); } catch { /* already gone */ } }
}

// Open a WebSocket session (handshake read) and, unless connect is false, CONNECT to "/".
export async function wsSession(base, { autoPong = true, connectNsp = true } = {}) {
  const c = new WsClient(base, { autoPong });
  await c.opened;
  const { m } = await c.next((x) => typeof x === 'string' && x[0] === '0');
  c.open = JSON.parse(m.slice(1));
  if (connectNsp) {
    c.send('40');
    await c.next((x) => typeof x === 'string' && x.startsWith('40{'));
  }
  return c;
}

// ---- raw WebSocket over net -------------------------------------------------------------------
export function frame(opcode, payload, { mask = true, fin = true, rsv = 0, length } = {}) {
  const p = Buffer.from(payload);
  const len = length ?? p.length;
  let hdr;
  if (len < 126) hdr = Buffer.from([0, len]);
  else if (len < 65536) { hdr = Buffer.alloc(4); hdr[1] = 126; hdr.writeUInt16BE(len, 2); }
  else { hdr = Buffer.alloc(10); hdr[1] = 127; hdr.writeBigUInt64BE(BigInt(len), 2); }
  hdr[0] = (fin ? 0x80 : 0) | (rsv << 4) | opcode;
  if (!mask) return Buffer.concat([hdr, p]);
  hdr[1] |= 0x80;
  const key = randomBytes(4);
  const body = Buffer.from(p);
  for (let i = 0; i < body.length; i++) body[i] ^= key[i & 3];
  return Buffer.concat([hdr, key, body]);
}

// Connect, upgrade, and parse the server's (unmasked) frames: {sock, frames, next, closed}.
export async function rawWs(port, query = '') {
  const sock = net.connect(port, '127.0.0.1');
  await once(sock, 'connect');
  const key = randomBytes(16).toString('base64');
  sock.write(`GET /socket.io/?EIO=4&transport=websocket${query} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
    `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  const c = { sock, frames: [], head: null, ended: false, waiters: [] };
  let buf = Buffer.alloc(0);
  const wake = () => { for (const w of c.waiters.splice(0)) w(); };
  c.closed = new Promise((resolve) => sock.on('close', () => { c.ended = true; wake(); resolve(); }));
  sock.on('error', () => {});
  sock.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    if (!c.head) {
      const i = buf.indexOf('\r\n\r\n');
      if (i < 0) return;
      c.head = buf.subarray(0, i).toString();
      buf = buf.subarray(i + 4);
    }
    for (;;) {
      if (buf.length < 2) break;
      let len = buf[1] & 0x7f, off = 2;
      if (len === 126) { if (buf.length < 4) break; len = buf.readUInt16BE(2); off = 4; }
      else if (len === 127) { if (buf.length < 10) break; len = Number(buf.readBigUInt64BE(2)); off = 10; }
      if (buf.length < off + len) break;
      const f = { opcode: buf[0] & 0x0f, payload: buf.subarray(off, off + len) };
      if (f.opcode === 8) f.code = len >= 2 ? f.payload.readUInt16BE(0) : 1005;
      else f.text = f.payload.toString();
      c.frames.push(f);
      buf = buf.subarray(off + len);
    }
    wake();
  });
  c.next = async (pred, ms = 3000) => {
    const end = Date.now() + ms;
    for (;;) {
      const f = c.frames.find(pred);
      if (f) return f;
      if (c.ended) throw new Error(`connection ended; frames: ${JSON.stringify(c.frames.map((x) => x.text ?? `close ${x.code}`))}`);
      const left = end - Date.now();
      if (left <= 0) throw new Error(`no matching frame in ${ms} ms; head ${JSON.stringify(c.head)}; frames ${JSON.stringify(c.frames.map((x) => x.text ?? `close ${x.code}`))}`);
      await new Promise((r) => { const t = setTimeout(r, left); c.waiters.push(() => { clearTimeout(t); r(); }); });
    }
  };
  c.send = (b) => sock.write(b);
  c.destroy = () => sock.destroy();
  await c.next((f) => f.text && f.text[0] === '0');
  return c;
}

// Value of a gauge/counter on /metrics (sum over label sets), or null if absent.
export async function metric(base, name) {
  const r = await request(`${base}/metrics`);
  let found = null;
  for (const line of r.body.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/);
    if (m && m[1] === name) found = (found ?? 0) + Number(m[3]);
  }
  return found;
}

// `ulimit -n` of this process's children (the limit the server inherits).
export async function fdLimit() {
  const { execFileSync } = await import('node:child_process');
  const v = execFileSync('sh', ['-c', 'ulimit -n']).toString().trim();
  return v === 'unlimited' ? Infinity : Number(v);
}

// Stop a server and check how it went: no memory error or undefined behaviour reported by the
// sanitizers (SANITIZE=1 builds), no leak involving the realtime code, and otherwise exit 0. A
// leak elsewhere in the core is tolerated here (LeakSanitizer turns any leak into SIGABRT).
export async function stopChecked(srv) {
  if (!srv) return;
  const { code, signal } = await srv.stop();
  const logs = srv.logs();
  if (/ERROR: AddressSanitizer|runtime error:/.test(logs)) throw new Error(`memory error or UB in the server:\n${logs.slice(-8000)}`);
  const li = logs.indexOf('ERROR: LeakSanitizer');
  if (li >= 0) {
    const report = logs.slice(li);
    if (/core\/(eio_|sio_|ws_frame)|sioconf/.test(report)) throw new Error(`leak in the realtime code:\n${report.slice(0, 8000)}`);
    return;
  }
  if (code !== 0) throw new Error(`server exited with ${code ?? signal}:\n${logs.slice(-3000)}`);
}
