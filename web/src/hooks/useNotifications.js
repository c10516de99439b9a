// hooks/useNotifications.js - the signed-in user's notifications: the list and unread count from
// GET /api/notifications, new ones live over Socket.IO (`notification`), marking read.
import { useCallback, useContext, useEffect, useRef, useState } from 'react';
import { notificationsAPI } from '../services/api.js';
import { SocketContext } from './useSocket.jsx';
import { AuthContext } from './useAuth.jsx';

const MAX_ITEMS = 50;

export function useNotifications({ socket: injectedSocket, onNew } = {}) {
  const socketCtx = useContext(SocketContext);
  const auth = useContext(AuthContext);
  const socket = injectedSocket || socketCtx?.socket || null;
  const userId = auth?.user?.id ?? null;
  const signedIn = Boolean(auth?.token);

  const [items, setItems] = useState([]);
  const [unread, setUnread] = useState(0);
  const [loading, setLoading] = useState(false);
  const [available, setAvailable] = useState(true);
  const [error, setError] = useState(null);
  const seen = useRef(new Set());
  const itemsRef = useRef(items);
  itemsRef.current = items;
  const onNewRef = useRef(onNew);
  onNewRef.current = onNew;

  const refresh = useCallback(async () => {
    if (!signedIn) return;
    setLoading(true);
    try {
      const data = await notificationsAPI.list();
      const list = (data?.notifications || []).slice(0, MAX_ITEMS);
      for (const n of list) seen.current.add(String(n.id));
      setItems(list);
      setUnread(Number(data?.unread ?? (data?.notifications || []).filter((n) => !n.read).length) || 0);
      setAvailable(true);
      setError(null);
    } catch (e) {
      if (e.missing) setAvailable(false);
      else setError(e);
    } finally {
      setLoading(false);
    }
  }, [signedIn]);

  useEffect(() => {
    setItems([]);
    setUnread(0);
    if (signedIn) refresh();
  }, [signedIn, userId, refresh]);

  useEffect(() => {
    if (!socket || !signedIn) return undefined;
    const onNotification = (n) => {
      if (!n) return;
      const item = { id: n.id ?? `live-${Date.now()}`, type: n.type, data: n.data || {}, createdAt: n.createdAt || new Date().toISOString(), read: false };
      if (n.id != null) {
        if (seen.current.has(String(n.id))) return;
        seen.current.add(String(n.id));
      }
      setItems((list) => [item, ...list.filter((x) => String(x.id) !== String(item.id))].slice(0, MAX_ITEMS));
      setUnread((u) => u + 1);
      onNewRef.current?.(item);
    };
    socket.on('notification', onNotification);
    return () => socket.off('notification', onNotification);
  }, [socket, signedIn]);

  const markAllRead = useCallback(async () => {
    setItems((list) => list.map((n) => ({ ...n, read: true })));
    setUnread(0);
    try {
      await notificationsAPI.markAllRead();
    } catch (e) {
      if (!e.missing) setError(e);
    }
  }, []);

  const markRead = useCallback(async (ids) => {
    const set = new Set(ids.map(String));
    const n = itemsRef.current.filter((x) => set.has(String(x.id)) && !x.read).length;
    setItems((list) => list.map((x) => (set.has(String(x.id)) ? { ...x, read: true } : x)));
    setUnread((u) => Math.max(0, u - n));
    try {
      await notificationsAPI.markRead(ids);
    } catch (e) {
      if (!e.missing) setError(e);
    }
  }, []);

  return { items, unread, loading, available, error, refresh, markAllRead, markRead };
}

// What a notification says and where it leads.
export function describeNotification(n) {
  const d = n?.data || {};
  const streamer = d.streamer || d.user || {};
  const name = d.displayName || streamer.displayName || d.username || streamer.username || 'Someone you follow';
  const username = d.username || streamer.username || null;
  const roomId = d.roomId || d.room?.id || null;
  const title = d.title || d.room?.title || '';
  switch (n?.type) {
    case 'stream-started':
    case 'stream.started':
    case 'go-live':
    case 'live':
      return { text: `${name} is live`, detail: title, href: roomId ? `/room/${roomId}` : username ? `/u/${username}` : null, name };
    case 'follow':
    case 'new-follower':
      return { text: `${name} followed you`, detail: '', href: username ? `/u/${username}` : null, name };
    default:
      return { text: d.message || d.text || `${name}: ${n?.type || 'notification'}`, detail: title, href: roomId ? `/room/${roomId}` : null, name };
  }
}
