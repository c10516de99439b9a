import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError, authAPI, buildQuery, describeError, findRoomOfUser, formatWait, onUnauthorized, request, roomsAPI, tokenStore } from './api.js';
import { jsonResponse, mockFetch } from '../test/fetchMock.js';

afterEach(() => vi.unstubAllGlobals());

describe('request', () => {
  it('sends JSON with the bearer token and parses the answer', async () => {
    tokenStore.set('tok', { id: 1 });
    const f = mockFetch({ 'PATCH /api/users/me': () => jsonResponse(200, { user: { id: 1, bio: 'x' } }) });
    const d = await request('PATCH', '/api/users/me', { body: { bio: 'x' } });
    expect(d.user.bio).toBe('x');
    expect(f.calls[0].headers.Authorization).toBe('Bearer tok');
    expect(f.calls[0].headers['Content-Type']).toBe('application/json');
    expect(f.calls[0].body).toEqual({ bio: 'x' });
  });

  it('turns the error body into an ApiError with code, message, field', async () => {
    mockFetch({ 'POST /api/auth/register': () => jsonResponse(409, { error: { code: 'username_taken', message: 'That username is taken.', field: 'username' } }) });
    const err = await authAPI.register({ username: 'a', email: 'b', password: 'c' }).catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 409, code: 'username_taken', field: 'username', message: 'That username is taken.', missing: false });
  });

  it('reads Retry-After on a 429', async () => {
    mockFetch({ 'POST /api/auth/login': () => jsonResponse(429, { error: { code: 'rate_limited', message: 'Too many attempts.' } }, { 'retry-after': '120' }) });
    const err = await authAPI.login({ identifier: 'a', password: 'b' }).catch((e) => e);
    expect(err.retryAfter).toBe(120);
    expect(describeError(err)).toBe('Too many requests. Try again in 2 min.');
  });

  it('flags routes the server does not have as missing, but not a resource 404', async () => {
    mockFetch({ 'GET /api/rooms/x': () => jsonResponse(404, { error: { code: 'room_not_found', message: 'No such room.' } }) });
    const a = await request('GET', '/api/notifications').catch((e) => e);
    expect(a.missing).toBe(true);
    expect(describeError(a)).toMatch(/not available/);
    const b = await roomsAPI.get('x').catch((e) => e);
    expect(b.missing).toBe(false);
    expect(b.code).toBe('room_not_found');
  });

  it('a 401 on a request with the token signs out; without a token it does not', async () => {
    const seen = [];
    const off = onUnauthorized((r) => seen.push(r));
    mockFetch({
      'GET /api/auth/me': () => jsonResponse(401, { error: { code: 'invalid_token', message: 'Bad token.' } }),
      'POST /api/auth/login': () => jsonResponse(401, { error: { code: 'invalid_credentials', message: 'No.' } }),
    });
    await authAPI.login({ identifier: 'a@b.c', password: 'x' }).catch(() => {});
    expect(seen).toEqual([]);
    tokenStore.set('tok', { id: 1 });
    await authAPI.me().catch(() => {});
    expect(seen).toEqual(['invalid_token']);
    expect(tokenStore.get()).toBeNull();
    expect(tokenStore.getUser()).toBeNull();
    off();
  });

  it('a network failure is an ApiError network_error', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => {
      throw new TypeError('Failed to fetch');
    }));
    const err = await request('GET', '/api/rooms').catch((e) => e);
    expect(err).toMatchObject({ status: 0, code: 'network_error' });
  });

  it('204 answers resolve to null', async () => {
    mockFetch({ 'POST /api/users/bob/follow': () => new Response(null, { status: 204 }) });
    tokenStore.set('tok');
    await expect(request('POST', '/api/users/bob/follow')).resolves.toBeNull();
  });
});

describe('resources', () => {
  it('login sends email or username depending on the identifier', async () => {
    const f = mockFetch({ 'POST /api/auth/login': () => jsonResponse(200, { token: 't', user: {} }) });
    await authAPI.login({ identifier: ' alice@example.com ', password: 'pw' });
    await authAPI.login({ identifier: 'alice', password: 'pw' });
    expect(f.calls[0].body).toEqual({ email: 'alice@example.com', password: 'pw' });
    expect(f.calls[1].body).toEqual({ username: 'alice', password: 'pw' });
    expect(f.calls[0].headers.Authorization).toBeUndefined();
  });

  it('lists rooms with only the filters given', async () => {
    const f = mockFetch({ 'GET /api/rooms': () => jsonResponse(200, { rooms: [], nextCursor: null }) });
    await roomsAPI.list({ live: true, category: 'gaming', q: '', limit: 10 });
    expect(f.calls[0].query).toEqual({ live: 'true', category: 'gaming', limit: '10' });
  });

  it('findRoomOfUser matches the streamer among search results', async () => {
    mockFetch({
      'GET /api/rooms': () => jsonResponse(200, {
        rooms: [
          { id: 'r1', streamer: { id: 2, username: 'alice2' } },
          { id: 'r2', streamer: { id: 1, username: 'Alice' } },
        ],
        nextCursor: null,
      }),
    });
    expect((await findRoomOfUser({ id: 1, username: 'alice' })).id).toBe('r2');
    expect(await findRoomOfUser({ id: 9, username: 'nobody' })).toBeNull();
  });
});

describe('helpers', () => {
  it('buildQuery skips empty values', () => {
    expect(buildQuery({ a: 1, b: '', c: undefined, d: null, e: false, f: 'x y' })).toBe('?a=1&f=x+y');
    expect(buildQuery({})).toBe('');
  });
  it('formatWait', () => {
    expect(formatWait(5)).toBe('5 s');
    expect(formatWait(300)).toBe('5 min');
    expect(formatWait(7200)).toBe('2 h');
  });
});
