// services/socket.js - the one shared Socket.IO connection of the app.
//
// io(origin, {auth: {token}}) with the stock socket.io-client. When the user signs in or out the
// same socket reconnects with the new credentials (hooks re-join their rooms on `connect`). A
// CONNECT_ERROR "invalid_token" means the token is no longer good: the app signs out and the
// socket comes back anonymous.
import { io } from 'socket.io-client';

let socket = null;
let currentToken = null;

function authFor(token) {
  return token ? { token } : {};
}

export function getSocket(token = null) {
  if (!socket) {
    currentToken = token;
    socket = io(window.location.origin, {
      auth: authFor(token),
      reconnectionDelay: 1000,
      reconnectionDelayMax: 10000,
      timeout: 10000,
    });
    return socket;
  }
  if (token !== currentToken) {
    currentToken = token;
    socket.auth = authFor(token);
    socket.disconnect();
    socket.connect();
  }
  return socket;
}

// For tests.
export function _resetSocket() {
  if (socket) socket.disconnect();
  socket = null;
  currentToken = null;
}
