// services/api.js - the REST client: one `request` function and one object per resource
// (authAPI, roomsAPI, usersAPI, streamsAPI as in the original design, plus chatAPI,
// followAPI-style helpers on usersAPI and notificationsAPI).
//
// Every failure is thrown as an ApiError carrying the server's {code, message, field} (and the
// Retry-After of a 429). A 401 on a request that carried the token signs the user out (the
// token is gone or revoked). A route the server does not have (the core's plain 404
// `not_found`, or 405) is flagged `missing`, so pages can say "not available on this server".

const TOKEN_KEY = 'streamhub.token';
const USER_KEY = 'streamhub.user';

const listeners = new Set();

function storage() {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

export const tokenStore = {
  get() {
    return storage()?.getItem(TOKEN_KEY) || null;
  },
  set(token, user) {
    const s = storage();
    if (!s) return;
    if (token) s.setItem(TOKEN_KEY, token);
    else s.removeItem(TOKEN_KEY);
    if (user) s.setItem(USER_KEY, JSON.stringify(user));
    else if (!token) s.removeItem(USER_KEY);
  },
  getUser() {
    try {
      const raw = storage()?.getItem(USER_KEY);
      return raw ? JSON.parse(raw) : null;
    } catch {
      return null;
    }
  },
  setUser(user) {
    const s = storage();
    if (!s) return;
    if (user) s.setItem(USER_KEY, JSON.stringify(user));
    else s.removeItem(USER_KEY);
  },
  clear() {
    const s = storage();
    s?.removeItem(TOKEN_KEY);
    s?.removeItem(USER_KEY);
  },
};

// Called with the reason ("unauthorized") when the server rejected our token.
export function onUnauthorized(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function signalUnauthorized(reason = 'unauthorized') {
  tokenStore.clear();
  for (const fn of [...listeners]) fn(reason);
}

export class ApiError extends Error {
  constructor({ status = 0, code = 'error', message = 'Something went wrong.', field, retryAfter, missing = false }) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field;
    this.retryAfter = retryAfter;
    this.missing = missing;
  }
}

const FRIENDLY = {
  network_error: 'Cannot reach the server. Check your connection and try again.',
  rate_limited: 'Too many requests. Please wait a moment.',
  database_unavailable: 'The server is having trouble right now. Try again shortly.',
  auth_unavailable: 'Sign-in is temporarily unavailable. Try again shortly.',
  busy: 'The server is busy. Try again in a few seconds.',
  internal: 'The server hit an error. Try again.',
};

// A message fit to show a person.
export function describeError(err, fallback = 'Something went wrong.') {
  if (!err) return fallback;
  if (err.missing) return 'This feature is not available on this server yet.';
  if (err.code === 'rate_limited' && err.retryAfter) {
    return `Too many requests. Try again in ${formatWait(err.retryAfter)}.`;
  }
  if (err.message && err.code !== 'internal' && err.code !== 'network_error') return err.message;
  return FRIENDLY[err.code] || err.message || fallback;
}

export function formatWait(seconds) {
  const s = Math.max(1, Math.ceil(Number(seconds) || 0));
  if (s < 90) return `${s} s`;
  const m = Math.ceil(s / 60);
  if (m < 90) return `${m} min`;
  return `${Math.ceil(m / 60)} h`;
}

export function buildQuery(params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '' || v === false) continue;
    q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

export async function request(method, path, { body, query, signal, auth = true } = {}) {
  const headers = { Accept: 'application/json' };
  const token = auth ? tokenStore.get() : null;
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path + buildQuery(query), {
      method,
      headers,
      body: body !== undefined ? JSON.stringify(body) : undefined,
      signal,
      credentials: 'same-origin',
    });
  } catch (e) {
    if (e?.name === 'AbortError') throw e;
    throw new ApiError({ status: 0, code: 'network_error', message: FRIENDLY.network_error });
  }
  if (res.status === 204) return null;
  const type = res.headers.get('content-type') || '';
  let data = null;
  if (type.includes('json')) {
    try {
      data = await res.json();
    } catch {
      data = null;
    }
  } else {
    try {
      await res.text();
    } catch {
      /* ignore */
    }
  }
  if (res.ok) return data;

  const e = (data && data.error) || {};
  const retry = res.headers.get('retry-after');
  const err = new ApiError({
    status: res.status,
    code: e.code || (res.status === 404 ? 'not_found' : `http_${res.status}`),
    message: e.message || FRIENDLY[e.code] || `Request failed (${res.status}).`,
    field: e.field,
    retryAfter: retry ? Number(retry) : e.retryAfter,
    missing: (res.status === 404 && (e.code === 'not_found' || !e.code)) || res.status === 405 || res.status === 501,
  });
  if (res.status === 401 && token) signalUnauthorized(e.code || 'unauthorized');
  throw err;
}

