import { afterEach, describe, expect, it, vi } from 'vitest';
import { act, renderHook, waitFor } from '@testing-library/react';
import { AuthProvider } from './useAuth.jsx';
import { describeNotification, useNotifications } from './useNotifications.js';
import { tokenStore } from '../services/api.js';
import { FakeSocket } from '../test/fakeSocket.js';
import { jsonResponse, mockFetch } from '../test/fetchMock.js';

afterEach(() => vi.unstubAllGlobals());
const wrapper = ({ children }) => <AuthProvider>{children}</AuthProvider>;
const live = (id, read = false) => ({ id, type: 'stream-started', createdAt: '2025-01-01T00:00:00.000Z', read, data: { roomId: 'r1', title: 'Speedruns', streamer: { username: 'alice', displayName: 'Alice' } } });

describe('useNotifications', () => {
  it('loads the list and unread count, adds live ones from the socket, marks read', async () => {
    tokenStore.set('tok', { id: 1, username: 'me' });
    const f = mockFetch({
      'GET /api/auth/me': () => jsonResponse(200, { user: { id: 1, username: 'me' } }),
      'GET /api/notifications': () => jsonResponse(200, { notifications: [live(2), live(1, true)], unread: 1 }),
      'POST /api/notifications/read': () => new Response(null, { status: 204 }),
    });
    const socket = new FakeSocket();
    const seen = [];
    const { result } = renderHook(() => useNotifications({ socket, onNew: (n) => seen.push(n.id) }), { wrapper });
    await waitFor(() => expect(result.current.items).toHaveLength(2));
    expect(result.current.unread).toBe(1);

    act(() => socket.serverEmit('notification', { id: 3, type: 'stream-started', data: { roomId: 'r2', streamer: { username: 'bob' } } }));
    act(() => socket.serverEmit('notification', { id: 3, type: 'stream-started', data: {} })); // duplicate
    expect(result.current.items.map((n) => n.id)).toEqual([3, 2, 1]);
    expect(result.current.unread).toBe(2);
    expect(seen).toEqual([3]);

    await act(async () => {
      await result.current.markRead([3]);
    });
    expect(result.current.unread).toBe(1);
    expect(f.calls.at(-1)).toMatchObject({ method: 'POST', path: '/api/notifications/read', body: { ids: [3] } });

    await act(async () => {
      await result.current.markAllRead();
    });
    expect(result.current.unread).toBe(0);
    expect(result.current.items.every((n) => n.read)).toBe(true);
    expect(f.calls.at(-1).body).toEqual({ all: true });
  });

  it('signed out: no request, no listener', () => {
    const f = mockFetch({});
    const socket = new FakeSocket();
    const { result } = renderHook(() => useNotifications({ socket }), { wrapper });
    expect(f.calls).toHaveLength(0);
    expect(socket.listenerCount('notification')).toBe(0);
    expect(result.current.items).toEqual([]);
  });

  it('a server without notifications says so instead of failing', async () => {
    tokenStore.set('tok', { id: 1, username: 'me' });
    mockFetch({ 'GET /api/auth/me': () => jsonResponse(200, { user: { id: 1, username: 'me' } }) });
    const { result } = renderHook(() => useNotifications({ socket: new FakeSocket() }), { wrapper });
    await waitFor(() => expect(result.current.available).toBe(false));
  });
});

describe('describeNotification', () => {
  it('go-live notifications lead to the room', () => {
    expect(describeNotification(live(1))).toMatchObject({ text: 'Alice is live', detail: 'Speedruns', href: '/room/r1' });
  });
  it('unknown kinds still say something', () => {
    expect(describeNotification({ type: 'mystery', data: {} }).text).toMatch(/mystery/);
  });
});
