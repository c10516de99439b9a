import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { act, renderHook } from '@testing-library/react';
import { ACK_TIMEOUT_MS, JOIN_GRACE_MS, MAX_MESSAGE_LENGTH, normalizeChatError, useChat } from './useChat.js';
import { MAX_MESSAGES } from '../lib/chatState.js';
import { FakeSocket } from '../test/fakeSocket.js';

const me = { id: 7, username: 'me' };
const msg = (id, extra = {}) => ({ id, userId: 10, username: 'bob', message: `m${id}`, timestamp: '2025-01-01T00:00:00.000Z', ...extra });

function setup({ socket = new FakeSocket(), user = me, roomId = 'room1', owner = false, loadHistory } = {}) {
  const hook = renderHook((props) => useChat(props.roomId, { socket, user: props.user, owner, loadHistory }), { initialProps: { roomId, user } });
  return { socket, ...hook };
}

describe('useChat', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('joins the room on a connected socket and loads the history', () => {
    const { socket, result } = setup();
    expect(socket.sentOf('join-room')).toEqual([{ event: 'join-room', payload: { roomId: 'room1' }, ack: null }]);
    expect(socket.sentOf('create-room')).toHaveLength(0);
    expect(result.current.joined).toBe(false);
    act(() => socket.serverEmit('chat-history', { messages: [msg(1), msg(2)] }));
    expect(result.current.joined).toBe(true);
    expect(result.current.messages.map((m) => m.id)).toEqual([1, 2]);
  });

  it('the owner opens the room with create-room (not counted as a viewer) and reads the history over REST', async () => {
    const loadHistory = vi.fn(async () => [msg(1), msg(2)]);
    const { socket, result } = setup({ owner: true, loadHistory });
    expect(socket.sent.map((s) => s.event)).toEqual(['create-room']);
    expect(socket.sent[0].payload).toEqual({ roomId: 'room1' });
    await act(async () => {
      await Promise.resolve();
      await Promise.resolve();
    });
    expect(loadHistory).toHaveBeenCalledWith('room1');
    expect(result.current.messages.map((m) => m.id)).toEqual([1, 2]);
    expect(result.current.joined).toBe(true);
  });

  it('room-error (e.g. an unknown room) is shown', () => {
    const { socket, result } = setup();
    act(() => socket.serverEmit('room-error', { code: 'room_not_found', message: 'No such room.' }));
    expect(result.current.error).toMatchObject({ code: 'room_not_found', message: 'No such room.' });
  });

  it('waits for the connection, then joins; re-joins after a reconnect', () => {
    const socket = new FakeSocket({ connected: false });
    const { result } = setup({ socket });
    expect(socket.sentOf('join-room')).toHaveLength(0);
    expect(result.current.connected).toBe(false);
    act(() => socket.connect());
    expect(socket.sentOf('join-room')).toHaveLength(1);
    expect(result.current.connected).toBe(true);
    act(() => socket.disconnect());
    expect(result.current.connected).toBe(false);
    act(() => socket.connect());
    expect(socket.sentOf('join-room')).toHaveLength(2);
  });

  it('counts as joined without a history after a grace period (server without chat)', () => {
    const { result } = setup();
    act(() => vi.advanceTimersByTime(JOIN_GRACE_MS + 10));
    expect(result.current.joined).toBe(true);
  });

  it('appends new messages, deduplicated, capped', () => {
    const { socket, result } = setup();
    act(() => {
      socket.serverEmit('chat-history', { messages: [msg(1)] });
      for (let i = 2; i <= MAX_MESSAGES + 20; i++) socket.serverEmit('new-message', msg(i));
      socket.serverEmit('new-message', msg(MAX_MESSAGES + 20));
    });
    expect(result.current.messages).toHaveLength(MAX_MESSAGES);
    expect(result.current.messages.at(-1).id).toBe(MAX_MESSAGES + 20);
  });

  it('sends with an ack: pending, then sent', () => {
    const { socket, result } = setup();
    let ok;
    act(() => {
      ok = result.current.sendMessage('  hello  ');
    });
    expect(ok).toBe(true);
    const sent = socket.lastOf('chat-message');
    expect(sent.payload).toEqual({ message: 'hello', roomId: 'room1' });
    expect(typeof sent.ack).toBe('function');
    expect(result.current.messages[0]).toMatchObject({ status: 'pending', message: 'hello', username: 'me' });
    act(() => sent.ack({ id: 42 }));
    expect(result.current.messages[0]).toMatchObject({ status: 'sent', id: 42 });
  });

  it('an ack with an error fails the message and shows the error (with its countdown)', () => {
    const { socket, result } = setup();
    act(() => {
      result.current.sendMessage('spam');
    });
    act(() => socket.lastOf('chat-message').ack({ error: { code: 'rate_limited', message: 'Slow down.', retryAfter: 5 } }));
    expect(result.current.messages[0]).toMatchObject({ status: 'failed', error: { code: 'rate_limited', message: 'Slow down.' } });
    expect(result.current.error).toMatchObject({ code: 'rate_limited', retryAfter: 5 });
    expect(result.current.error.until).toBeGreaterThan(Date.now());
  });

  it('an ack error given as a plain string is understood', () => {
    const { socket, result } = setup();
    act(() => {
      result.current.sendMessage('x');
    });
    act(() => socket.lastOf('chat-message').ack({ error: 'banned' }));
    expect(result.current.messages[0].status).toBe('failed');
    expect(result.current.error).toMatchObject({ code: 'banned', message: 'You are banned from this chat.' });
  });

  it('no ack within the time-out: failed; retry sends again', () => {
    const { socket, result } = setup();
    act(() => {
      result.current.sendMessage('are you there');
    });
    act(() => vi.advanceTimersByTime(ACK_TIMEOUT_MS + 1));
    const failed = result.current.messages[0];
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'timed_out' } });
    act(() => result.current.retry(failed.clientId));
    expect(result.current.messages[0].status).toBe('pending');
    expect(socket.sentOf('chat-message')).toHaveLength(2);
    act(() => socket.lastOf('chat-message').ack({ id: 5 }));
    expect(result.current.messages).toHaveLength(1);
    expect(result.current.messages[0]).toMatchObject({ status: 'sent', id: 5 });
  });

  it('chat-error from the server is shown and settles the pending message', () => {
    const { socket, result } = setup();
    act(() => {
      result.current.sendMessage('hi');
    });
    act(() => socket.serverEmit('chat-error', { code: 'slow_mode', message: 'Slow mode is on.', retryAfter: 10 }));
    expect(result.current.error).toMatchObject({ code: 'slow_mode', message: 'Slow mode is on.', retryAfter: 10 });
    expect(result.current.messages[0].status).toBe('failed');
    act(() => result.current.dismissError());
    expect(result.current.error).toBeNull();
  });

  it('refuses empty, too long, and signed-out sends without emitting', () => {
    const { socket, result, rerender } = setup();
    act(() => {
      expect(result.current.sendMessage('   ')).toBe(false);
      expect(result.current.sendMessage('x'.repeat(MAX_MESSAGE_LENGTH + 1))).toBe(false);
    });
    expect(result.current.error?.code).toBe('invalid_message');
    rerender({ roomId: 'room1', user: null });
    act(() => {
      expect(result.current.sendMessage('hello')).toBe(false);
    });
    expect(result.current.error?.code).toBe('not_authenticated');
    expect(socket.sentOf('chat-message')).toHaveLength(0);
  });

  it('deletions, clears, viewer counts and stream events', () => {
    const { socket, result } = setup();
    act(() => {
      socket.serverEmit('chat-history', { messages: [msg(1), msg(2)] });
      socket.serverEmit('message-deleted', { messageId: 1 });
      socket.serverEmit('viewer-joined', { userId: 3, username: 'x', viewerCount: 12 });
    });
    expect(result.current.messages[0].deleted).toBe(true);
    expect(result.current.viewerCount).toBe(12);
    act(() => socket.serverEmit('viewer-left', { userId: 3, username: 'x', viewerCount: 11 }));
    expect(result.current.viewerCount).toBe(11);
    act(() => socket.serverEmit('chat-cleared', {}));
    expect(result.current.messages).toHaveLength(1);
    expect(result.current.messages[0].system).toBe(true);
    expect(result.current.live).toBeNull();
    act(() => socket.serverEmit('stream-ended', { roomId: 'other-room', reason: 'x' }));
    expect(result.current.live).toBeNull();
    act(() => socket.serverEmit('stream-ended', { roomId: 'room1', reason: 'unpublished' }));
    expect(result.current.live).toBe(false);
    expect(result.current.endedReason).toBe('unpublished');
    act(() => socket.serverEmit('stream-started', { roomId: 'room1' }));
    expect(result.current.live).toBe(true);
    expect(result.current.endedReason).toBeNull();
  });

  it('moderation emits delete-message and clear-chat', () => {
    const { socket, result } = setup();
    act(() => {
      result.current.deleteMessage(9);
      result.current.clearChat();
    });
    expect(socket.lastOf('delete-message').payload).toEqual({ messageId: 9 });
    expect(socket.sentOf('clear-chat')).toHaveLength(1);
    expect(socket.lastOf('clear-chat').payload).toEqual({ roomId: 'room1' });
  });

  it('reactions: sent ones show at once, our echo is not doubled, others show and expire', () => {
    const { socket, result } = setup();
    act(() => result.current.sendReaction('🔥'));
    expect(socket.lastOf('send-reaction').payload).toEqual({ emoji: '🔥', roomId: 'room1' });
    expect(result.current.reactions).toHaveLength(1);
    act(() => socket.serverEmit('reaction', { emoji: '🔥', userId: 7 }));
    expect(result.current.reactions).toHaveLength(1);
    act(() => socket.serverEmit('reaction', { emoji: '❤️', userId: 8 }));
    expect(result.current.reactions.map((r) => r.emoji)).toEqual(['🔥', '❤️']);
    act(() => vi.advanceTimersByTime(5000));
    expect(result.current.reactions).toHaveLength(0);
  });

  it('leaves the room and removes its listeners on unmount; switches rooms cleanly', () => {
    const { socket, rerender, unmount, result } = setup();
    act(() => socket.serverEmit('chat-history', { messages: [msg(1)] }));
    rerender({ roomId: 'room2', user: me });
    expect(socket.sent.map((s) => s.event)).toEqual(['join-room', 'leave-room', 'join-room']);
    expect(socket.lastOf('join-room').payload).toEqual({ roomId: 'room2' });
    expect(result.current.messages).toHaveLength(0);
    unmount();
    expect(socket.lastOf('leave-room')).toBeTruthy();
    for (const e of ['new-message', 'chat-history', 'connect', 'chat-error', 'reaction', 'viewer-joined', 'stream-ended']) {
      expect(socket.listenerCount(e)).toBe(0);
    }
  });

  it('does nothing without a room or a socket', () => {
    const socket = new FakeSocket();
    renderHook(() => useChat(null, { socket, user: me }));
    expect(socket.sent).toHaveLength(0);
  });
});

describe('normalizeChatError', () => {
  it('accepts strings, objects and nothing', () => {
    expect(normalizeChatError(null)).toBeNull();
    expect(normalizeChatError('followers_only')).toEqual({ code: 'followers_only', message: 'Only followers can chat in this room.' });
    expect(normalizeChatError({ code: 'rate_limited' }).message).toMatch(/too quickly/);
    expect(normalizeChatError({ message: 'Custom' })).toMatchObject({ code: 'error', message: 'Custom' });
  });
});
