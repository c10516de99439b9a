// pages/Streamer.jsx - /dashboard, the creator's side: live status (duration, viewers), stream
// setup (server URL, stream key, OBS settings), the room's details, chat settings, the chat
// with moderation, moderators, bans and past streams.
import { useCallback, useEffect, useState } from 'react';
import { Link } from 'react-router-dom';
import StreamKeyCard from '../components/dashboard/StreamKeyCard.jsx';
import RoomForm from '../components/dashboard/RoomForm.jsx';
import ChatSettings from '../components/dashboard/ChatSettings.jsx';
import { BansCard, ModeratorsCard } from '../components/dashboard/PeopleCard.jsx';
import PastStreams from '../components/dashboard/PastStreams.jsx';
import ChatBox from '../components/ChatBox.jsx';
import { EmptyState, Notice, PageLoader } from '../components/Status.jsx';
import { Thumbnail } from '../components/RoomCard.jsx';
import Icon from '../components/Icon.jsx';
import { useAuth } from '../hooks/useAuth.jsx';
import { useChat } from '../hooks/useChat.js';
import { useNow } from '../hooks/useNow.js';
import { usePolling } from '../hooks/usePolling.js';
import { useTitle } from '../hooks/useTitle.js';
import { describeError, findRoomOfUser, roomsAPI } from '../services/api.js';
import { formatCount, formatDuration, since, timeAgo } from '../lib/format.js';
import { useModeration } from '../hooks/useModeration.jsx';

const ROOM_POLL_MS = 30000;

function LiveStatus({ room, chat }) {
  const live = chat.live === false ? false : chat.live === true ? true : Boolean(room.isLive);
  const now = useNow(1000, live);
  const viewers = chat.viewerCount ?? room.viewerCount ?? 0;
  return (
    <section className={`card status-card ${live ? 'status-card--live' : ''}`} aria-labelledby="status-h" data-testid="live-status" data-live={live ? 'true' : 'false'}>
      <div className="status-card__media">
        <Thumbnail room={{ ...room, thumbnailUrl: live ? room.thumbnailUrl : null }} bust={Math.floor(now / 10000)} />
      </div>
      <div className="status-card__body">
        <h2 id="status-h" className="visually-hidden">
          Live status
        </h2>
        {live ? <span className="live-badge">LIVE</span> : <span className="chip chip--muted">Offline</span>}
        <div className="status-card__stats">
          <div className="bigstat">
            <span className="bigstat__value" data-testid="live-duration">
              {live && room.startedAt ? formatDuration(since(room.startedAt, now)) : '–'}
            </span>
            <span className="bigstat__label">Live for</span>
          </div>
          <div className="bigstat">
            <span className="bigstat__value" data-testid="dashboard-viewers">
              {live ? formatCount(viewers) : '–'}
            </span>
            <span className="bigstat__label">Viewers</span>
          </div>
        </div>
        <p className="muted">
          {live
            ? 'You are live. Your viewers see what OBS sends.'
            : room.endedAt
              ? `Last stream ended ${timeAgo(room.endedAt)}. Start streaming in OBS to go live.`
              : 'Start streaming in OBS with the settings below to go live.'}
        </p>
      </div>
    </section>
  );
}

export default function Streamer() {
  useTitle('Creator dashboard');
  const { user } = useAuth();
  const [room, setRoom] = useState(undefined); // undefined: loading; null: none
  const [categories, setCategories] = useState([]);
  const [error, setError] = useState(null);
  const [historyKey, setHistoryKey] = useState(0);
  const chat = useChat(room?.id || null, { owner: true });
  const mod = useModeration(room?.id);

  useEffect(() => {
    roomsAPI
      .categories()
      .then((d) => setCategories(d?.categories || []))
      .catch(() => setCategories([]));
  }, []);

  const load = useCallback(
    async (signal) => {
      if (!user) return;
      try {
        let r = null;
        if (room?.id) {
          const d = await roomsAPI.get(room.id, { signal });
          r = d?.room || null;
        } else {
          r = await findRoomOfUser(user);
        }
        setRoom(r);
        setError(null);
      } catch (e) {
        if (e.name === 'AbortError') return;
        setError(e);
        setRoom((x) => (x === undefined ? null : x));
        throw e;
      }
    },
    [user, room?.id],
  );
  const refresh = usePolling(load, ROOM_POLL_MS, [user?.id, room?.id]);

  // a stream started or ended: refresh the room and the history
  useEffect(() => {
    if (chat.live === null) return;
    refresh();
    if (chat.live === false) setHistoryKey((k) => k + 1);
  }, [chat.live, refresh]);

  if (room === undefined && !error) return <PageLoader label="Loading your channel…" />;

  if (error?.missing && !room) {
    return (
      <div className="page">
        <h1 className="page__title">Creator dashboard</h1>
        <Notice tone="info">Channels are not available on this server yet, so there is nothing to set up here. Your stream key already works:</Notice>
        <div className="dash__grid dash__grid--single">
          <StreamKeyCard />
        </div>
      </div>
    );
  }

  if (!room) {
    return (
      <div className="page page--narrow">
        <h1 className="page__title">Set up your channel</h1>
        <p className="page__subtitle">Give your stream a title and a category. You can change them any time.</p>
        {error ? <Notice tone="error">{describeError(error)}</Notice> : null}
        <section className="card">
          <RoomForm room={null} categories={categories} defaultTitle={`${user.displayName || user.username}'s stream`} onSaved={(r) => (r ? setRoom(r) : refresh())} />
        </section>
        <StreamKeyCard />
      </div>
    );
  }

  return (
    <div className="dash">
      <div className="dash__main">
        <div className="dash__head">
          <div>
            <h1 className="page__title">Creator dashboard</h1>
            <p className="page__subtitle">
              Your channel:{' '}
              <Link to={`/room/${room.id}`} data-testid="channel-link">
                {window.location.host}/room/{room.id}
              </Link>
            </p>
          </div>
          <Link to={`/room/${room.id}`} className="btn btn--secondary">
            <Icon name="play" size={16} /> View channel
          </Link>
        </div>
        {error && !error.missing ? <Notice tone="error" onDismiss={() => setError(null)}>{describeError(error)}</Notice> : null}

        <LiveStatus room={room} chat={chat} />

        <div className="dash__grid">
          <StreamKeyCard />
          <section className="card" aria-labelledby="details-h">
            <h2 id="details-h" className="card__title">
              Stream details
            </h2>
            <RoomForm room={room} categories={categories} onSaved={(r) => (r ? setRoom(r) : refresh())} />
          </section>
          <section className="card" aria-labelledby="chatset-h">
            <h2 id="chatset-h" className="card__title">
              Chat settings
            </h2>
            <ChatSettings room={room} onSaved={setRoom} />
          </section>
          <ModeratorsCard roomId={room.id} canManage />
          <BansCard roomId={room.id} />
          <PastStreams roomId={room.id} refreshKey={historyKey} />
        </div>
      </div>
      <aside className="dash__chat">
        <ChatBox chat={chat} room={room} canModerate onTimeout={(u) => mod.timeout(u)} onBan={mod.ban} title="Your chat" />
      </aside>
      {mod.dialog}
    </div>
  );
}