const enc = encodeURIComponent;

export const authAPI = {
  register: ({ username, email, password, displayName }) =>
    request('POST', '/api/auth/register', {
      body: { username, email, password, ...(displayName ? { displayName } : {}) },
      auth: false,
    }),
  // identifier: an e-mail address or a username
  login: ({ identifier, password }) =>
    request('POST', '/api/auth/login', {
      body: String(identifier).includes('@')
        ? { email: identifier.trim(), password }
        : { username: String(identifier).trim(), password },
      auth: false,
    }),
  logout: () => request('POST', '/api/auth/logout'),
  me: (opts) => request('GET', '/api/auth/me', opts),
};

export const usersAPI = {
  get: (username, opts) => request('GET', `/api/users/${enc(username)}`, opts),
  updateMe: (patch) => request('PATCH', '/api/users/me', { body: patch }),
  follow: (username) => request('POST', `/api/users/${enc(username)}/follow`),
  unfollow: (username) => request('DELETE', `/api/users/${enc(username)}/follow`),
  followers: (username, { cursor, limit } = {}) =>
    request('GET', `/api/users/${enc(username)}/followers`, { query: { cursor, limit } }),
  following: (username, { cursor, limit } = {}) =>
    request('GET', `/api/users/${enc(username)}/following`, { query: { cursor, limit } }),
  followingLive: (opts) => request('GET', '/api/users/me/following/live', opts),
};

export const roomsAPI = {
  list: ({ live, category, q, limit, cursor } = {}, opts = {}) =>
    request('GET', '/api/rooms', { query: { live: live ? 'true' : undefined, category, q, limit, cursor }, ...opts }),
  get: (roomId, opts) => request('GET', `/api/rooms/${enc(roomId)}`, opts),
  create: ({ title, description, category }) =>
    request('POST', '/api/rooms', { body: { title, description, ...(category ? { category } : {}) } }),
  update: (roomId, patch) => request('PATCH', `/api/rooms/${enc(roomId)}`, { body: patch }),
  remove: (roomId) => request('DELETE', `/api/rooms/${enc(roomId)}`),
  categories: (opts) => request('GET', '/api/categories', opts),
};

export const streamsAPI = {
  history: (roomId) => request('GET', `/api/rooms/${enc(roomId)}/streams`),
  getKey: () => request('GET', '/api/users/me/stream-key'),
  resetKey: () => request('POST', '/api/users/me/stream-key/reset'),
  playlistUrl: (roomId) => `/hls/${enc(roomId)}/index.m3u8`,
  thumbnailUrl: (roomId) => `/hls/${enc(roomId)}/thumbnail.jpg`,
};

export const chatAPI = {
  messages: (roomId, { before, limit } = {}) =>
    request('GET', `/api/rooms/${enc(roomId)}/messages`, { query: { before, limit } }),
  bans: (roomId) => request('GET', `/api/rooms/${enc(roomId)}/bans`),
  ban: (roomId, { username, durationSeconds, reason }) =>
    request('POST', `/api/rooms/${enc(roomId)}/bans`, {
      body: { username, ...(durationSeconds ? { durationSeconds } : {}), ...(reason ? { reason } : {}) },
    }),
  unban: (roomId, username) => request('DELETE', `/api/rooms/${enc(roomId)}/bans/${enc(username)}`),
  moderators: (roomId) => request('GET', `/api/rooms/${enc(roomId)}/moderators`),
  addModerator: (roomId, username) =>
    request('POST', `/api/rooms/${enc(roomId)}/moderators`, { body: { username } }),
  removeModerator: (roomId, username) =>
    request('DELETE', `/api/rooms/${enc(roomId)}/moderators/${enc(username)}`),
};

export const notificationsAPI = {
  list: (opts) => request('GET', '/api/notifications', opts),
  markRead: (ids) => request('POST', '/api/notifications/read', { body: { ids } }),
  markAllRead: () => request('POST', '/api/notifications/read', { body: { all: true } }),
};

// The room of a streamer. The API has no "room of user" route: search the list by the
// username and match the streamer's id (or name).
export async function findRoomOfUser({ id, username }, { live } = {}) {
  if (!username) return null;
  const seen = new Set();
  let cursor;
  for (let page = 0; page < 3; page++) {
    const data = await roomsAPI.list({ q: username, live, limit: 100, cursor });
    for (const room of data?.rooms || []) {
      if (seen.has(room.id)) continue;
      seen.add(room.id);
      const s = room.streamer || {};
      if ((id != null && s.id === id) || (s.username && s.username.toLowerCase() === username.toLowerCase())) {
        return room;
      }
    }
    cursor = data?.nextCursor;
    if (!cursor) break;
  }
  return null;
}
