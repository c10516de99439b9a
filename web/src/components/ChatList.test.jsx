import { describe, expect, it } from 'vitest';
import { act, fireEvent, render, screen, within } from '@testing-library/react';
import { MemoryRouter } from 'react-router-dom';
import ChatList, { pausedView } from './ChatList.jsx';
import { chatReducer, initialChatState } from '../lib/chatState.js';

const msg = (id, extra = {}) => ({ id, userId: 10, username: 'bob', message: `m${id}`, timestamp: '2025-01-01T00:00:00.000Z', ...extra });
const stateOf = (messages) => chatReducer(initialChatState, { type: 'history', messages });

function renderList(props) {
  const utils = render(
    <MemoryRouter>
      <ChatList {...props} />
    </MemoryRouter>,
  );
  const rerender = (p) =>
    utils.rerender(
      <MemoryRouter>
        <ChatList {...p} />
      </MemoryRouter>,
    );
  return { ...utils, rerender };
}

// jsdom does no layout: give the scroller a size and let scrollTop be set freely.
function fakeLayout(el, { height = 300, rowHeight = 20 } = {}) {
  let top = 0;
  Object.defineProperty(el, 'clientHeight', { configurable: true, get: () => height });
  Object.defineProperty(el, 'scrollHeight', { configurable: true, get: () => el.querySelectorAll('li').length * rowHeight });
  Object.defineProperty(el, 'scrollTop', {
    configurable: true,
    get: () => top,
    set: (v) => {
      top = Math.max(0, Math.min(v, el.scrollHeight - height));
    },
  });
}

