// hooks/useChat.js - one room's live side over the shared Socket.IO connection: join (and
// re-join after a reconnect), chat history, live messages, optimistic sends with their ack
// state, chat errors (rate limits, bans, slow mode...), deletions and clears, viewer counts,
// stream start/end and reactions.
import { useCallback, useContext, useEffect, useReducer, useRef, useState } from 'react';
import { chatReducer, initialChatState, nextClientId } from '../lib/chatState.js';
import { SocketContext } from './useSocket.jsx';
import { AuthContext } from './useAuth.jsx';
import { chatAPI } from '../services/api.js';

// The owner's socket opens the room with create-room (it joins the room's events without
// counting as a viewer), so its history comes over REST.
const restHistory = (roomId) => chatAPI.messages(roomId, { limit: 100 }).then((d) => d?.messages || []);

export const ACK_TIMEOUT_MS = 10000;
export const JOIN_GRACE_MS = 4000;
export const MAX_MESSAGE_LENGTH = 500;
const REACTION_TTL_MS = 4000;
const MAX_REACTIONS = 40;
const SEND_ERRORS = new Set(['rate_limited', 'banned', 'slow_mode', 'followers_only', 'not_authenticated', 'invalid_message', 'timed_out']);

const ERROR_TEXT = {
  rate_limited: 'You are sending messages too quickly.',
  banned: 'You are banned from this chat.',
  slow_mode: 'Slow mode is on.',
  followers_only: 'Only followers can chat in this room.',
  not_authenticated: 'Log in to chat.',
  invalid_message: 'That message cannot be sent.',
  timed_out: 'The server did not confirm the message.',
};

export function normalizeChatError(e) {
  if (!e) return null;
  if (typeof e === 'string') return { code: e, message: ERROR_TEXT[e] || e };
  const code = e.code || 'error';
  const retryAfter = e.retryAfter != null ? Number(e.retryAfter) : undefined;
  return {
    code,
    message: e.message || ERROR_TEXT[code] || 'The message could not be sent.',
    retryAfter,
    until: retryAfter ? Date.now() + retryAfter * 1000 : undefined,
  };
}

let reactionSeq = 0;

