// pages/Welcome.jsx - browse: who is live (a grid of thumbnails refreshed every 10 s while the
// page is visible), a category filter, search (?q=, debounced), the live channels a signed-in
// user follows, and offline channels below.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import RoomCard, { RoomCardSkeleton, Thumbnail } from '../components/RoomCard.jsx';
import Avatar from '../components/Avatar.jsx';
import { EmptyState, Notice } from '../components/Status.jsx';
import Icon from '../components/Icon.jsx';
import { useAuth } from '../hooks/useAuth.jsx';
import { useDebounce } from '../hooks/useDebounce.js';
import { usePolling } from '../hooks/usePolling.js';
import { useTitle } from '../hooks/useTitle.js';
import { describeError, roomsAPI, usersAPI } from '../services/api.js';
import { formatCount } from '../lib/format.js';

export const BROWSE_POLL_MS = 10000;
const FOLLOWING_POLL_MS = 60000;
const PAGE = 48;

function CategoryChips({ categories, value, onChange }) {
  return (
    <div className="chips" role="group" aria-label="Filter by category" data-testid="category-filter">
      <button type="button" className={`chip ${!value ? 'chip--active' : ''}`} aria-pressed={!value} onClick={() => onChange('')}>
        All
      </button>
      {categories.map((c) => (
        <button key={c.id} type="button" className={`chip ${value === c.id ? 'chip--active' : ''}`} aria-pressed={value === c.id} onClick={() => onChange(value === c.id ? '' : c.id)}>
          {c.name}
          {c.liveCount > 0 ? <span className="chip__count">{formatCount(c.liveCount)}</span> : null}
        </button>
      ))}
    </div>
  );
}

function Featured({ room, bust }) {
  const s = room.streamer || {};
  return (
    <Link to={`/room/${room.id}`} className="featured" data-testid="featured-room">
      <div className="featured__media">
        <Thumbnail room={room} bust={bust} />
        <span className="live-badge featured__live">LIVE</span>
      </div>
      <div className="featured__info">
        <p className="featured__kicker">Featured live</p>
        <h2 className="featured__title">{room.title || 'Untitled stream'}</h2>
        <div className="featured__who">
          <Avatar user={s} size={36} live />
          <div>
            <div className="featured__name">{s.displayName || s.username}</div>
            <div className="featured__meta">
              {room.category ? `${room.category} · ` : ''}
              {formatCount(room.viewerCount || 0)} watching
            </div>
          </div>
        </div>
        {room.description ? <p className="featured__desc">{room.description}</p> : null}
        <span className="btn btn--primary featured__cta">
          <Icon name="play" size={16} /> Watch now
        </span>
      </div>
    </Link>
  );
}

function FollowingRow({ rooms, bust }) {
  if (!rooms.length) return null;
  return (
    <section className="section" aria-labelledby="following-h" data-testid="following-row">
      <div className="section__head">
        <h2 id="following-h" className="section__title">
          Following <span className="section__sub">live now</span>
        </h2>
      </div>
      <div className="row-scroll">
        {rooms.map((r) => (
          <RoomCard key={r.id} room={r} bust={bust} compact />
        ))}
      </div>
    </section>
  );
}

