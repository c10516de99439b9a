// tests/security/websocket_protocol.test.mjs - hostile WebSocket / Engine.IO / Socket.IO input
// against the real server, for the SECURITY.md items that tests/integration/realtime_raw.test.mjs
// does not already send (it covers: unmasked frame 1002, RSV bits 1002, invalid UTF-8 1007,
// message over maxPayload 1009, '4abc' and '42{}', foreign Origin 403, connections per IP 429,
// the high-water mark, heartbeats). Each test is named for the attack; each checks the answer the
// protocol prescribes and that the server keeps serving others.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  PROTO, eioUrl, frame, pollingOpen, rawWs, request, startRealtime, stopChecked, wsSession,
} from '../lib/realtime.mjs';

// A raw WebSocket session that completed the Socket.IO CONNECT to "/".
async function connected(port) {
  const c = await rawWs(port);
  c.send(frame(1, '40'));
  await c.next((f) => f.text && f.text.startsWith('40{'));
  return c;
}

// The close frame the server sends, and the connection then closed.
async function closeCode(c, ms = 2000) {
  const f = await c.next((x) => x.opcode === 8, ms);
  await Promise.race([c.closed, new Promise((r) => setTimeout(r, ms))]);
  return f.code;
}

describe('WebSocket, Engine.IO and Socket.IO attacks', () => {
  let srv;
  const open = [];
  const track = (c) => { open.push(c); return c; };
  before(async () => { srv = await startRealtime({ realtime: { ...PROTO, ping_interval_ms: 5000, ping_timeout_ms: 5000 } }); });
  after(async () => {
    for (const c of open) (c.destroy ?? c.close).call(c);
    await stopChecked(srv);
  });

  // the server still serves a well-behaved client after each attack
  async function healthy() {
    const c = track(await wsSession(srv.url));
    c.send('42["message","ok"]');
    await c.next((m) => m === '42["message-back","ok"]');
    c.close();
  }

  test('websocket_oversized_control_frame_is_closed_1002', async () => {
    const c = track(await rawWs(srv.port));
    c.send(frame(9, 'p'.repeat(126))); // a ping with 126 bytes: control frames carry at most 125
    assert.equal(await closeCode(c), 1002);
    await healthy();
  });

  test('websocket_fragmented_control_frame_is_closed_1002', async () => {
    const c = track(await rawWs(srv.port));
    c.send(frame(9, 'ping', { fin: false }));
    assert.equal(await closeCode(c), 1002);
  });

  for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535]) {
    test(`websocket_close_with_invalid_code_${code}_is_answered_1002`, async () => {
      const c = track(await rawWs(srv.port));
      const p = Buffer.alloc(2);
      p.writeUInt16BE(code);
      c.send(frame(8, p));
      assert.equal(await closeCode(c), 1002);
    });
  }

  test('websocket_close_with_a_one_byte_payload_is_answered_1002', async () => {
    const c = track(await rawWs(srv.port));
    c.send(frame(8, Buffer.from([3])));
    assert.equal(await closeCode(c), 1002);
  });

  test('websocket_close_reason_with_invalid_utf8_is_answered_1007_or_1002', async () => {
    const c = track(await rawWs(srv.port));
    c.send(frame(8, Buffer.from([0x03, 0xe8, 0xff, 0xfe])));
    assert.ok([1002, 1007].includes(await closeCode(c)));
  });

  test('websocket_valid_close_is_echoed_1000', async () => {
    const c = track(await rawWs(srv.port));
    const p = Buffer.alloc(2);
    p.writeUInt16BE(4000); // application range: valid
    c.send(frame(8, p));
    assert.ok([1000, 4000].includes(await closeCode(c)));
  });

  test('websocket_unknown_opcode_is_closed_1002', async () => {
    for (const op of [3, 7, 0xb, 0xf]) {
      const c = track(await rawWs(srv.port));
      c.send(frame(op, 'x'));
      assert.equal(await closeCode(c), 1002, `opcode ${op}`);
    }
  });

  test('websocket_continuation_without_a_message_is_closed_1002', async () => {
    const c = track(await rawWs(srv.port));
    c.send(frame(0, 'orphan'));
    assert.equal(await closeCode(c), 1002);
  });

  test('websocket_new_message_inside_a_fragmented_one_is_closed_1002', async () => {
    const c = track(await rawWs(srv.port));
    c.send(frame(1, '42["mess', { fin: false }));
    c.send(frame(1, 'age"]'));
    assert.equal(await closeCode(c), 1002);
  });

  test('websocket_64bit_length_with_the_top_bit_set_is_closed', async () => {
    const c = track(await rawWs(srv.port));
    const hdr = Buffer.from([0x81, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4]);
    c.send(hdr);
    assert.ok([1002, 1009].includes(await closeCode(c)));
  });

  test('websocket_declared_length_of_a_terabyte_is_closed_1009_before_any_byte_arrives', async () => {
    const c = track(await rawWs(srv.port));
    c.send(frame(1, Buffer.alloc(0), { length: 2 ** 40 }).subarray(0, 14)); // the header alone
    assert.equal(await closeCode(c), 1009);
    await healthy();
  });

  test('websocket_fragments_summing_over_max_payload_are_closed_1009', async () => {
    const c = track(await rawWs(srv.port));
    const part = 'a'.repeat(400000);
    c.send(frame(1, `42["message","${part}`, { fin: false }));
    c.send(frame(0, part, { fin: false }));
    c.send(frame(0, `${part}"]`));
    assert.equal(await closeCode(c, 3000), 1009);
  });

  test('socketio_more_than_10_binary_attachments_is_refused', async () => {
    const c = track(await connected(srv.port));
    const ph = Array.from({ length: 11 }, (_, i) => `{"_placeholder":true,"num":${i}}`).join(',');
    c.send(frame(1, `411-["message",${ph}]`));
    assert.ok(await closeCode(c) >= 1000, 'closed');
    await healthy();
  });

  test('socketio_placeholder_pointing_past_the_attachments_is_refused', async () => {
    const c = track(await connected(srv.port));
    c.send(frame(1, '451-["message",{"_placeholder":true,"num":5}]'));
    c.send(frame(2, Buffer.from([1, 2, 3])));
    assert.ok(await closeCode(c) >= 1000, 'closed');
  });

  test('socketio_placeholder_of_the_wrong_shape_is_refused', async () => {
    for (const bad of ['{"_placeholder":true,"num":"0"}', '{"_placeholder":true,"num":-1}', '{"_placeholder":true}',
      '{"_placeholder":true,"num":0.5}']) {
      const c = track(await connected(srv.port));
      c.send(frame(1, `451-["message",${bad}]`));
      c.send(frame(2, Buffer.from([1])));
      assert.ok(await closeCode(c) >= 1000, bad);
    }
  });

  test('socketio_binary_frame_without_a_binary_event_is_refused', async () => {
    const c = track(await connected(srv.port));
    c.send(frame(2, Buffer.from([0xde, 0xad])));
    assert.ok(await closeCode(c) >= 1000, 'closed');
  });

  test('socketio_bad_ack_ids_are_refused', async () => {
    for (const bad of ['4299999999999999999999999["message"]', '42-1["message"]', '43["x"]', '431a[]']) {
      const c = track(await connected(srv.port));
      c.send(frame(1, bad));
      assert.ok(await closeCode(c) >= 1000, bad);
    }
  });

  test('socketio_bad_namespace_is_refused', async () => {
    // malformed: closed
    for (const bad of ['40nsp', '40/bad nsp,', '40/' + 'n'.repeat(300) + ',']) {
      const c = track(await rawWs(srv.port));
      c.send(frame(1, bad));
      const f = await c.next((x) => x.opcode === 8 || (x.text && x.text.startsWith('44')), 2000);
      assert.ok(f.opcode === 8 || f.text.startsWith('44'), `${bad.slice(0, 20)}: closed or CONNECT_ERROR`);
    }
    // well-formed but unknown: CONNECT_ERROR, the connection stays usable
    const c = track(await rawWs(srv.port));
    c.send(frame(1, '40/nowhere,'));
    const e = await c.next((x) => x.text && x.text.startsWith('44/nowhere,'));
    assert.match(e.text, /Invalid namespace/);
    c.send(frame(1, '40'));
    await c.next((x) => x.text && x.text.startsWith('40{'));
  });

  test('socketio_event_to_a_namespace_never_connected_is_refused', async () => {
    const c = track(await connected(srv.port));
    c.send(frame(1, '42/custom,["message","x"]'));
    const f = await c.next((x) => x.opcode === 8 || (x.text && x.text.startsWith('4')), 2000);
    assert.ok(f.opcode === 8 || !f.text.startsWith('42/custom,["message-back"'), 'never handled');
  });

  test('engineio_polling_body_over_max_payload_is_refused', async () => {
    const { sid } = await pollingOpen(srv.url);
    const r = await request(eioUrl(srv.url, `&sid=${sid}`), { method: 'POST', body: `4${'a'.repeat(PROTO.max_payload + 10)}` });
    assert.ok([400, 413].includes(r.status), `answered ${r.status}`);
  });

  test('engineio_polling_body_with_invalid_utf8_is_refused_400', async () => {
    const { sid } = await pollingOpen(srv.url);
    const body = Buffer.concat([Buffer.from('42["message","'), Buffer.from([0xc3, 0x28]), Buffer.from('"]')]);
    const r = await request(eioUrl(srv.url, `&sid=${sid}`), { method: 'POST', body });
    assert.equal(r.status, 400);
  });
});
