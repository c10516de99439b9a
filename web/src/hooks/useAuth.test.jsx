import { afterEach, describe, expect, it, vi } from 'vitest';
import { act, renderHook, waitFor } from '@testing-library/react';
import { AuthProvider, useAuth } from './useAuth.jsx';
import { request, tokenStore } from '../services/api.js';
import { jsonResponse, mockFetch } from '../test/fetchMock.js';

const wrapper = ({ children }) => <AuthProvider>{children}</AuthProvider>;
const alice = { id: 1, username: 'alice', displayName: 'Alice', email: 'a@example.com' };

afterEach(() => vi.unstubAllGlobals());

describe('useAuth', () => {
  it('starts signed out without a token', () => {
    mockFetch({});
    const { result } = renderHook(() => useAuth(), { wrapper });
    expect(result.current).toMatchObject({ user: null, token: null, isAuthenticated: false, loading: false });
  });

  it('login stores the token and the user', async () => {
    const f = mockFetch({ 'POST /api/auth/login': () => jsonResponse(200, { token: 'tok1', user: alice }) });
    const { result } = renderHook(() => useAuth(), { wrapper });
    await act(async () => {
      await result.current.login('alice', 'correct horse');
    });
    expect(f.calls[0].body).toEqual({ username: 'alice', password: 'correct horse' });
    expect(result.current).toMatchObject({ isAuthenticated: true, token: 'tok1', user: alice });
    expect(tokenStore.get()).toBe('tok1');
    expect(tokenStore.getUser()).toEqual(alice);
  });

  it('a failed login throws the field error and stays signed out', async () => {
    mockFetch({ 'POST /api/auth/login': () => jsonResponse(400, { error: { code: 'invalid_field', message: 'Enter a password.', field: 'password' } }) });
    const { result } = renderHook(() => useAuth(), { wrapper });
    let err;
    await act(async () => {
      err = await result.current.login('alice', '').catch((e) => e);
    });
    expect(err).toMatchObject({ field: 'password', code: 'invalid_field' });
    expect(result.current.isAuthenticated).toBe(false);
  });

  it('register signs in', async () => {
    const f = mockFetch({ 'POST /api/auth/register': () => jsonResponse(201, { token: 'tok2', user: alice }) });
    const { result } = renderHook(() => useAuth(), { wrapper });
    await act(async () => {
      await result.current.register({ username: 'alice', email: 'a@example.com', password: 'correct horse' });
    });
    expect(f.calls[0].body).toEqual({ username: 'alice', email: 'a@example.com', password: 'correct horse' });
    expect(result.current.user).toEqual(alice);
  });

  it('restores a stored session and refreshes the user from /me', async () => {
    tokenStore.set('tok3', { ...alice, displayName: 'Old name' });
    mockFetch({ 'GET /api/auth/me': () => jsonResponse(200, { user: { ...alice, displayName: 'New name' } }) });
    const { result } = renderHook(() => useAuth(), { wrapper });
    expect(result.current.user.displayName).toBe('Old name'); // at once, from the cache
    await waitFor(() => expect(result.current.user.displayName).toBe('New name'));
  });

  it('a 401 anywhere signs out', async () => {
    tokenStore.set('tok4', alice);
    mockFetch({
      'GET /api/auth/me': () => jsonResponse(200, { user: alice }),
      'GET /api/users/me/stream-key': () => jsonResponse(401, { error: { code: 'invalid_token', message: 'Revoked.' } }),
    });
    const { result } = renderHook(() => useAuth(), { wrapper });
    await waitFor(() => expect(result.current.user).toEqual(alice));
    await act(async () => {
      await request('GET', '/api/users/me/stream-key').catch(() => {});
    });
    expect(result.current).toMatchObject({ isAuthenticated: false, user: null, signedOutReason: 'invalid_token' });
    expect(tokenStore.get()).toBeNull();
  });

  it('keeps the session when the server cannot be reached', async () => {
    tokenStore.set('tok5', alice);
    vi.stubGlobal('fetch', vi.fn(async () => {
      throw new TypeError('offline');
    }));
    const { result } = renderHook(() => useAuth(), { wrapper });
    await waitFor(() => expect(result.current.loading).toBe(false));
    expect(result.current).toMatchObject({ isAuthenticated: true, user: alice });
  });

  it('logout revokes the token on the server and forgets it', async () => {
    tokenStore.set('tok6', alice);
    const f = mockFetch({ 'GET /api/auth/me': () => jsonResponse(200, { user: alice }), 'POST /api/auth/logout': () => new Response(null, { status: 204 }) });
    const { result } = renderHook(() => useAuth(), { wrapper });
    await act(async () => {
      await result.current.logout();
    });
    const call = f.calls.find((c) => c.path === '/api/auth/logout');
    expect(call.headers.Authorization).toBe('Bearer tok6');
    expect(result.current.isAuthenticated).toBe(false);
    expect(tokenStore.get()).toBeNull();
  });
});