export function useChat(roomId, { socket: injectedSocket, user: injectedUser, owner = false, loadHistory = restHistory } = {}) {
  const socketCtx = useContext(SocketContext);
  const auth = useContext(AuthContext);
  const socket = injectedSocket || socketCtx?.socket || null;
  const user = injectedUser !== undefined ? injectedUser : auth?.user || null;

  const [state, dispatch] = useReducer(chatReducer, initialChatState);
  const [joined, setJoined] = useState(false);
  const [connected, setConnected] = useState(Boolean(socket?.connected));
  const [viewerCount, setViewerCount] = useState(null);
  const [live, setLive] = useState(null); // null = unknown; true / false from stream events
  const [endedReason, setEndedReason] = useState(null);
  const [error, setError] = useState(null);
  const [reactions, setReactions] = useState([]);

  const userRef = useRef(user);
  userRef.current = user;
  const messagesRef = useRef(state.messages);
  messagesRef.current = state.messages;
  const timers = useRef(new Set());
  const ownReactions = useRef([]);
  const loadHistoryRef = useRef(loadHistory);
  loadHistoryRef.current = loadHistory;

  const later = useCallback((fn, ms) => {
    const t = setTimeout(() => {
      timers.current.delete(t);
      fn();
    }, ms);
    timers.current.add(t);
    return t;
  }, []);

  useEffect(() => {
    const set = timers.current;
    return () => {
      for (const t of set) clearTimeout(t);
      set.clear();
    };
  }, []);

  const addReaction = useCallback(
    (emoji, userId) => {
      reactionSeq += 1;
      const r = { key: `r${reactionSeq}`, emoji: [...String(emoji)].slice(0, 8).join(''), userId, x: Math.random() };
      setReactions((list) => [...list.slice(-(MAX_REACTIONS - 1)), r]);
      later(() => setReactions((list) => list.filter((x) => x.key !== r.key)), REACTION_TTL_MS);
    },
    [later],
  );

  useEffect(() => {
    if (!roomId || !socket) return undefined;
    dispatch({ type: 'reset' });
    setJoined(false);
    setViewerCount(null);
    setLive(null);
    setEndedReason(null);
    setError(null);

    const mine = (p) => !p || p.roomId == null || String(p.roomId) === String(roomId);
    let joinTimer = null;
    let active = true;
    const join = () => {
      setConnected(true);
      if (owner) {
        socket.emit('create-room', { roomId });
        Promise.resolve()
          .then(() => loadHistoryRef.current(roomId))
          .then((messages) => {
            if (!active) return;
            dispatch({ type: 'history', messages });
            setJoined(true);
          })
          .catch(() => {
            /* no chat on this server yet: live messages still arrive */
          });
      } else {
        socket.emit('join-room', { roomId });
      }
      // a server without chat history still counts as joined after a moment
      clearTimeout(joinTimer);
      joinTimer = setTimeout(() => setJoined(true), JOIN_GRACE_MS);
    };
    const onRoomError = (p) => {
      if (!p) return;
      setError({ code: p.code || 'room_error', message: p.message || 'Could not join this room.' });
    };
    const onDisconnect = () => {
      clearTimeout(joinTimer);
      setConnected(false);
      setJoined(false);
    };
    const onHistory = (p) => {
      dispatch({ type: 'history', messages: p?.messages || [] });
      setJoined(true);
    };
    const onMessage = (m) => dispatch({ type: 'receive', message: m, selfId: userRef.current?.id });
    const onDeleted = (p) => p && dispatch({ type: 'delete', messageId: p.messageId });
    const onCleared = () => dispatch({ type: 'clear' });
    const onViewers = (p) => {
      if (p && Number.isFinite(Number(p.viewerCount))) setViewerCount(Number(p.viewerCount));
      setJoined(true);
    };
    const onStarted = (p) => {
      if (!mine(p)) return;
      setLive(true);
      setEndedReason(null);
    };
    const onEnded = (p) => {
      if (!mine(p)) return;
      setLive(false);
      setEndedReason(p?.reason || 'ended');
    };
    const onChatError = (p) => {
      const e = normalizeChatError(p);
      setError(e);
      if (e && SEND_ERRORS.has(e.code)) {
        // the server answered a send with an error event: settle the newest pending message
        const pending = [...messagesRef.current].reverse().find((m) => m.status === 'pending' && m.id == null);
        if (pending) dispatch({ type: 'fail', clientId: pending.clientId, error: e });
      }
    };
    const onReaction = (p) => {
      if (!p || !p.emoji) return;
      const self = userRef.current?.id;
      if (self != null && p.userId != null && String(p.userId) === String(self)) {
        const i = ownReactions.current.findIndex((r) => r.emoji === p.emoji && Date.now() - r.at < 5000);
        if (i >= 0) {
          ownReactions.current.splice(i, 1);
          return; // already shown when sent
        }
      }
      addReaction(p.emoji, p.userId);
    };

    socket.on('connect', join);
    socket.on('disconnect', onDisconnect);
    socket.on('chat-history', onHistory);
    socket.on('new-message', onMessage);
    socket.on('message-deleted', onDeleted);
    socket.on('chat-cleared', onCleared);
    socket.on('viewer-joined', onViewers);
    socket.on('viewer-left', onViewers);
    socket.on('stream-started', onStarted);
    socket.on('stream-ended', onEnded);
    socket.on('chat-error', onChatError);
    socket.on('reaction', onReaction);
    socket.on('room-error', onRoomError);
    if (socket.connected) join();
    else setConnected(false);

    return () => {
      active = false;
      clearTimeout(joinTimer);
      socket.off('room-error', onRoomError);
      socket.off('connect', join);
      socket.off('disconnect', onDisconnect);
      socket.off('chat-history', onHistory);
      socket.off('new-message', onMessage);
      socket.off('message-deleted', onDeleted);
      socket.off('chat-cleared', onCleared);
      socket.off('viewer-joined', onViewers);
      socket.off('viewer-left', onViewers);
      socket.off('stream-started', onStarted);
      socket.off('stream-ended', onEnded);
      socket.off('chat-error', onChatError);
      socket.off('reaction', onReaction);
      if (socket.connected) socket.emit('leave-room');
    };
  }, [roomId, socket, owner, addReaction]);

  const emitMessage = useCallback(
    (clientId, text) => {
      let settled = false;
      const timer = later(() => {
        if (settled) return;
        settled = true;
        dispatch({ type: 'fail', clientId, error: normalizeChatError('timed_out') });
      }, ACK_TIMEOUT_MS);
      // name the room: the streamer's socket opened it with create-room, which does not make it
      // the socket's chat room on the server (only join-room does), so a bare {message} would be
      // refused with not_in_room
      socket.emit('chat-message', { message: text, roomId }, (res) => {
        clearTimeout(timer);
        settled = true;
        if (res && res.error) {
          const e = normalizeChatError(res.error);
          if (res.retryAfter && e.retryAfter == null) {
            e.retryAfter = Number(res.retryAfter);
            e.until = Date.now() + e.retryAfter * 1000;
          }
          dispatch({ type: 'fail', clientId, error: e });
          setError(e);
          return;
        }
        // a late ack after the time-out still settles the message
        dispatch({ type: 'ack', clientId, id: res?.id ?? null });
      });
    },
    [socket, later, roomId],
  );

  const sendMessage = useCallback(
    (raw) => {
      const text = String(raw ?? '').trim();
      if (!text || !socket) return false;
      if (!userRef.current) {
        setError(normalizeChatError('not_authenticated'));
        return false;
      }
      if ([...text].length > MAX_MESSAGE_LENGTH) {
        setError({ code: 'invalid_message', message: `Messages are limited to ${MAX_MESSAGE_LENGTH} characters.` });
        return false;
      }
      const clientId = nextClientId();
      dispatch({ type: 'send', clientId, message: text, user: userRef.current });
      setError((e) => (e && e.until && e.until > Date.now() ? e : null));
      emitMessage(clientId, text);
      return true;
    },
    [socket, emitMessage],
  );

  const retry = useCallback(
    (clientId) => {
      const m = messagesRef.current.find((x) => x.clientId === clientId);
      if (!m || m.status !== 'failed') return;
      dispatch({ type: 'retry', clientId });
      emitMessage(clientId, m.message);
    },
    [emitMessage],
  );

  const discard = useCallback((clientId) => dispatch({ type: 'discard', clientId }), []);

  const deleteMessage = useCallback((messageId) => socket?.emit('delete-message', { messageId }), [socket]);

  const clearChat = useCallback(() => socket?.emit('clear-chat', { roomId }), [socket, roomId]);

  const sendReaction = useCallback(
    (emoji) => {
      if (!socket || !emoji) return;
      socket.emit('send-reaction', { emoji, roomId });
      if (userRef.current) ownReactions.current.push({ emoji, at: Date.now() });
      ownReactions.current = ownReactions.current.slice(-20);
      addReaction(emoji, userRef.current?.id ?? null);
    },
    [socket, addReaction, roomId],
  );

  const dismissError = useCallback(() => setError(null), []);
  const notify = useCallback((text) => dispatch({ type: 'system', text }), []);

  return {
    messages: state.messages,
    epoch: state.epoch,
    joined,
    connected,
    viewerCount,
    live,
    endedReason,
    error,
    reactions,
    sendMessage,
    retry,
    discard,
    deleteMessage,
    clearChat,
    sendReaction,
    dismissError,
    notify,
  };
}
