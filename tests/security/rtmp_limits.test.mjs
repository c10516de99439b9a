// tests/security/rtmp_limits.test.mjs - RTMP ingest limits that tests/integration/rtmp.test.mjs
// does not reach (it covers the handshake timeout, C0, chunk sizes, one over-long declared
// message, unknown chunk streams, deep AMF0, strings past the buffer, bad stream names, wrong and
// duplicate keys, the pre-publish byte limit, garbage): (1) memory stays bounded when MANY
// connections each declare a large message (within max_message_bytes) and send almost none of it
// ("never allocate from a declared length before the bytes arrive"); (2) media validation: an
// avcC whose SPS carries an out-of-range scaling-list delta (the record that made the HLS param
// reader overflow, found by tests/fuzz/fuzz_hls_params.c) and a malformed AudioSpecificConfig are
// refused by the RTMP validator before any sink sees them, and the publisher's connection and
// the server carry on. A small raw RTMP client is written here.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { startServer } from '../lib/server.mjs';
import { AUTH, SANITIZED, built, register, rss, rtmpPort, sleep, stopClean, streamKey, waitFor } from '../faults/helpers.mjs';

const SKIP = !process.env.SH_TEST_PG ? 'needs SH_TEST_PG' : !built('auth') || !built('rtmp') ? 'needs the auth and rtmp plugins' : false;

// ---- a minimal RTMP client ---------------------------------------------------------------------
function amf(values) {
  const out = [];
  const str = (s) => { const b = Buffer.from(s); const h = Buffer.alloc(2); h.writeUInt16BE(b.length); return Buffer.concat([h, b]); };
  const enc = (v) => {
    if (v === null) out.push(Buffer.from([5]));
    else if (typeof v === 'number') { const b = Buffer.alloc(9); b[0] = 0; b.writeDoubleBE(v, 1); out.push(b); }
    else if (typeof v === 'string') out.push(Buffer.from([2]), str(v));
    else if (typeof v === 'object') {
      out.push(Buffer.from([3]));
      for (const [k, x] of Object.entries(v)) { out.push(str(k)); enc(x); }
      out.push(Buffer.from([0, 0, 9]));
    }
  };
  values.forEach(enc);
  return Buffer.concat(out);
}

// Chunks of one message (fmt 0 then fmt 3), chunk size 128.
function chunks(csid, type, msid, payload, declared = payload.length) {
  const out = [];
  for (let off = 0; off < payload.length || off === 0; off += 128) {
    if (off === 0) {
      const h = Buffer.alloc(12);
      h[0] = csid;
      h.writeUIntBE(0, 1, 3);
      h.writeUIntBE(declared, 4, 3);
      h[7] = type;
      h.writeUInt32LE(msid, 8);
      out.push(h);
    } else out.push(Buffer.from([0xc0 | csid]));
    out.push(payload.subarray(off, off + 128));
    if (payload.length === 0) break;
  }
  return Buffer.concat(out);
}

class Raw {
  constructor(port) {
    this.sock = net.connect(port, '127.0.0.1');
    this.sock.on('error', () => {});
    this.data = Buffer.alloc(0);
    this.closed = false;
    this.sock.on('data', (d) => { this.data = Buffer.concat([this.data, d]); });
    this.sock.on('close', () => { this.closed = true; });
    this.ready = new Promise((r, j) => { this.sock.once('connect', r); this.sock.once('error', j); });
  }
  write(b) { if (!this.sock.destroyed) this.sock.write(b); }
  async handshake() {
    await this.ready;
    this.write(Buffer.concat([Buffer.from([3]), Buffer.alloc(1536)]));
    await waitFor(() => this.data.length >= 3073 || this.closed, 5000, 'S0 S1 S2');
    const s1 = this.data.subarray(1, 1537);
    this.data = this.data.subarray(3073);
    this.write(s1);
  }
  cmd(csid, msid, values) { this.write(chunks(csid, 20, msid, amf(values))); }
  // true once `text` appears in what the server sent (AMF strings are plain bytes)
  saw(text, ms = 5000) { return waitFor(() => this.data.includes(Buffer.from(text)) || this.closed, ms, text).then(() => this.data.includes(Buffer.from(text))); }
  destroy() { this.sock.destroy(); }
}

