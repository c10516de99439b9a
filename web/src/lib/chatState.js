// lib/chatState.js - the chat list as a pure reducer, so that its rules are testable on their
// own: history on join, live messages deduplicated by id, optimistic sends (pending -> sent or
// failed) reconciled whether the ack or the room's broadcast arrives first, deletions, clears,
// system notices, and a cap on the list so that a flood never grows the page.

export const MAX_MESSAGES = 200;

export const initialChatState = { messages: [], epoch: 0 };

let seq = 0;
export function nextClientId() {
  seq += 1;
  return `c${Date.now().toString(36)}${seq.toString(36)}`;
}

function cap(list, max = MAX_MESSAGES) {
  return list.length > max ? list.slice(list.length - max) : list;
}

function fromServer(m) {
  return {
    key: `m:${m.id}`,
    id: m.id,
    userId: m.userId ?? null,
    username: m.username || 'unknown',
    message: typeof m.message === 'string' ? m.message : String(m.message ?? ''),
    timestamp: m.timestamp || null,
    status: 'sent',
  };
}

const sameId = (a, b) => a != null && b != null && String(a) === String(b);

export function chatReducer(state, action) {
  switch (action.type) {
    case 'history': {
      const incoming = (action.messages || []).filter((m) => m && m.id != null).map(fromServer);
      const ids = new Set(incoming.map((m) => String(m.id)));
      // keep what this client is still sending (or failed to send)
      const local = state.messages.filter((m) => !m.system && m.status !== 'sent' && !(m.id != null && ids.has(String(m.id))));
      return { ...state, messages: cap([...incoming, ...local]) };
    }
    case 'receive': {
      const m = action.message;
      if (!m || m.id == null) return state;
      if (state.messages.some((x) => sameId(x.id, m.id))) return state;
      // our own message coming back before its ack: settle the pending entry in place
      if (action.selfId != null && sameId(m.userId, action.selfId)) {
        const i = state.messages.findIndex((x) => (x.status === 'pending' || x.status === 'failed') && x.id == null && x.message === m.message);
        if (i >= 0) {
          const messages = state.messages.slice();
          messages[i] = { ...messages[i], ...fromServer(m), key: messages[i].key, clientId: messages[i].clientId, error: undefined };
          return { ...state, messages };
        }
      }
      return { ...state, messages: cap([...state.messages, fromServer(m)]) };
    }
    case 'send': {
      const entry = {
        key: `c:${action.clientId}`,
        clientId: action.clientId,
        id: null,
        userId: action.user?.id ?? null,
        username: action.user?.username || 'you',
        message: action.message,
        timestamp: action.timestamp || new Date().toISOString(),
        status: 'pending',
      };
      return { ...state, messages: cap([...state.messages, entry]) };
    }
    case 'ack': {
      const i = state.messages.findIndex((x) => x.clientId === action.clientId);
      if (i < 0) return state;
      // the broadcast already added this message under its id: drop the local copy
      if (action.id != null && state.messages.some((x, j) => j !== i && sameId(x.id, action.id))) {
        return { ...state, messages: state.messages.filter((_, j) => j !== i) };
      }
      const messages = state.messages.slice();
      messages[i] = { ...messages[i], id: action.id ?? messages[i].id, status: 'sent', error: undefined };
      return { ...state, messages };
    }
    case 'fail': {
      const i = state.messages.findIndex((x) => x.clientId === action.clientId);
      if (i < 0 || state.messages[i].status === 'sent') return state;
      const messages = state.messages.slice();
      messages[i] = { ...messages[i], status: 'failed', error: action.error || null };
      return { ...state, messages };
    }
    case 'retry': {
      const i = state.messages.findIndex((x) => x.clientId === action.clientId);
      if (i < 0) return state;
      const messages = state.messages.slice();
      messages[i] = { ...messages[i], status: 'pending', error: undefined };
      return { ...state, messages };
    }
    case 'discard':
      return { ...state, messages: state.messages.filter((x) => x.clientId !== action.clientId) };
    case 'delete': {
      let changed = false;
      const messages = state.messages.map((x) => {
        if (!sameId(x.id, action.messageId)) return x;
        changed = true;
        return { ...x, deleted: true, message: '' };
      });
      return changed ? { ...state, messages } : state;
    }
    case 'clear':
      return {
        ...state,
        epoch: state.epoch + 1,
        messages: [systemNote(action.text || 'Chat was cleared by a moderator.')],
      };
    case 'system':
      return { ...state, messages: cap([...state.messages, systemNote(action.text)]) };
    case 'reset':
      return { messages: [], epoch: state.epoch + 1 };
    default:
      return state;
  }
}

function systemNote(text) {
  const id = nextClientId();
  return { key: `s:${id}`, clientId: id, id: null, system: true, message: text, status: 'sent', timestamp: new Date().toISOString() };
}

// Whether a scrollable element is scrolled to (near) its end.
export function isNearBottom({ scrollTop, scrollHeight, clientHeight }, threshold = 48) {
  return scrollHeight - scrollTop - clientHeight <= threshold;
}

// A stable hue per user name, for name colours.
export function nameHue(name = '') {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
  return h % 360;
}
