// Conformance mode: the settings of the Socket.IO protocol's reference test server (ping
// interval 300 ms, timeout 200 ms, max payload 1,000,000), the sioconf plugin on "/" and
// "/custom", and the raw Engine.IO echo at /engine.io/, so the public protocol test suites can
// run against us. These tests check that mode itself.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import WebSocket from 'ws';
import { io } from 'socket.io-client';
import { startServer, BUILD } from '../lib/server.mjs';

let srv;
before(async () => {
  srv = await startServer({
    plugins: [{ name: 'sioconf', path: join(BUILD, 'test-plugins/sioconf.so') }],
    realtime: { ping_interval_ms: 300, ping_timeout_ms: 200, max_payload: 1000000, conformance_echo_path: '/engine.io/', verify_tokens: false },
  });
});
after(async () => { await srv?.stop(); });

test('the raw Engine.IO echo answers the handshake with the reference server values', async () => {
  const res = await fetch(`${srv.url}/engine.io/?EIO=4&transport=polling`);
  const text = await res.text();
  assert.equal(text[0], '0');
  const open = JSON.parse(text.slice(1));
  assert.deepEqual(Object.keys(open), ['sid', 'upgrades', 'pingInterval', 'pingTimeout', 'maxPayload']);
  assert.equal(open.pingInterval, 300);
  assert.equal(open.pingTimeout, 200);
  assert.equal(open.maxPayload, 1000000);
});

test('the raw Engine.IO echo sends every message back, text and binary, over polling', async () => {
  const open = JSON.parse((await (await fetch(`${srv.url}/engine.io/?EIO=4&transport=polling`)).text()).slice(1));
  const url = `${srv.url}/engine.io/?EIO=4&transport=polling&sid=${open.sid}`;
  const post = await fetch(url, { method: 'POST', body: '4hello\x1e4world\x1ebAQID' });
  assert.equal(post.status, 200);
  const body = await (await fetch(url)).text();
  assert.deepEqual(body.split('\x1e'), ['4hello', '4world', 'bAQID']);
});

test('the raw Engine.IO echo works over WebSocket', async () => {
  const ws = new WebSocket(`${srv.url.replace('http', 'ws')}/engine.io/?EIO=4&transport=websocket`);
  const got = [];
  await new Promise((resolve, reject) => {
    ws.on('message', (data, isBinary) => {
      got.push(isBinary ? [...data] : data.toString());
      if (got.length === 1) { ws.send('4ping-me'); ws.send(Buffer.from([9, 8, 7])); }
      if (got.length === 3) resolve();
    });
    ws.on('error', reject);
    setTimeout(() => reject(new Error(`timed out, got ${JSON.stringify(got)}`)), 3000);
  });
  ws.close();
  assert.equal(got[0][0], '0');
  assert.equal(got[1], '4ping-me');
  assert.deepEqual(got[2], [9, 8, 7]);
});

test('the Socket.IO side behaves like the reference server on / and /custom', async () => {
  for (const nsp of ['/', '/custom']) {
    const s = io(srv.url + nsp, { auth: { token: '123' }, reconnection: false, transports: ['websocket'] });
    const auth = await new Promise((resolve, reject) => { s.on('auth', resolve); s.on('connect_error', reject); });
    assert.deepEqual(auth, { token: '123' });
    const back = await new Promise((resolve) => { s.once('message-back', (...a) => resolve(a)); s.emit('message', 1, '2', { 3: [true] }); });
    assert.deepEqual(back, [1, '2', { 3: [true] }]);
    const acked = await new Promise((resolve) => s.emit('message-with-ack', 1, '2', (...a) => resolve(a)));
    assert.deepEqual(acked, [1, '2']);
    s.close();
  }
});
