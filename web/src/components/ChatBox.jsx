// components/ChatBox.jsx - the room's chat panel: header, room modes, the message list, errors
// (rate limit and slow-mode countdowns, bans) and the input with its send state.
import { useEffect, useRef, useState } from 'react';
import { Link, useLocation } from 'react-router-dom';
import ChatList from './ChatList.jsx';
import Icon from './Icon.jsx';
import ConfirmDialog from './ConfirmDialog.jsx';
import { useAuth } from '../hooks/useAuth.jsx';
import { useNow } from '../hooks/useNow.js';
import { MAX_MESSAGE_LENGTH } from '../hooks/useChat.js';
import { formatWait } from '../services/api.js';

function modeText(room) {
  const parts = [];
  if (room?.slowModeSeconds > 0) parts.push(`Slow mode: one message every ${formatWait(room.slowModeSeconds)}`);
  if (room?.followersOnly) parts.push('Followers-only chat');
  return parts;
}

export default function ChatBox({ chat, room, canModerate = false, onTimeout, onBan, footer = null, title = 'Chat', compactHeader = false }) {
  const { user } = useAuth();
  const location = useLocation();
  const [text, setText] = useState('');
  const [cooldownUntil, setCooldownUntil] = useState(0);
  const [confirmClear, setConfirmClear] = useState(false);
  const inputRef = useRef(null);

  const errorUntil = chat.error?.until || 0;
  const blockedUntil = Math.max(cooldownUntil, errorUntil);
  const now = useNow(500, blockedUntil > Date.now());
  const waitLeft = blockedUntil > now ? Math.ceil((blockedUntil - now) / 1000) : 0;
  const banned = chat.error?.code === 'banned' && !chat.error?.until;

  // an error with a countdown clears itself when the time is up
  useEffect(() => {
    if (chat.error?.until && chat.error.until <= now) chat.dismissError();
  }, [now, chat.error, chat.dismissError]);

  const slow = Number(room?.slowModeSeconds) || 0;
  const length = [...text].length;
  const tooLong = length > MAX_MESSAGE_LENGTH;
  const canSend = Boolean(user) && text.trim() && !tooLong && !waitLeft && !banned;

  const submit = (e) => {
    e.preventDefault();
    if (!canSend) return;
    if (chat.sendMessage(text)) {
      setText('');
      if (slow > 0 && !canModerate) setCooldownUntil(Date.now() + slow * 1000);
    }
    inputRef.current?.focus();
  };

  const modes = modeText(room);
  return (
    <section className="chat" aria-label={title} data-testid="chat">
      <header className={`chat__head ${compactHeader ? 'chat__head--compact' : ''}`}>
        <h2 className="chat__title">{title}</h2>
        <span className={`conn ${chat.connected ? 'conn--up' : 'conn--down'}`} data-testid="chat-connection">
          <span className="dot" aria-hidden="true" />
          {chat.connected ? (chat.joined ? 'Connected' : 'Joining…') : 'Reconnecting…'}
        </span>
        {canModerate ? (
          <button type="button" className="btn btn--ghost btn--tiny chat__clear" onClick={() => setConfirmClear(true)} data-testid="clear-chat">
            Clear chat
          </button>
        ) : null}
      </header>
      {modes.length ? (
        <div className="chat__modes" data-testid="chat-modes">
          {modes.map((m) => (
            <span key={m} className="chip chip--muted">
              {m}
            </span>
          ))}
        </div>
      ) : null}
      <ChatList
        messages={chat.messages}
        epoch={chat.epoch}
        me={user}
        canModerate={canModerate}
        onDelete={chat.deleteMessage}
        onTimeout={onTimeout}
        onBan={onBan}
        onRetry={chat.retry}
        onDiscard={chat.discard}
      />
      {chat.error ? (
        <div className={`chat__error ${chat.error.code === 'banned' ? 'chat__error--ban' : ''}`} role="alert" data-testid="chat-error" data-code={chat.error.code}>
          <span>
            {chat.error.message}
            {waitLeft && errorUntil > now ? ` Try again in ${formatWait(Math.ceil((errorUntil - now) / 1000))}.` : ''}
          </span>
          <button type="button" className="icon-btn icon-btn--tiny" aria-label="Dismiss" onClick={chat.dismissError}>
            <Icon name="close" size={14} />
          </button>
        </div>
      ) : null}
      {user ? (
        <form className="chat__form" onSubmit={submit}>
          <label htmlFor="chat-input" className="visually-hidden">
            Send a message
          </label>
          <div className="chat__inputrow">
            <input
              id="chat-input"
              ref={inputRef}
              className="input chat__input"
              placeholder={banned ? 'You cannot chat in this room' : waitLeft ? `Wait ${waitLeft} s…` : 'Send a message'}
              value={text}
              onChange={(e) => setText(e.target.value)}
              maxLength={MAX_MESSAGE_LENGTH * 2}
              autoComplete="off"
              disabled={banned}
              aria-invalid={tooLong || undefined}
              aria-describedby="chat-hint"
              data-testid="chat-input"
            />
            <button type="submit" className="btn btn--primary chat__send" disabled={!canSend} data-testid="chat-send">
              {waitLeft ? `${waitLeft}s` : 'Chat'}
            </button>
          </div>
          <div className="chat__below">
            {footer}
            <span id="chat-hint" className={`chat__count ${tooLong ? 'chat__count--over' : ''}`} aria-live="polite">
              {length > MAX_MESSAGE_LENGTH - 100 ? `${length}/${MAX_MESSAGE_LENGTH}` : ''}
            </span>
          </div>
        </form>
      ) : (
        <div className="chat__signin">
          {footer}
          <p>
            <Link to="/login" state={{ from: location.pathname }} className="btn btn--primary btn--small">
              Log in to chat
            </Link>{' '}
            <Link to="/register" state={{ from: location.pathname }} className="btn btn--ghost btn--small">
              Sign up
            </Link>
          </p>
        </div>
      )}
      {canModerate ? (
        <ConfirmDialog
          open={confirmClear}
          title="Clear the chat?"
          confirmLabel="Clear chat"
          danger
          onCancel={() => setConfirmClear(false)}
          onConfirm={() => {
            chat.clearChat();
            setConfirmClear(false);
          }}
        >
          Every message disappears for everyone in the room. This cannot be undone.
        </ConfirmDialog>
      ) : null}
    </section>
  );
}
