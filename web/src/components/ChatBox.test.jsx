import { afterEach, describe, expect, it, vi } from 'vitest';
import { act, fireEvent, render, screen } from '@testing-library/react';
import { MemoryRouter } from 'react-router-dom';
import { AuthContext } from '../hooks/useAuth.jsx';
import { useChat } from '../hooks/useChat.js';
import ChatBox from './ChatBox.jsx';
import { FakeSocket } from '../test/fakeSocket.js';

function Harness({ socket, user, room = { id: 'r1', slowModeSeconds: 0 }, canModerate = false }) {
  const chat = useChat('r1', { socket, user });
  return <ChatBox chat={chat} room={room} canModerate={canModerate} />;
}

function renderBox({ user = { id: 7, username: 'me' }, ...rest } = {}) {
  const socket = new FakeSocket();
  const auth = { user, token: user ? 't' : null, isAuthenticated: Boolean(user) };
  render(
    <MemoryRouter>
      <AuthContext.Provider value={auth}>
        <Harness socket={socket} user={user} {...rest} />
      </AuthContext.Provider>
    </MemoryRouter>,
  );
  return socket;
}

afterEach(() => vi.useRealTimers());

describe('ChatBox', () => {
  it('sends on Enter, clears the input and shows the message as pending then sent', () => {
    const socket = renderBox();
    const input = screen.getByTestId('chat-input');
    expect(screen.getByTestId('chat-send')).toBeDisabled();
    fireEvent.change(input, { target: { value: 'hello world' } });
    fireEvent.submit(input.closest('form'));
    expect(input.value).toBe('');
    const item = screen.getByTestId('chat-message');
    expect(item.dataset.status).toBe('pending');
    act(() => socket.lastOf('chat-message').ack({ id: 1 }));
    expect(screen.getByTestId('chat-message').dataset.status).toBe('sent');
  });

  it('shows a rate limit with its countdown and blocks sending until it passes', () => {
    vi.useFakeTimers();
    const socket = renderBox();
    act(() => socket.serverEmit('chat-error', { code: 'rate_limited', message: 'You are sending messages too quickly.', retryAfter: 3 }));
    const err = screen.getByTestId('chat-error');
    expect(err).toHaveAttribute('data-code', 'rate_limited');
    expect(err).toHaveTextContent('Try again in 3 s');
    fireEvent.change(screen.getByTestId('chat-input'), { target: { value: 'again' } });
    expect(screen.getByTestId('chat-send')).toBeDisabled();
    act(() => vi.advanceTimersByTime(3600));
    expect(screen.queryByTestId('chat-error')).toBeNull();
    expect(screen.getByTestId('chat-send')).not.toBeDisabled();
  });

  it('a ban disables the input', () => {
    const socket = renderBox();
    act(() => socket.serverEmit('chat-error', { code: 'banned', message: 'You are banned from this chat.' }));
    expect(screen.getByTestId('chat-error')).toHaveTextContent('banned');
    expect(screen.getByTestId('chat-input')).toBeDisabled();
  });

  it('shows the room modes', () => {
    renderBox({ room: { id: 'r1', slowModeSeconds: 30, followersOnly: true } });
    expect(screen.getByTestId('chat-modes')).toHaveTextContent('Slow mode: one message every 30 s');
    expect(screen.getByTestId('chat-modes')).toHaveTextContent('Followers-only chat');
  });

  it('signed-out visitors are invited to log in instead of an input', () => {
    renderBox({ user: null });
    expect(screen.queryByTestId('chat-input')).toBeNull();
    expect(screen.getByRole('link', { name: 'Log in to chat' })).toHaveAttribute('href', '/login');
  });

  it('moderators can clear the chat after confirming', () => {
    HTMLDialogElement.prototype.showModal ??= function showModal() {
      this.setAttribute('open', '');
    };
    HTMLDialogElement.prototype.close ??= function close() {
      this.removeAttribute('open');
    };
    const socket = renderBox({ canModerate: true });
    fireEvent.click(screen.getByTestId('clear-chat'));
    expect(socket.sentOf('clear-chat')).toHaveLength(0);
    fireEvent.click(screen.getByTestId('confirm-button'));
    expect(socket.sentOf('clear-chat')).toHaveLength(1);
  });
});
