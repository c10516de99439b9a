import { describe, expect, it } from 'vitest';
import { MAX_MESSAGES, chatReducer, initialChatState, isNearBottom, nameHue } from './chatState.js';

const msg = (id, extra = {}) => ({ id, userId: 10, username: 'bob', message: `m${id}`, timestamp: '2025-01-01T00:00:00.000Z', ...extra });
const run = (actions, state = initialChatState) => actions.reduce(chatReducer, state);

describe('chatReducer', () => {
  it('loads the history, newest last, and skips malformed entries', () => {
    const s = run([{ type: 'history', messages: [msg(1), null, { message: 'no id' }, msg(2)] }]);
    expect(s.messages.map((m) => m.id)).toEqual([1, 2]);
    expect(s.messages[0]).toMatchObject({ key: 'm:1', status: 'sent', username: 'bob', message: 'm1' });
  });

  it('appends live messages and ignores duplicates by id', () => {
    const s = run([
      { type: 'history', messages: [msg(1)] },
      { type: 'receive', message: msg(2) },
      { type: 'receive', message: msg(2) },
      { type: 'receive', message: msg('1') },
    ]);
    expect(s.messages.map((m) => m.id)).toEqual([1, 2]);
  });

  it('keeps only the last MAX_MESSAGES messages', () => {
    let s = initialChatState;
    for (let i = 1; i <= MAX_MESSAGES + 50; i++) s = chatReducer(s, { type: 'receive', message: msg(i) });
    expect(s.messages).toHaveLength(MAX_MESSAGES);
    expect(s.messages[0].id).toBe(51);
    expect(s.messages[MAX_MESSAGES - 1].id).toBe(MAX_MESSAGES + 50);
  });

  it('a send is pending until its ack, then sent with the server id (same key)', () => {
    let s = run([{ type: 'send', clientId: 'c1', message: 'hello', user: { id: 7, username: 'me' } }]);
    expect(s.messages[0]).toMatchObject({ status: 'pending', id: null, username: 'me', key: 'c:c1' });
    s = chatReducer(s, { type: 'ack', clientId: 'c1', id: 99 });
    expect(s.messages[0]).toMatchObject({ status: 'sent', id: 99, key: 'c:c1' });
    // the broadcast of the same message afterwards is a duplicate
    s = chatReducer(s, { type: 'receive', message: msg(99, { userId: 7, username: 'me', message: 'hello' }), selfId: 7 });
    expect(s.messages).toHaveLength(1);
  });

  it('the broadcast of our own message arriving before the ack settles the pending entry in place', () => {
    let s = run([
      { type: 'send', clientId: 'c1', message: 'hello', user: { id: 7, username: 'me' } },
      { type: 'receive', message: msg(5, { userId: 8, username: 'other', message: 'hey' }) },
      { type: 'receive', message: msg(6, { userId: 7, username: 'me', message: 'hello' }), selfId: 7 },
    ]);
    expect(s.messages.map((m) => [m.id, m.status, m.key])).toEqual([
      [6, 'sent', 'c:c1'],
      [5, 'sent', 'm:5'],
    ]);
    s = chatReducer(s, { type: 'ack', clientId: 'c1', id: 6 });
    expect(s.messages).toHaveLength(2);
    expect(s.messages[0]).toMatchObject({ id: 6, status: 'sent' });
  });

  it('an ack whose id is already listed (unmatched broadcast) drops the local copy', () => {
    const s = run([
      { type: 'send', clientId: 'c1', message: 'hello', user: { id: 7, username: 'me' } },
      { type: 'receive', message: msg(6, { userId: 7, username: 'me', message: 'hello (edited by server)' }), selfId: 7 },
      { type: 'ack', clientId: 'c1', id: 6 },
    ]);
    expect(s.messages.map((m) => m.id)).toEqual([6]);
  });

  it('a refused send is failed with its error; retry makes it pending again; discard removes it', () => {
    let s = run([
      { type: 'send', clientId: 'c1', message: 'spam', user: { id: 7, username: 'me' } },
      { type: 'fail', clientId: 'c1', error: { code: 'rate_limited', message: 'Slow down.' } },
    ]);
    expect(s.messages[0]).toMatchObject({ status: 'failed', error: { code: 'rate_limited' } });
    s = chatReducer(s, { type: 'retry', clientId: 'c1' });
    expect(s.messages[0].status).toBe('pending');
    s = chatReducer(s, { type: 'discard', clientId: 'c1' });
    expect(s.messages).toHaveLength(0);
  });

  it('a late ack after a time-out still marks the message sent', () => {
    const s = run([
      { type: 'send', clientId: 'c1', message: 'slow', user: { id: 7, username: 'me' } },
      { type: 'fail', clientId: 'c1', error: { code: 'timed_out' } },
      { type: 'ack', clientId: 'c1', id: 3 },
    ]);
    expect(s.messages[0]).toMatchObject({ status: 'sent', id: 3 });
  });

  it('a failure never downgrades a message already sent', () => {
    const s = run([
      { type: 'send', clientId: 'c1', message: 'x', user: { id: 7 } },
      { type: 'ack', clientId: 'c1', id: 1 },
      { type: 'fail', clientId: 'c1', error: { code: 'timed_out' } },
    ]);
    expect(s.messages[0].status).toBe('sent');
  });

  it('history after a reconnect keeps what is still being sent', () => {
    const s = run([
      { type: 'history', messages: [msg(1)] },
      { type: 'send', clientId: 'c1', message: 'typed while offline', user: { id: 7 } },
      { type: 'history', messages: [msg(1), msg(2)] },
    ]);
    expect(s.messages.map((m) => m.id ?? m.clientId)).toEqual([1, 2, 'c1']);
  });

  it('deleted messages lose their text; clear leaves one notice and bumps the epoch', () => {
    let s = run([{ type: 'history', messages: [msg(1), msg(2)] }, { type: 'delete', messageId: '2' }]);
    expect(s.messages[1]).toMatchObject({ deleted: true, message: '' });
    expect(s.messages[0].deleted).toBeUndefined();
    const epoch = s.epoch;
    s = chatReducer(s, { type: 'clear' });
    expect(s.messages).toHaveLength(1);
    expect(s.messages[0]).toMatchObject({ system: true });
    expect(s.epoch).toBe(epoch + 1);
  });

  it('unknown actions and deletes of unknown ids return the same state', () => {
    const s = run([{ type: 'history', messages: [msg(1)] }]);
    expect(chatReducer(s, { type: 'nope' })).toBe(s);
    expect(chatReducer(s, { type: 'delete', messageId: 42 })).toBe(s);
  });

  it('coerces non-string message bodies to text', () => {
    const s = run([{ type: 'receive', message: { id: 1, username: 'x', message: { toString: () => 'obj' } } }]);
    expect(typeof s.messages[0].message).toBe('string');
  });
});

describe('helpers', () => {
  it('isNearBottom', () => {
    expect(isNearBottom({ scrollTop: 552, scrollHeight: 1000, clientHeight: 400 })).toBe(true);
    expect(isNearBottom({ scrollTop: 100, scrollHeight: 1000, clientHeight: 400 })).toBe(false);
    expect(isNearBottom({ scrollTop: 0, scrollHeight: 300, clientHeight: 400 })).toBe(true);
  });
  it('nameHue is stable and in range', () => {
    expect(nameHue('alice')).toBe(nameHue('alice'));
    expect(nameHue('alice')).toBeGreaterThanOrEqual(0);
    expect(nameHue('alice')).toBeLessThan(360);
  });
});
