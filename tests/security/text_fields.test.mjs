// tests/security/text_fields.test.mjs - hostile text in the text fields the other suites do not
// already try (auth.test covers register/profile fields, rooms.test a room title, http.test the
// core's JSON validation, chat.test chat messages): a room's description and a PATCHed title,
// the room search (q, with LIKE wildcards and SQL metacharacters), and a chat ban reason. Every
// value is stored and read back as data (same string, answers stay valid JSON), or refused with a
// 400 naming the field; nothing is executed and no other row is touched.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, startServer, uniq } from '../lib/server.mjs';
import { AUTH, built, makeRoom, register, stopClean } from '../faults/helpers.mjs';

const SKIP = !process.env.SH_TEST_PG ? 'needs SH_TEST_PG' : !built('auth') || !built('rooms') ? 'needs auth and rooms' : false;
const HOSTILE = [
  "'); DROP TABLE rooms;--",
  '<script>alert(1)</script>',
  '</script><img src=x onerror=alert(1)>',
  'line\u2028separator\u2029para',
  '" OR 1=1 -- \\ $1 %s %n {{7*7}} ${7*7}',
  '💥 émoji ñ 中文 \u200b',
];

// POST/PATCH a raw body (exact bytes): {status, body, text}.
async function rawJson(url, method, token, bytes) {
  const res = await fetch(url, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: bytes });
  const text = await res.text();
  return { status: res.status, text, body: JSON.parse(text) }; // every answer parses as JSON
}

describe('hostile text in the remaining text fields', { skip: SKIP }, () => {
  let srv, owner, room;
  before(async () => {
    srv = await startServer({ plugins: [AUTH, 'rooms', ...(built('chat') ? ['chat'] : [])] });
    owner = await register(srv.url, 't');
    room = await makeRoom(srv.url, owner);
  });
  after(() => stopClean(srv));

  test('room_description_and_title_store_sql_html_and_line_separators_as_data', async () => {
    for (const text of HOSTILE) {
      const r = await api(srv.url, 'PATCH', `/api/rooms/${room.id}`, { token: owner.token, body: { title: `t ${text}`.slice(0, 140), description: text } });
      assert.equal(r.status, 200, `${JSON.stringify(text)}: ${JSON.stringify(r.body)}`);
      const g = await fetch(`${srv.url}/api/rooms/${room.id}`);
      const raw = await g.text();
      const back = JSON.parse(raw).room;
      assert.equal(back.description, text);
      assert.equal(back.title, `t ${text}`.slice(0, 140));
      assert.match(g.headers.get('content-type'), /^application\/json/, 'served as JSON (with nosniff), never as HTML');
    }
    const list = await api(srv.url, 'GET', '/api/rooms?limit=5');
    assert.equal(list.status, 200, 'the rooms table is still there');
  });

  test('room_fields_with_invalid_utf8_or_controls_are_refused_400_naming_the_field', async () => {
    const bad = [
      [Buffer.concat([Buffer.from('{"description":"a'), Buffer.from([0xff, 0xfe]), Buffer.from('b"}')]), 'description'],
      [Buffer.concat([Buffer.from('{"title":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]), 'title'], // UTF-16 surrogate as UTF-8
      [Buffer.from('{"title":"a\\u0000b"}'), 'title'],
      [Buffer.from('{"title":"\\ud800"}'), 'title'], // a lone surrogate escape
    ];
    for (const [bytes, field] of bad) {
      const r = await rawJson(`${srv.url}/api/rooms/${room.id}`, 'PATCH', owner.token, bytes);
      assert.equal(r.status, 400, `${bytes}: ${r.text}`);
      assert.ok(r.body.error.field === field || r.body.error.code === 'invalid_json', `names ${field}: ${r.text}`);
    }
  });

  test('room_search_treats_like_wildcards_and_sql_metacharacters_literally', async () => {
    const tag = uniq('q');
    const other = await register(srv.url, 's');
    await makeRoom(srv.url, other, { title: `${tag} plain` });
    for (const q of ['%', '_', '%%', `${tag}%`, "' OR '1'='1", '\\', '%\\', "'; SELECT pg_sleep(5);--"]) {
      const t0 = Date.now();
      const r = await api(srv.url, 'GET', `/api/rooms?q=${encodeURIComponent(q)}&limit=50`);
      assert.equal(r.status, 200, `${q}: ${JSON.stringify(r.body)}`);
      assert.ok(Date.now() - t0 < 2000, `${q} was not executed`);
      assert.ok(!r.body.rooms.some((x) => x.title === `${tag} plain`), `${JSON.stringify(q)} must not match "${tag} plain" as a wildcard`);
    }
    const exact = await api(srv.url, 'GET', `/api/rooms?q=${encodeURIComponent(tag)}&limit=50`);
    assert.ok(exact.body.rooms.some((x) => x.title === `${tag} plain`), 'a literal search still finds it');
  });

  test('chat_ban_reason_stores_hostile_text_as_data', { skip: !built('chat') && 'plugins/chat is not built' }, async () => {
    const target = await register(srv.url, 'b');
    for (const reason of HOSTILE.slice(0, 4)) {
      const r = await api(srv.url, 'POST', `/api/rooms/${room.id}/bans`, { token: owner.token, body: { username: target.username, reason, durationSeconds: 60 } });
      assert.equal(r.status === 200 || r.status === 201, true, `${JSON.stringify(reason)}: ${r.status} ${JSON.stringify(r.body)}`);
      const list = await api(srv.url, 'GET', `/api/rooms/${room.id}/bans`, { token: owner.token });
      assert.equal(list.status, 200);
      assert.ok(JSON.stringify(list.body).includes(JSON.stringify(reason).slice(1, -1)), 'the reason comes back as it was given');
    }
    const nul = await rawJson(`${srv.url}/api/rooms/${room.id}/bans`, 'POST', owner.token,
      Buffer.from(`{"username":"${target.username}","reason":"a\\u0000b"}`));
    assert.equal(nul.status, 400, nul.text);
  });
});
