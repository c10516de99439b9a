// hooks/useSocket.jsx - hands the one shared Socket.IO connection to components, follows the
// signed-in token, and reports whether it is connected. Tests pass their own `socket`.
import { createContext, useContext, useEffect, useState } from 'react';
import { getSocket } from '../services/socket.js';
import { signalUnauthorized } from '../services/api.js';
import { useAuth } from './useAuth.jsx';

const SocketContext = createContext(null);

export function SocketProvider({ children, socket: injected }) {
  const { token } = useAuth();
  // getSocket creates the connection once and reconnects it when the token changed
  const socket = injected || getSocket(token);
  const [connected, setConnected] = useState(Boolean(socket.connected));

  useEffect(() => {
    const up = () => setConnected(true);
    const down = () => setConnected(false);
    const refused = (err) => {
      setConnected(false);
      if (err?.message === 'invalid_token' && token) signalUnauthorized('invalid_token');
    };
    socket.on('connect', up);
    socket.on('disconnect', down);
    socket.on('connect_error', refused);
    setConnected(Boolean(socket.connected));
    return () => {
      socket.off('connect', up);
      socket.off('disconnect', down);
      socket.off('connect_error', refused);
    };
  }, [socket, token]);

  return <SocketContext.Provider value={{ socket, connected }}>{children}</SocketContext.Provider>;
}

export function useSocket() {
  const ctx = useContext(SocketContext);
  if (!ctx) throw new Error('useSocket must be used inside <SocketProvider>');
  return ctx;
}

export { SocketContext };
