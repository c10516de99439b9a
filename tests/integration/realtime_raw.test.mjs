// realtime_raw.test.mjs - the Engine.IO v4 / Socket.IO v5 / RFC 6455 cases socket.io-client never
// produces, sent by hand (plain HTTP, the `ws` package, and raw frames over net) against the
// test-only sioconf plugin with ping_interval_ms 300, ping_timeout_ms 200, max_payload 1000000.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  PROTO, WsClient, connect, eioUrl, frame, metric, once, pollingOpen, rawWs, request, sleep, startRealtime, stopChecked,
  waitFor, wsSession,
} from '../lib/realtime.mjs';

const json = (r) => JSON.parse(r.body);

describe('realtime raw protocol (ping 300/200, max_payload 1000000)', () => {
  let srv;
  const open = [];
  const track = (c) => { open.push(c); return c; };
  before(async () => { srv = await startRealtime({ realtime: PROTO }); });
  after(async () => {
    for (const c of open) (c.close ?? c.destroy).call(c);
    await stopChecked(srv);
  });

  test('handshake: the open packet holds exactly sid, upgrades, pingInterval, pingTimeout, maxPayload in that order', async () => {
    const r = await request(eioUrl(srv.url));
    assert.equal(r.status, 200);
    assert.match(r.headers['content-type'], /^text\/plain/);
    assert.equal(r.body[0], '0', 'an open packet');
    const o = JSON.parse(r.body.slice(1));
    assert.deepEqual(Object.keys(o), ['sid', 'upgrades', 'pingInterval', 'pingTimeout', 'maxPayload']);
    assert.equal(typeof o.sid, 'string');
    assert.ok(o.sid.length >= 16);
    assert.deepEqual(o.upgrades, ['websocket']);
    assert.equal(o.pingInterval, 300);
    assert.equal(o.pingTimeout, 200);
    assert.equal(o.maxPayload, 1000000);
    // straight on WebSocket: same keys, nothing to upgrade to
    const c = track(new WsClient(srv.url));
    await c.opened;
    const { m } = await c.next((x) => x[0] === '0');
    const w = JSON.parse(m.slice(1));
    assert.deepEqual(Object.keys(w), ['sid', 'upgrades', 'pingInterval', 'pingTimeout', 'maxPayload']);
    assert.deepEqual(w.upgrades, []);
    assert.notEqual(w.sid, o.sid);
  });

  test('an unsupported or missing EIO version is refused with 400 and code 5', async () => {
    for (const q of ['?EIO=3&transport=polling', '?EIO=5&transport=polling', '?transport=polling', '?EIO=3&transport=websocket']) {
      const r = await request(`${srv.url}/socket.io/${q}`);
      assert.equal(r.status, 400, q);
      assert.equal(json(r).code, 5, q);
      assert.equal(typeof json(r).message, 'string');
    }
  });

  test('an unknown or missing transport is refused with 400 and code 0', async () => {
    for (const q of ['?EIO=4&transport=flashsocket', '?EIO=4&transport=', '?EIO=4']) {
      const r = await request(`${srv.url}/socket.io/${q}`);
      assert.equal(r.status, 400, q);
      assert.equal(json(r).code, 0, q);
    }
  });

  test('an unknown sid is refused with 400 and code 1 (GET, POST and WebSocket)', async () => {
    const get = await request(eioUrl(srv.url, '&sid=nosuchsession'));
    assert.equal(get.status, 400);
    assert.equal(json(get).code, 1);
    const post = await request(eioUrl(srv.url, '&sid=nosuchsession'), { method: 'POST', body: '40' });
    assert.equal(post.status, 400);
    assert.equal(json(post).code, 1);
    const ws = await request(`${srv.url}/socket.io/?EIO=4&transport=websocket&sid=nosuchsession`, {
      headers: { Upgrade: 'websocket', Connection: 'Upgrade', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' },
    });
    assert.equal(ws.status, 400);
    assert.equal(json(ws).code, 1);
  });

  test('overlapping polling GETs: the second gets 400 and the session is closed', async () => {
    const { sid } = await pollingOpen(srv.url);
    const first = request(eioUrl(srv.url, `&sid=${sid}`));
    await sleep(30); // the first GET is now pending on the server
    const second = await request(eioUrl(srv.url, `&sid=${sid}`));
    assert.equal(second.status, 400);
    const r1 = await first;
    assert.equal(r1.status, 200);
    assert.equal(r1.body, '1', 'the pending GET learns the session closed');
    const later = await request(eioUrl(srv.url, `&sid=${sid}`));
    assert.equal(later.status, 400);
    assert.equal(json(later).code, 1);
  });

  test('upgrade: the probe releases the pending GET with a noop, and the upgraded sid can no longer poll', async () => {
    const { sid } = await pollingOpen(srv.url);
    const post = await request(eioUrl(srv.url, `&sid=${sid}`), { method: 'POST', body: '40' });
    assert.equal(post.status, 200);
    const connected = await request(eioUrl(srv.url, `&sid=${sid}`));
    assert.match(connected.body, /^40\{"sid":"[^"]+"\}/);
    const pending = request(eioUrl(srv.url, `&sid=${sid}`));
    await sleep(20);
    const c = track(new WsClient(srv.url, { sid, autoPong: true }));
    await c.opened;
    c.send('2probe');
    await c.next((m) => m === '3probe');
    // the client sends "5" only once its poll returned: the server ends that poll at the probe
    const released = await pending;
    assert.equal(released.status, 200);
    assert.equal(released.body, '6');
    // a poll made while the probe is under way is not held either
    const during = await request(eioUrl(srv.url, `&sid=${sid}`));
    assert.equal(during.body, '6');
    c.send('5');
    // the session now lives on the WebSocket
    c.send('42["message","over ws"]');
    await c.next((m) => m === '42["message-back","over ws"]');
    const get = await request(eioUrl(srv.url, `&sid=${sid}`));
    assert.equal(get.status, 400);
    const p = await request(eioUrl(srv.url, `&sid=${sid}`), { method: 'POST', body: '42["message","x"]' });
    assert.equal(p.status, 400);
    // a second upgrade of the same sid is refused too
    const again = new WsClient(srv.url, { sid });
    await assert.rejects(again.opened, /HTTP 400/);
    again.close();
    assert.equal(await c.closedWithin(100), null, 'the upgraded session is unaffected');
  });

  test('WebSocket: an unmasked client frame closes the connection with 1002', async () => {
    const c = track(await rawWs(srv.port));
    c.send(frame(1, '40', { mask: false }));
    const f = await c.next((x) => x.opcode === 8);
    assert.equal(f.code, 1002);
    await Promise.race([c.closed, sleep(2000).then(() => assert.fail('TCP connection not closed'))]);
  });

  test('WebSocket: a frame with an RSV bit set closes the connection with 1002', async () => {
    const c = track(await rawWs(srv.port));
    c.send(frame(1, '40', { rsv: 4 }));
    const f = await c.next((x) => x.opcode === 8);
    assert.equal(f.code, 1002);
    await Promise.race([c.closed, sleep(2000).then(() => assert.fail('TCP connection not closed'))]);
  });

  test('WebSocket: invalid UTF-8 in a text message closes the connection with 1007', async () => {
    const c = track(await rawWs(srv.port));
    c.send(frame(1, Buffer.from([0x34, 0x32, 0xc3, 0x28])));
    const f = await c.next((x) => x.opcode === 8);
    assert.equal(f.code, 1007);
    await Promise.race([c.closed, sleep(2000).then(() => assert.fail('TCP connection not closed'))]);
  });

  test('WebSocket: a fragmented message with a ping between its fragments is reassembled; the ping gets a pong', async () => {
    const c = track(await rawWs(srv.port));
    c.send(frame(1, '40'));
    await c.next((f) => f.text && f.text.startsWith('40{'));
    c.send(Buffer.concat([
      frame(1, '42["message","frag', { fin: false }),
      frame(9, 'are you there'),
      frame(0, 'mented ✓', { fin: false }),
      frame(0, '"]'),
    ]));
    const pong = await c.next((f) => f.opcode === 10);
    assert.equal(pong.text, 'are you there');
    await c.next((f) => f.text === '42["message-back","fragmented ✓"]');
  });

  test('WebSocket: a client close frame is answered with a close frame and the session ends', async () => {
    const c = track(await rawWs(srv.port));
    const sid = JSON.parse(c.frames[0].text.slice(1)).sid;
    c.send(frame(8, Buffer.from([0x03, 0xe8])));
    const f = await c.next((x) => x.opcode === 8);
    assert.equal(f.code, 1000);
    await Promise.race([c.closed, sleep(2000).then(() => assert.fail('TCP connection not closed'))]);
    const r = await request(eioUrl(srv.url, `&sid=${sid}`));
    assert.equal(json(r).code, 1, 'the session is gone');
  });

  test('packets_per_second: a client sending faster than the limit (beyond a burst of twice it) is disconnected', async () => {
    const c = track(await wsSession(srv.url));
    for (let i = 0; i < 150; i++) c.send(`42["message",${i}]`);
    const info = await c.closedWithin(2000);
    assert.ok(info, 'disconnected');
    const echoes = c.messages.filter((m) => m.startsWith('42["message-back"')).length;
    assert.ok(echoes >= 90 && echoes < 150, `the burst allowance was served first (${echoes} echoes)`);
    assert.equal(c.messages.at(-1), '1', 'then an Engine.IO close packet');
    assert.equal(info.code, 1000, 'and a close frame the client could read although it was still sending');
  });

  test('WebSocket: a message of exactly max_payload bytes is accepted; one byte more closes with 1009', async () => {
    const ok = track(await wsSession(srv.url));
    const head = '42["message","', tail = '"]';
    const big = head + 'a'.repeat(1000000 - head.length - tail.length) + tail;
    assert.equal(Buffer.byteLength(big), 1000000);
    ok.send(big);
    await ok.next((m) => typeof m === 'string' && m.startsWith('42["message-back","aaa'), 5000);
    const c = track(await wsSession(srv.url));
    c.send('4' + 'a'.repeat(1000000));
    const info = await c.closedWithin(3000);
    assert.ok(info, 'closed');
    assert.equal(info.code, 1009);
  });

  for (const [name, pkt] of [["'4abc' (not a Socket.IO packet)", '4abc'], ["'42{}' (an event that is not an array)", '42{}']]) {
    test(`Socket.IO: ${name} closes the connection`, async () => {
      const c = track(await wsSession(srv.url)); // answers pings: only the bad packet can close it
      c.send(pkt);
      const info = await c.closedWithin(1000);
      assert.ok(info, 'closed within 1 s');
      assert.ok(c.messages.includes('1'), 'an Engine.IO close packet came first');
    });
  }

  test('polling: a POST with a bad body gets 400 and the session is closed', async () => {
    for (const body of ['x', '', '4abc\x1ez', 'b!!!!']) {
      const { sid } = await pollingOpen(srv.url);
      const r = await request(eioUrl(srv.url, `&sid=${sid}`), { method: 'POST', body });
      assert.equal(r.status, 400, JSON.stringify(body));
      const later = await request(eioUrl(srv.url, `&sid=${sid}`));
      assert.equal(later.status, 400, `session gone after ${JSON.stringify(body)}`);
      assert.equal(json(later).code, 1);
    }
  });

  test('heartbeat: a WebSocket client that never answers pings is dropped after pingInterval + pingTimeout', async () => {
    const c = track(await wsSession(srv.url, { autoPong: false }));
    const t0 = Date.now();
    await c.next((m) => m === '2', 1000); // the server pings after pingInterval
    const info = await c.closedWithin(2000);
    assert.ok(info, 'dropped');
    const took = Date.now() - t0;
    assert.ok(took >= 350 && took < 1500, `dropped after ${took} ms (expected ~500)`);
  });

  test('heartbeat: a polling client that never polls again is dropped', async () => {
    const { sid } = await pollingOpen(srv.url);
    await sleep(900);
    const r = await request(eioUrl(srv.url, `&sid=${sid}`));
    assert.equal(r.status, 400);
    assert.equal(json(r).code, 1);
  });

  test('heartbeat: a client answering pings stays connected across several intervals', async () => {
    const c = track(await wsSession(srv.url, { autoPong: true }));
    await sleep(1600);
    assert.equal(c.closeInfo, null, 'still open');
    assert.ok(c.messages.filter((m) => m === '2').length >= 3, 'pinged at every interval');
    c.send('42["message","still here"]');
    await c.next((m) => m === '42["message-back","still here"]');
  });
});

describe('realtime limits with their own settings', () => {
  test('CONNECT deadline: a session that never sends CONNECT is closed after connect_timeout_ms', async (t) => {
    const srv = await startRealtime({ realtime: { ...PROTO, connect_timeout_ms: 300 } });
    t.after(() => stopChecked(srv));
    const idle = await wsSession(srv.url, { autoPong: true, connectNsp: false });
    const ok = await wsSession(srv.url, { autoPong: true, connectNsp: true });
    t.after(() => { idle.close(); ok.close(); });
    const t0 = Date.now();
    const info = await idle.closedWithin(2000);
    assert.ok(info, 'closed without CONNECT');
    assert.ok(idle.messages.includes('1'), 'with an Engine.IO close packet');
    assert.ok(Date.now() - t0 < 1500);
    await sleep(700);
    assert.equal(ok.closeInfo, null, 'a connected session is not affected by the deadline');
  });

  test('a client that stops reading is dropped at output_high_water; the server stays healthy and others still receive', async (t) => {
    const srv = await startRealtime({ realtime: { output_high_water: 65536, packets_per_second: 100000 } });
    t.after(() => stopChecked(srv));
    const slow = await wsSession(srv.url); // raw ws: we control reading
    const reader = await connect(srv.url, { transports: ['websocket'] });
    const sender = await connect(srv.url, { transports: ['websocket'] });
    t.after(() => { slow.close(); reader.close(); sender.close(); });
    slow.send('420["join","flood"]');
    await slow.next((m) => m === '430[true]');
    assert.equal(await reader.emitWithAck('join', 'flood'), true);
    let got = 0;
    reader.on('room-msg', () => { got++; });
    await waitFor(async () => (await metric(srv.url, 'streamhub_eio_websockets')) === 3, 2000, '3 websockets');
    slow.ws.pause(); // stop reading: the kernel buffers fill, then the server's queue grows
    const payload = 'x'.repeat(4096);
    let sent = 0;
    const dropped = () => /slow client/.test(srv.logs());
    while (!dropped() && sent < 12000) {
      for (let i = 0; i < 100; i++) sender.emit('to-room', 'flood', payload);
      sent += 100;
      await waitFor(() => got >= sent - 256, 10000, 'the reading client keeping up');
    }
    assert.ok(dropped(), `the non-reading client was dropped (sent ${sent} x 4 KiB)`);
    await waitFor(() => got === sent, 10000, `every message at the reading client (got ${got} of ${sent}; logs ${srv.logs().split("\n").filter((l) => /WARN|slow|clos/.test(l)).join(" | ")})`);
    // the server let go of the dropped connection although its peer still does not read
    await waitFor(async () => (await metric(srv.url, 'streamhub_eio_websockets')) === 2, 5000, 'the dropped websocket released');
    assert.equal(await metric(srv.url, 'streamhub_eio_sessions'), 2);
    const h = await request(`${srv.url}/health`);
    assert.equal(h.status, 200);
    assert.equal(reader.connected, true);
    assert.equal(sender.connected, true);
    const last = once(reader, 'room-msg', 3000);
    sender.emit('to-room', 'flood', 'after the drop');
    assert.deepEqual(await last, ['after the drop']);
    slow.ws.resume();
    assert.ok(await slow.closedWithin(5000), 'the slow client sees its connection closed once it reads again');
  });

  test('a server-side close while a frame is half written keeps the stream whole: the frame is finished, then close 1000', async (t) => {
    const srv = await startRealtime(); // default heartbeat: the paused client is not pinged out
    t.after(() => stopChecked(srv));
    const c = await wsSession(srv.url);
    t.after(() => c.close());
    c.ws.pause();
    const big = 'b'.repeat(900000);
    for (let i = 0; i < 6; i++) c.send(`42["message","${i}${big}"]`); // ~5.4 MB of echoes: more than the socket buffers hold
    await sleep(500);
    c.send('4abc'); // a protocol error: the server closes the session now, mid-frame
    await sleep(200);
    c.ws.resume();
    const info = await c.closedWithin(5000);
    assert.ok(info, 'closed');
    assert.equal(info.code, 1000, 'a clean close frame after whole frames');
    const echoes = c.messages.filter((m) => typeof m === 'string' && m.startsWith('42["message-back"'));
    assert.ok(echoes.length >= 1 && echoes.length < 6, `some echoes were sent before the close (${echoes.length})`);
    echoes.forEach((m, i) => assert.ok(m === `42["message-back","${i}${big}"]`, `echo ${i} whole and in order`));
    // what was still queued behind the half-written frame is dropped with the session; an
    // Engine.IO close packet, if it made it, comes after every message
    const close = c.messages.indexOf('1');
    assert.ok(close === -1 || close === c.messages.length - 1, 'nothing after the close packet');
  });

  test('Origin: a foreign origin is refused with 403; the same origin and a listed origin are accepted', async (t) => {
    const srv = await startRealtime({ server: { cors_origins: ['http://allowed.example'] } });
    t.after(() => stopChecked(srv));
    const foreign = await request(eioUrl(srv.url), { headers: { Origin: 'http://evil.example' } });
    assert.equal(foreign.status, 403);
    const fws = new WsClient(srv.url, { headers: { Origin: 'http://evil.example' } });
    await assert.rejects(fws.opened, /HTTP 403/);
    fws.close();
    const same = await request(eioUrl(srv.url), { headers: { Origin: `http://127.0.0.1:${srv.port}` } });
    assert.equal(same.status, 200);
    assert.equal(same.body[0], '0');
    const listed = await request(eioUrl(srv.url), { headers: { Origin: 'http://allowed.example' } });
    assert.equal(listed.status, 200);
    const lws = new WsClient(srv.url, { headers: { Origin: 'http://allowed.example' } });
    t.after(() => lws.close());
    await lws.opened;
    await lws.next((m) => m[0] === '0');
    const none = await request(eioUrl(srv.url));
    assert.equal(none.status, 200, 'no Origin (not a browser) is accepted');
  });

  test('max_connections: a handshake beyond the cap gets 503', async (t) => {
    const srv = await startRealtime({ realtime: { max_connections: 2 } });
    t.after(() => stopChecked(srv));
    const a = await pollingOpen(srv.url), b = await pollingOpen(srv.url);
    assert.notEqual(a.sid, b.sid);
    assert.equal((await request(eioUrl(srv.url))).status, 503);
    const w = new WsClient(srv.url);
    await assert.rejects(w.opened, /HTTP 503/);
    w.close();
    // a session ending frees its place
    await request(eioUrl(srv.url, `&sid=${a.sid}`), { method: 'POST', body: '1' });
    assert.equal((await request(eioUrl(srv.url))).status, 200);
  });

  test('connections per IP per minute: the 4th handshake within the minute gets 429', async (t) => {
    const srv = await startRealtime({
      server: { rate_limit_exempt_loopback: false },
      realtime: { connections_per_ip_per_minute: 3 },
    });
    t.after(() => stopChecked(srv));
    const a = await request(eioUrl(srv.url));
    assert.equal(a.status, 200);
    const w = new WsClient(srv.url); // a WebSocket handshake counts (and passes the limiter's async path)
    t.after(() => w.close());
    await w.opened;
    await w.next((m) => m[0] === '0');
    const b = await request(eioUrl(srv.url));
    assert.equal(b.status, 200);
    const d = await request(eioUrl(srv.url));
    assert.equal(d.status, 429);
    assert.ok(Number(d.headers['retry-after']) >= 1, 'Retry-After given');
    const dws = new WsClient(srv.url);
    await assert.rejects(dws.opened, /HTTP 429/);
    dws.close();
    // an existing session is not a new connection: it keeps working
    const { sid } = JSON.parse(a.body.slice(1));
    const post = await request(eioUrl(srv.url, `&sid=${sid}`), { method: 'POST', body: '40' });
    assert.equal(post.status, 200);
  });
});