export default function Welcome() {
  useTitle(null);
  const { isAuthenticated } = useAuth();
  const [params, setParams] = useSearchParams();
  const q = params.get('q') || '';
  const category = params.get('category') || '';
  const query = useDebounce(q.trim(), 300);

  const [categories, setCategories] = useState([]);
  const [rooms, setRooms] = useState(null);
  const roomsRef = useRef(rooms);
  roomsRef.current = rooms;
  const [more, setMore] = useState([]);
  const [cursor, setCursor] = useState(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [error, setError] = useState(null);
  const [following, setFollowing] = useState([]);
  const [bust, setBust] = useState(() => Math.floor(Date.now() / BROWSE_POLL_MS));

  useEffect(() => {
    const ctl = new AbortController();
    roomsAPI
      .categories({ signal: ctl.signal })
      .then((d) => setCategories(d?.categories || []))
      .catch(() => setCategories([]));
    return () => ctl.abort();
  }, []);

  // new filters: start over
  useEffect(() => {
    setRooms(null);
    setMore([]);
    setCursor(null);
  }, [query, category]);

  usePolling(
    async (signal) => {
      try {
        const d = await roomsAPI.list({ category: category || undefined, q: query || undefined, limit: PAGE }, { signal });
        setRooms(d?.rooms || []);
        setCursor((c) => (more.length ? c : d?.nextCursor || null));
        setError(null);
        setBust(Math.floor(Date.now() / BROWSE_POLL_MS));
      } catch (e) {
        if (e.name === 'AbortError') return;
        // a failed background refresh keeps the list on screen; say so only when there is none
        if (!roomsRef.current || e.missing) setError(e);
        setRooms((r) => r || []);
        throw e;
      }
    },
    BROWSE_POLL_MS,
    [query, category],
  );

  usePolling(
    async (signal) => {
      if (!isAuthenticated) {
        setFollowing([]);
        return;
      }
      try {
        const d = await usersAPI.followingLive({ signal });
        setFollowing(d?.rooms || []);
      } catch (e) {
        if (e.name !== 'AbortError') setFollowing([]);
        throw e;
      }
    },
    FOLLOWING_POLL_MS,
    [isAuthenticated],
  );

  const loadMore = useCallback(async () => {
    if (!cursor) return;
    setLoadingMore(true);
    try {
      const d = await roomsAPI.list({ category: category || undefined, q: query || undefined, limit: PAGE, cursor });
      setMore((m) => [...m, ...(d?.rooms || [])]);
      setCursor(d?.nextCursor || null);
    } catch (e) {
      setError(e);
    } finally {
      setLoadingMore(false);
    }
  }, [cursor, category, query]);

  const all = useMemo(() => {
    if (!rooms) return null;
    const seen = new Set();
    return [...rooms, ...more].filter((r) => (seen.has(r.id) ? false : (seen.add(r.id), true)));
  }, [rooms, more]);
  const live = all ? all.filter((r) => r.isLive) : [];
  const offline = all ? all.filter((r) => !r.isLive) : [];
  const filtered = Boolean(query || category);
  const featured = !filtered && live.length >= 3 ? live[0] : null;
  const grid = featured ? live.slice(1) : live;
  const categoryName = categories.find((c) => c.id === category)?.name;

  const setCategory = (id) => {
    const next = new URLSearchParams(params);
    if (id) next.set('category', id);
    else next.delete('category');
    setParams(next, { replace: true });
  };

  return (
    <div className="page page--wide browse">
      <div className="browse__head">
        <div>
          <h1 className="page__title">{query ? `Results for “${query}”` : categoryName ? categoryName : 'Live now'}</h1>
          <p className="page__subtitle" aria-live="polite">
            {all ? (live.length ? `${live.length} ${live.length === 1 ? 'channel' : 'channels'} live` : 'Nobody matching is live right now') : 'Loading channels…'}
          </p>
        </div>
        {categories.length ? <CategoryChips categories={categories} value={category} onChange={setCategory} /> : null}
      </div>

      {error && !error.missing ? (
        <Notice tone="error" onDismiss={() => setError(null)}>
          {describeError(error)}
        </Notice>
      ) : null}

      {isAuthenticated && !filtered ? <FollowingRow rooms={following} bust={bust} /> : null}

      {featured ? <Featured room={featured} bust={bust} /> : null}

      <section className="section" aria-labelledby="live-h">
        <h2 id="live-h" className="visually-hidden">
          Live channels
        </h2>
        {all === null ? (
          <div className="grid">
            {Array.from({ length: 8 }, (_, i) => (
              <RoomCardSkeleton key={i} />
            ))}
          </div>
        ) : error?.missing ? (
          <EmptyState title="Browsing is not available yet" icon={<Icon name="broadcast" size={40} />}>
            This server does not list rooms yet. Check back soon.
          </EmptyState>
        ) : grid.length ? (
          <div className="grid" data-testid="live-grid">
            {grid.map((r) => (
              <RoomCard key={r.id} room={r} bust={bust} />
            ))}
          </div>
        ) : live.length ? null : (
          <EmptyState
            title={filtered ? 'No live channels match' : 'Nobody is live right now'}
            icon={<Icon name="broadcast" size={40} />}
            action={
              filtered ? (
                <button type="button" className="btn btn--secondary" onClick={() => setParams(new URLSearchParams(), { replace: true })}>
                  Clear filters
                </button>
              ) : (
                <Link className="btn btn--primary" to="/dashboard">
                  Start streaming
                </Link>
              )
            }
          >
            {filtered ? 'Try another search or category.' : 'Be the first: set up your stream in a minute.'}
          </EmptyState>
        )}
      </section>

      {offline.length ? (
        <section className="section" aria-labelledby="offline-h">
          <div className="section__head">
            <h2 id="offline-h" className="section__title">
              Offline channels
            </h2>
          </div>
          <div className="grid grid--compact" data-testid="offline-grid">
            {offline.map((r) => (
              <RoomCard key={r.id} room={r} bust={bust} compact />
            ))}
          </div>
        </section>
      ) : null}

      {cursor ? (
        <div className="center">
          <button type="button" className="btn btn--secondary" onClick={loadMore} disabled={loadingMore}>
            {loadingMore ? 'Loading…' : 'Show more channels'}
          </button>
        </div>
      ) : null}
    </div>
  );
}
