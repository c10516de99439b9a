// hooks/useAuth.jsx - who is signed in. The token lives in localStorage; the user object is
// cached next to it so a reload renders at once, then refreshed from GET /api/auth/me. Any 401
// on a request that carried the token (see services/api.js) signs the user out.
import { createContext, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import { authAPI, onUnauthorized, tokenStore } from '../services/api.js';

const AuthContext = createContext(null);

export function AuthProvider({ children }) {
  const [token, setToken] = useState(() => tokenStore.get());
  const [user, setUser] = useState(() => (tokenStore.get() ? tokenStore.getUser() : null));
  const [checking, setChecking] = useState(() => Boolean(tokenStore.get()));
  const [signedOutReason, setSignedOutReason] = useState(null);

  const clear = useCallback((reason = null) => {
    tokenStore.clear();
    setToken(null);
    setUser(null);
    setChecking(false);
    setSignedOutReason(reason);
  }, []);

  useEffect(() => onUnauthorized((reason) => clear(reason || 'unauthorized')), [clear]);

  // Refresh the user behind a stored token once on start.
  useEffect(() => {
    if (!token) return undefined;
    const ctl = new AbortController();
    authAPI
      .me({ signal: ctl.signal })
      .then((data) => {
        if (data?.user) {
          setUser(data.user);
          tokenStore.setUser(data.user);
        }
      })
      .catch(() => {
        /* 401 signs out through onUnauthorized; network trouble keeps the cached user */
      })
      .finally(() => {
        if (!ctl.signal.aborted) setChecking(false);
      });
    return () => ctl.abort();
    // only on start and when another tab changes the token
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  // Another tab signed in or out.
  useEffect(() => {
    const onStorage = (e) => {
      if (e.key !== 'streamhub.token') return;
      const t = tokenStore.get();
      setToken(t);
      setUser(t ? tokenStore.getUser() : null);
    };
    window.addEventListener('storage', onStorage);
    return () => window.removeEventListener('storage', onStorage);
  }, []);

  const accept = useCallback((data) => {
    tokenStore.set(data.token, data.user);
    setToken(data.token);
    setUser(data.user);
    setSignedOutReason(null);
    return data.user;
  }, []);

  const login = useCallback(async (identifier, password) => accept(await authAPI.login({ identifier, password })), [accept]);

  const register = useCallback(async (fields) => accept(await authAPI.register(fields)), [accept]);

  const logout = useCallback(async () => {
    try {
      if (tokenStore.get()) await authAPI.logout();
    } catch {
      /* the token goes anyway */
    }
    clear(null);
  }, [clear]);

  const updateUser = useCallback((u) => {
    setUser((prev) => {
      const next = { ...(prev || {}), ...u };
      tokenStore.setUser(next);
      return next;
    });
  }, []);

  const value = useMemo(
    () => ({
      user,
      token,
      isAuthenticated: Boolean(token),
      loading: checking && !user,
      signedOutReason,
      login,
      register,
      logout,
      updateUser,
    }),
    [user, token, checking, signedOutReason, login, register, logout, updateUser],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth() {
  const ctx = useContext(AuthContext);
  if (!ctx) throw new Error('useAuth must be used inside <AuthProvider>');
  return ctx;
}

export { AuthContext };