// ---- tests ---------------------------------------------------------------------------------------
describe('RTMP limits', { skip: SKIP }, () => {
  let srv, port;
  before(async () => {
    srv = await startServer({
      plugins: [AUTH, { name: 'rtmp', config: { port: 0, bind: '127.0.0.1', max_connections: 1000, max_message_bytes: 8388608,
        idle_timeout_ms: 20000, handshake_timeout_ms: 5000, publish_timeout_ms: 20000, auth_fail_limit: 0 } }],
      server: { access_log: false },
    });
    port = await waitFor(() => rtmpPort(srv), 5000, 'the RTMP port');
  });
  after(() => stopClean(srv));

  test('rtmp_many_connections_declaring_8_mib_messages_do_not_make_the_server_allocate_them', { timeout: 60000 }, async () => {
    const N = 150;
    const base = rss(srv.proc.pid);
    const conns = [];
    try {
      for (let i = 0; i < N; i++) {
        const c = new Raw(port);
        await c.handshake();
        // a video message declared 8,000,000 bytes long, of which 100 arrive
        c.write(chunks(6, 9, 1, randomBytes(100), 8000000).subarray(0, 12 + 100));
        conns.push(c);
      }
      await sleep(500);
      const open = conns.filter((c) => !c.closed).length;
      const grew = rss(srv.proc.pid) - base;
      console.log(`# ${N} connections each declared 8 MB and sent 100 bytes: ${open} still open, RSS grew ${(grew / 1048576).toFixed(1)} MB`);
      assert.ok(open > N / 2, `the connections were held open, waiting for the bytes (${open} of ${N}): the test measures something`);
      if (!SANITIZED) assert.ok(grew < 48 * 1048576, `memory does not follow the declared lengths (${(grew / 1048576).toFixed(1)} MB for ${N} x 8 MB declared)`);
      assert.equal((await fetch(`${srv.url}/health`)).status, 200);
    } finally {
      conns.forEach((c) => c.destroy());
    }
  });

  test('rtmp_invalid_avcc_and_audio_specific_config_are_refused_before_any_sink', { timeout: 60000 }, async () => {
    const u = await register(srv.url, 'm');
    const key = await streamKey(srv.url, u);
    const c = new Raw(port);
    try {
      await c.handshake();
      c.cmd(3, 0, ['connect', 1, { app: 'live', type: 'nonprivate', tcUrl: `rtmp://127.0.0.1:${port}/live` }]);
      assert.ok(await c.saw('NetConnection.Connect.Success'), 'connected');
      c.cmd(3, 0, ['createStream', 2, null]);
      await sleep(200);
      c.cmd(8, 1, ['publish', 3, null, key, 'live']);
      assert.ok(await c.saw('NetStream.Publish.Start'), 'publishing');
      // H.264 sequence header: an avcC whose SPS has a scaling-list delta of 2^31 - 1
      const sps = Buffer.from('6764001fad80000000fffffffeffff', 'hex');
      const avcc = Buffer.concat([Buffer.from([1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, sps.length]), sps, Buffer.from([1, 0, 2, 0x68, 0xce])]);
      c.write(chunks(6, 9, 1, Buffer.concat([Buffer.from([0x17, 0, 0, 0, 0]), avcc])));
      // AAC sequence header with sampling index 13 (reserved) and object type 0
      c.write(chunks(4, 8, 1, Buffer.from([0xaf, 0x00, 0x06, 0x88])));
      await waitFor(() => /invalid AVC sequence header \(avcC\): dropped/.test(srv.logs()), 5000, 'the avcC refusal');
      await waitFor(() => /invalid AudioSpecificConfig: dropped/.test(srv.logs()), 5000, 'the ASC refusal');
      await sleep(200);
      assert.equal(c.closed, false, 'a bad record is dropped, the publisher is not cut off for it');
      assert.equal((await fetch(`${srv.url}/health`)).status, 200);
      const m = /rtmp_dropped_packets_total(?:\{[^}]*\})? (\d+)/.exec(await (await fetch(`${srv.url}/metrics`)).text());
      assert.ok(m && Number(m[1]) >= 2, `the drops are counted (${m?.[0]})`);
    } finally {
      c.destroy();
    }
  });
});
