// hooks/useFollow.js - whether the signed-in user follows `username`, and a toggle.
//
// The API has no "do I follow X" route: a user object that carries `isFollowing` is trusted;
// otherwise the user's own following list (GET /api/users/:me/following, a few pages) is read
// once per session and kept in a small cache that follow / unfollow keep up to date.
import { useCallback, useContext, useEffect, useState } from 'react';
import { usersAPI } from '../services/api.js';
import { AuthContext } from './useAuth.jsx';

const cache = { owner: null, names: null, loading: null };
const subscribers = new Set();

function notify() {
  for (const fn of subscribers) fn();
}

export function _resetFollowCache() {
  cache.owner = null;
  cache.names = null;
  cache.loading = null;
}

async function loadFollowing(me) {
  if (cache.owner === me && cache.names) return cache.names;
  if (cache.owner === me && cache.loading) return cache.loading;
  cache.owner = me;
  cache.names = null;
  cache.loading = (async () => {
    const names = new Set();
    let cursor;
    for (let page = 0; page < 5; page++) {
      const data = await usersAPI.following(me, { cursor, limit: 100 });
      for (const u of data?.users || []) if (u?.username) names.add(u.username.toLowerCase());
      cursor = data?.nextCursor;
      if (!cursor) break;
    }
    if (cache.owner === me) cache.names = names;
    return names;
  })();
  try {
    return await cache.loading;
  } finally {
    cache.loading = null;
  }
}

export function useFollow(username, { initial } = {}) {
  const auth = useContext(AuthContext);
  const me = auth?.user?.username || null;
  const target = username ? username.toLowerCase() : null;
  const isSelf = Boolean(me && target && me.toLowerCase() === target);
  const [following, setFollowing] = useState(typeof initial === 'boolean' ? initial : null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [available, setAvailable] = useState(true);

  useEffect(() => {
    if (!me || !target || isSelf) {
      setFollowing(null);
      return undefined;
    }
    if (typeof initial === 'boolean') {
      setFollowing(initial);
      return undefined;
    }
    let live = true;
    const read = () => {
      if (cache.owner === me && cache.names) setFollowing(cache.names.has(target));
    };
    subscribers.add(read);
    loadFollowing(me)
      .then((names) => live && setFollowing(names.has(target)))
      .catch((e) => {
        if (!live) return;
        if (e.missing) setAvailable(false);
        setFollowing(false);
      });
    return () => {
      live = false;
      subscribers.delete(read);
    };
  }, [me, target, isSelf, initial]);

  const toggle = useCallback(async () => {
    if (!me || !target || isSelf || busy) return null;
    const next = !following;
    setBusy(true);
    setError(null);
    setFollowing(next);
    try {
      if (next) await usersAPI.follow(username);
      else await usersAPI.unfollow(username);
      if (cache.owner === me && cache.names) {
        if (next) cache.names.add(target);
        else cache.names.delete(target);
      }
      notify();
      return next;
    } catch (e) {
      setFollowing(!next);
      if (e.missing) setAvailable(false);
      setError(e);
      return null;
    } finally {
      setBusy(false);
    }
  }, [me, target, isSelf, busy, following, username]);

  return { following, toggle, busy, error, isSelf, signedIn: Boolean(me), available };
}
