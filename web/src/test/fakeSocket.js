// A stand-in for a socket.io-client Socket: records what the app emits, lets a test play the
// server (serverEmit), answer acks, and connect / disconnect.
export class FakeSocket {
  constructor({ connected = true } = {}) {
    this.connected = connected;
    this.handlers = new Map();
    this.sent = []; // {event, payload, ack}
  }
  on(event, fn) {
    if (!this.handlers.has(event)) this.handlers.set(event, new Set());
    this.handlers.get(event).add(fn);
    return this;
  }
  off(event, fn) {
    this.handlers.get(event)?.delete(fn);
    return this;
  }
  emit(event, ...args) {
    const ack = typeof args[args.length - 1] === 'function' ? args.pop() : null;
    this.sent.push({ event, payload: args[0], ack });
    return this;
  }
  serverEmit(event, payload) {
    for (const fn of [...(this.handlers.get(event) || [])]) fn(payload);
  }
  listenerCount(event) {
    return this.handlers.get(event)?.size || 0;
  }
  sentOf(event) {
    return this.sent.filter((s) => s.event === event);
  }
  lastOf(event) {
    const list = this.sentOf(event);
    return list[list.length - 1];
  }
  connect() {
    this.connected = true;
    this.serverEmit('connect');
  }
  disconnect() {
    this.connected = false;
    this.serverEmit('disconnect', 'io client disconnect');
  }
}