describe('ChatList', () => {
  it('renders what users wrote as text, never as HTML', () => {
    const evil = '<img src=x onerror="window.__pwned=1"><b>bold</b>';
    renderList({ messages: stateOf([msg(1, { message: evil, username: '<script>x</script>' })]).messages });
    const item = screen.getByTestId('chat-message');
    expect(within(item).getByTestId('chat-message-text').textContent).toBe(evil);
    expect(item.querySelector('img')).toBeNull();
    expect(item.querySelector('b')).toBeNull();
    expect(item.querySelector('script')).toBeNull();
    expect(screen.getByText('<script>x</script>')).toBeInTheDocument();
    expect(window.__pwned).toBeUndefined();
  });

  it('shows the send state and offers retry / discard for failed messages', () => {
    let s = chatReducer(initialChatState, { type: 'send', clientId: 'a', message: 'pending one', user: { id: 7, username: 'me' } });
    s = chatReducer(s, { type: 'send', clientId: 'b', message: 'failed one', user: { id: 7, username: 'me' } });
    s = chatReducer(s, { type: 'fail', clientId: 'b', error: { code: 'banned', message: 'You are banned.' } });
    const retried = [];
    const discarded = [];
    renderList({ messages: s.messages, me: { id: 7, username: 'me' }, onRetry: (c) => retried.push(c), onDiscard: (c) => discarded.push(c) });
    const [a, b] = screen.getAllByTestId('chat-message');
    expect(a.dataset.status).toBe('pending');
    expect(within(a).getByText('(sending)')).toBeInTheDocument();
    expect(b.dataset.status).toBe('failed');
    expect(within(b).getByRole('alert')).toHaveTextContent('Not sent: You are banned.');
    fireEvent.click(within(b).getByRole('button', { name: 'Retry' }));
    fireEvent.click(within(b).getByRole('button', { name: 'Discard' }));
    expect(retried).toEqual(['b']);
    expect(discarded).toEqual(['b']);
  });

  it('moderators get delete / timeout / ban buttons; viewers only on their own messages', () => {
    const messages = stateOf([msg(1, { userId: 10, username: 'bob' }), msg(2, { userId: 7, username: 'me' })]).messages;
    const calls = [];
    const { rerender } = renderList({ messages, me: { id: 7, username: 'me' }, canModerate: false, onDelete: (id) => calls.push(['del', id]) });
    expect(screen.queryByRole('button', { name: 'Ban bob' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Delete message from bob' })).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Delete message from me' }));
    rerender({ messages, me: { id: 7, username: 'me' }, canModerate: true, onDelete: (id) => calls.push(['del', id]), onBan: (u) => calls.push(['ban', u]), onTimeout: (u) => calls.push(['to', u]) });
    fireEvent.click(screen.getByRole('button', { name: 'Delete message from bob' }));
    fireEvent.click(screen.getByRole('button', { name: 'Time out bob for 10 minutes' }));
    fireEvent.click(screen.getByRole('button', { name: 'Ban bob' }));
    expect(screen.queryByRole('button', { name: 'Ban me' })).toBeNull();
    expect(calls).toEqual([
      ['del', 2],
      ['del', 1],
      ['to', 'bob'],
      ['ban', 'bob'],
    ]);
  });

  it('deleted messages show a placeholder instead of their text', () => {
    let s = stateOf([msg(1, { message: 'rude words' })]);
    s = chatReducer(s, { type: 'delete', messageId: 1 });
    renderList({ messages: s.messages });
    expect(screen.queryByText('rude words')).toBeNull();
    expect(screen.getByText('message deleted')).toBeInTheDocument();
  });

  it('follows new messages at the bottom; scrolling up pauses and holds the view still', () => {
    let s = stateOf(Array.from({ length: 30 }, (_, i) => msg(i + 1)));
    const { rerender } = renderList({ messages: s.messages });
    const list = screen.getByTestId('chat-list');
    fakeLayout(list);
    // new message while at the bottom: scrolled to the end
    s = chatReducer(s, { type: 'receive', message: msg(31) });
    rerender({ messages: s.messages });
    expect(list.scrollTop).toBe(31 * 20 - 300);

    // the reader scrolls up
    act(() => {
      list.scrollTop = 100;
      fireEvent.scroll(list);
    });
    for (let i = 32; i <= 40; i++) s = chatReducer(s, { type: 'receive', message: msg(i) });
    rerender({ messages: s.messages });
    expect(list.scrollTop).toBe(100);
    expect(screen.getAllByTestId('chat-message')).toHaveLength(31); // frozen
    const resume = screen.getByTestId('chat-resume');
    expect(resume).toHaveTextContent('9 new messages');

    // back to the latest
    act(() => {
      fireEvent.click(resume);
    });
    expect(screen.queryByTestId('chat-resume')).toBeNull();
    expect(screen.getAllByTestId('chat-message')).toHaveLength(40);
  });

  it('a paused list still applies deletions to what it shows, and keeps messages capped away', () => {
    const keys = ['m:1', 'm:2'];
    const byKey = new Map([
      ['m:1', { key: 'm:1', id: 1, message: 'a' }],
      ['m:2', { key: 'm:2', id: 2, message: 'b' }],
    ]);
    const now = [
      { key: 'm:2', id: 2, message: '', deleted: true },
      { key: 'm:3', id: 3, message: 'c' },
    ];
    const v = pausedView(keys, byKey, now);
    expect(v.shown.map((m) => [m.id, Boolean(m.deleted)])).toEqual([
      [1, false],
      [2, true],
    ]);
    expect(v.unseen).toBe(1);
  });

  it('a clear while paused resumes', () => {
    let s = stateOf(Array.from({ length: 30 }, (_, i) => msg(i + 1)));
    const { rerender } = renderList({ messages: s.messages, epoch: s.epoch });
    const list = screen.getByTestId('chat-list');
    fakeLayout(list);
    act(() => {
      list.scrollTop = 0;
      fireEvent.scroll(list);
    });
    expect(screen.getByTestId('chat-resume')).toBeInTheDocument();
    s = chatReducer(s, { type: 'clear' });
    rerender({ messages: s.messages, epoch: s.epoch });
    expect(screen.queryByTestId('chat-resume')).toBeNull();
    expect(screen.queryAllByTestId('chat-message')).toHaveLength(0);
    expect(screen.getByTestId('chat-system')).toHaveTextContent(/cleared/);
  });

  it('highlights mentions of the signed-in user', () => {
    renderList({ messages: stateOf([msg(1, { message: 'hey @Me look' })]).messages, me: { id: 7, username: 'me' } });
    expect(screen.getByTestId('chat-message').className).toMatch(/msg--mention/);
  });
});
