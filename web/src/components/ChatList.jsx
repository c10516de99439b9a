// components/ChatList.jsx - the message list: a fixed-height scroller (the page never grows with
// the chat) that follows new messages while the reader is at the bottom. Scrolling up pauses
// it: the list then stays exactly as it was (no jumps while reading, even when the chat floods
// and old messages are dropped), counts what arrived, and "N new messages" resumes.
// Everything users wrote is rendered as text.
import { memo, useCallback, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { Link } from 'react-router-dom';
import Icon from './Icon.jsx';
import { isNearBottom, nameHue } from '../lib/chatState.js';
import { formatClock } from '../lib/format.js';

// What a paused list shows: the messages it had when it paused, updated in place (deletions,
// ack states) but without the ones that arrived since.
export function pausedView(frozenKeys, frozenByKey, messages) {
  const current = new Map(messages.map((m) => [m.key, m]));
  const shown = frozenKeys.map((k) => current.get(k) || frozenByKey.get(k)).filter(Boolean);
  const keys = new Set(frozenKeys);
  const unseen = messages.filter((m) => !keys.has(m.key)).length;
  return { shown, unseen };
}

const Message = memo(function Message({ m, me, canModerate, onDelete, onTimeout, onBan, onRetry, onDiscard }) {
  if (m.system) {
    return (
      <li className="msg msg--system" data-testid="chat-system">
        {m.message}
      </li>
    );
  }
  const mine = me && m.userId != null && String(m.userId) === String(me.id);
  const mention = me && !mine && m.message && m.message.toLowerCase().includes(`@${me.username.toLowerCase()}`);
  const canDelete = m.id != null && !m.deleted && (canModerate || mine);
  const canPunish = canModerate && !mine && m.username;
  return (
    <li
      className={`msg msg--${m.status} ${mine ? 'msg--mine' : ''} ${mention ? 'msg--mention' : ''} ${m.deleted ? 'msg--deleted' : ''}`}
      data-testid="chat-message"
      data-status={m.status}
      data-message-id={m.id ?? ''}
    >
      <div className="msg__line">
        {m.timestamp ? (
          <time className="msg__time" dateTime={m.timestamp}>
            {formatClock(m.timestamp)}
          </time>
        ) : null}
        <Link to={`/u/${encodeURIComponent(m.username)}`} className="msg__user" style={{ '--hue': nameHue(m.username) }}>
          {m.username}
        </Link>
        <span className="msg__sep" aria-hidden="true">
          :{' '}
        </span>
        {m.deleted ? (
          <span className="msg__text msg__text--deleted">message deleted</span>
        ) : (
          <span className="msg__text" data-testid="chat-message-text">
            {m.message}
          </span>
        )}
        {m.status === 'pending' ? (
          <span className="msg__state" title="Sending…">
            <Icon name="clock" size={12} />
            <span className="visually-hidden">(sending)</span>
          </span>
        ) : null}
      </div>
      {m.status === 'failed' ? (
        <div className="msg__failed" role="alert">
          <span>Not sent{m.error?.message ? `: ${m.error.message}` : ''}</span>
          <button type="button" className="btn btn--link btn--tiny" onClick={() => onRetry(m.clientId)}>
            Retry
          </button>
          <button type="button" className="btn btn--link btn--tiny" onClick={() => onDiscard(m.clientId)}>
            Discard
          </button>
        </div>
      ) : null}
      {canDelete || canPunish ? (
        <div className="msg__tools" role="group" aria-label={`Moderate message from ${m.username}`}>
          {canDelete ? (
            <button type="button" className="icon-btn icon-btn--tiny" aria-label={`Delete message from ${m.username}`} title="Delete" onClick={() => onDelete(m.id)} data-testid="delete-message">
              <Icon name="trash" size={14} />
            </button>
          ) : null}
          {canPunish ? (
            <>
              <button type="button" className="icon-btn icon-btn--tiny" aria-label={`Time out ${m.username} for 10 minutes`} title="Timeout 10 min" onClick={() => onTimeout(m.username)} data-testid="timeout-user">
                <Icon name="clock" size={14} />
              </button>
              <button type="button" className="icon-btn icon-btn--tiny icon-btn--danger" aria-label={`Ban ${m.username}`} title="Ban" onClick={() => onBan(m.username)} data-testid="ban-user">
                <Icon name="ban" size={14} />
              </button>
            </>
          ) : null}
        </div>
      ) : null}
    </li>
  );
});

const noop = () => {};

export default function ChatList({ messages, me = null, canModerate = false, epoch = 0, onDelete = noop, onTimeout = noop, onBan = noop, onRetry = noop, onDiscard = noop, emptyText = 'Welcome to the chat! Say hi.' }) {
  const ref = useRef(null);
  const [paused, setPaused] = useState(null); // null or {keys, byKey}
  const [lastEpoch, setLastEpoch] = useState(epoch);
  if (epoch !== lastEpoch) {
    // the chat was cleared or the room changed: nothing to hold on to
    setLastEpoch(epoch);
    setPaused(null);
  }

  const view = useMemo(() => {
    if (!paused) return { shown: messages, unseen: 0 };
    return pausedView(paused.keys, paused.byKey, messages);
  }, [paused, messages]);

  // Follow the end while not paused.
  useLayoutEffect(() => {
    const el = ref.current;
    if (el && !paused) el.scrollTop = el.scrollHeight;
  }, [view.shown, paused]);

  const onScroll = useCallback(() => {
    const el = ref.current;
    if (!el) return;
    const bottom = isNearBottom(el);
    if (!bottom && !paused) {
      setPaused({ keys: messages.map((m) => m.key), byKey: new Map(messages.map((m) => [m.key, m])) });
    } else if (bottom && paused) {
      setPaused(null);
    }
  }, [paused, messages]);

  const resume = useCallback(() => {
    setPaused(null);
    requestAnimationFrame(() => {
      const el = ref.current;
      if (el) el.scrollTop = el.scrollHeight;
    });
  }, []);

  return (
    <div className="chat-list-wrap">
      <div ref={ref} className="chat-list" onScroll={onScroll} role="log" aria-label="Chat messages" aria-live="polite" aria-relevant="additions" tabIndex={0} data-testid="chat-list">
        {view.shown.length === 0 ? <p className="chat-list__empty">{emptyText}</p> : null}
        <ul className="chat-list__items">
          {view.shown.map((m) => (
            <Message key={m.key} m={m} me={me} canModerate={canModerate} onDelete={onDelete} onTimeout={onTimeout} onBan={onBan} onRetry={onRetry} onDiscard={onDiscard} />
          ))}
        </ul>
      </div>
      {paused ? (
        <button type="button" className="chat-resume" onClick={resume} data-testid="chat-resume">
          <Icon name="arrowDown" size={16} />
          {view.unseen > 0 ? `${view.unseen > 99 ? '99+' : view.unseen} new message${view.unseen === 1 ? '' : 's'}` : 'Chat paused — back to latest'}
        </button>
      ) : null}
    </div>
  );
}
