// bench/peers/rest_server.mjs - the peer of B3 and B7: Express 5 + pg serving the same rows from
// the same database as StreamHub's rooms plugin (the rooms_public view the plugin answers from),
// written the way a typical Node service would be: a pg Pool of the same size as StreamHub's
// database pool, one parameterised query per request, JSON out.
//   GET  /api/rooms/:roomId        {"room": room}              (404 room_not_found)
//   GET  /api/rooms?live=true      {"rooms": [room], "nextCursor"} same order and page size (20)
//   POST /api/auth/login           bcryptjs.compare against users.password_hash (B7's flood on
//                                  the peer, for information)
// Usage: node rest_server.mjs PORT DATABASE_URL [POOL_SIZE]
// Prints "listening on http://127.0.0.1:PORT" once it accepts connections.
import express from 'express';
import pg from 'pg';
import bcrypt from 'bcryptjs';

const port = Number(process.argv[2] || 0);
const pool = new pg.Pool({ connectionString: process.argv[3], max: Number(process.argv[4] || 4) });
const app = express();
app.disable('x-powered-by');
app.disable('etag');
app.use(express.json({ limit: '1mb' }));

const ROOM_SQL = 'SELECT room_json FROM rooms_public WHERE room_id = $1';
const LIST_SQL = 'SELECT pk, is_live, viewer_count, room_json FROM rooms_public WHERE true AND is_live '
  + 'ORDER BY is_live DESC, viewer_count DESC, pk DESC LIMIT $1::int';

app.get('/api/rooms/:roomId', async (req, res) => {
  try {
    const r = await pool.query(ROOM_SQL, [req.params.roomId]);
    if (!r.rows.length) return res.status(404).json({ error: { code: 'room_not_found', message: 'No such room.' } });
    res.type('application/json').send(`{"room":${r.rows[0].room_json}}`);
  } catch (e) {
    res.status(503).json({ error: { code: 'database_unavailable', message: String(e.message) } });
  }
});

app.get('/api/rooms', async (req, res) => {
  const limit = 20;
  try {
    const r = await pool.query(LIST_SQL, [limit + 1]);
    const rows = r.rows.slice(0, limit);
    const last = rows.at(-1);
    const nextCursor = r.rows.length > limit && last
      ? Buffer.from(`r:${last.is_live ? 1 : 0},${last.viewer_count},${last.pk}`).toString('base64url') : null;
    res.type('application/json').send(`{"rooms":[${rows.map((x) => x.room_json).join(',')}],"nextCursor":${JSON.stringify(nextCursor)}}`);
  } catch (e) {
    res.status(503).json({ error: { code: 'database_unavailable', message: String(e.message) } });
  }
});

app.post('/api/auth/login', async (req, res) => {
  const { username, password } = req.body || {};
  if (typeof username !== 'string' || typeof password !== 'string') {
    return res.status(400).json({ error: { code: 'invalid_field', message: 'username and password', field: 'username' } });
  }
  try {
    const r = await pool.query('SELECT id, password_hash FROM users WHERE lower(username) = lower($1)', [username]);
    const ok = r.rows.length > 0 && await bcrypt.compare(password, r.rows[0].password_hash);
    if (!ok) return res.status(401).json({ error: { code: 'invalid_credentials', message: 'Wrong credentials.' } });
    res.json({ ok: true, userId: Number(r.rows[0].id) });
  } catch (e) {
    res.status(503).json({ error: { code: 'database_unavailable', message: String(e.message) } });
  }
});

const server = app.listen(port, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => { server.close(); pool.end(); process.exit(0); });
