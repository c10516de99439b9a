// pages/Viewer.jsx - /room/:roomId: the player, the room's streamer and title, follow, viewer
// count, reactions, and the chat. The live state follows the socket's stream-started /
// stream-ended events (and a slow refresh of the room as a fallback).
import { useCallback, useEffect, useRef, useState } from 'react';
import { Link, useParams } from 'react-router-dom';
import HlsPlayer from '../components/HlsPlayer.jsx';
import ChatBox from '../components/ChatBox.jsx';
import FollowButton from '../components/FollowButton.jsx';
import Avatar from '../components/Avatar.jsx';
import { ReactionBar, ReactionOverlay } from '../components/Reactions.jsx';
import { EmptyState, PageLoader } from '../components/Status.jsx';
import Icon from '../components/Icon.jsx';
import { useModeration } from '../hooks/useModeration.jsx';
import { useAuth } from '../hooks/useAuth.jsx';
import { useChat } from '../hooks/useChat.js';
import { useNow } from '../hooks/useNow.js';
import { usePolling } from '../hooks/usePolling.js';
import { useTitle } from '../hooks/useTitle.js';
import { chatAPI, describeError, roomsAPI, streamsAPI } from '../services/api.js';
import { formatCount, formatDuration, since, timeAgo } from '../lib/format.js';

const ROOM_REFRESH_MS = 60000;

function LiveClock({ startedAt }) {
  const now = useNow(1000, Boolean(startedAt));
  if (!startedAt) return null;
  return (
    <span className="stat" title="Live for">
      <Icon name="clock" size={16} />
      <span className="visually-hidden">Live for </span>
      {formatDuration(since(startedAt, now))}
    </span>
  );
}

export default function Viewer() {
  const { roomId } = useParams();
  const { user } = useAuth();
  const [room, setRoom] = useState(null);
  const [error, setError] = useState(null);
  const [isMod, setIsMod] = useState(false);
  const chat = useChat(roomId);
  const mod = useModeration(roomId);
  const lastLive = useRef(null);

  useTitle(room ? `${room.streamer?.displayName || room.streamer?.username || ''}${room.title ? ` – ${room.title}` : ''}` : 'Room');

  const load = useCallback(
    async (signal) => {
      try {
        const d = await roomsAPI.get(roomId, { signal });
        if (d?.room) setRoom(d.room);
        setError(null);
      } catch (e) {
        if (e.name === 'AbortError') return;
        setError(e);
        throw e;
      }
    },
    [roomId],
  );
  const refresh = usePolling(load, ROOM_REFRESH_MS, [roomId]);

  useEffect(() => {
    setRoom(null);
    setError(null);
    setIsMod(false);
  }, [roomId]);

  // the socket says the stream started or ended: get the room's new state (hlsUrl, startedAt)
  useEffect(() => {
    if (chat.live === null) return;
    if (lastLive.current !== chat.live) {
      lastLive.current = chat.live;
      if (chat.live) refresh();
      else setRoom((r) => (r ? { ...r, isLive: false, endedAt: new Date().toISOString() } : r));
    }
  }, [chat.live, refresh]);

  const isOwner = Boolean(user && room?.streamer && String(room.streamer.id) === String(user.id));

  // moderators may list bans: that is how a moderator finds out they are one
  useEffect(() => {
    if (!user || !room || isOwner) return undefined;
    let live = true;
    chatAPI
      .bans(roomId)
      .then(() => live && setIsMod(true))
      .catch(() => live && setIsMod(false));
    return () => {
      live = false;
    };
  }, [user, room?.id, isOwner, roomId]); // eslint-disable-line react-hooks/exhaustive-deps

  if (error && !room) {
    if (error.status === 404 && !error.missing) {
      return (
        <div className="page page--narrow">
          <EmptyState title="This channel does not exist" action={<Link className="btn btn--primary" to="/">Browse live channels</Link>}>
            Check the link, or find something else to watch.
          </EmptyState>
        </div>
      );
    }
    return (
      <div className="page page--narrow">
        <EmptyState
          title={error.missing ? 'Rooms are not available yet' : 'Could not load this channel'}
          action={
            <button type="button" className="btn btn--secondary" onClick={refresh}>
              Try again
            </button>
          }
        >
          {describeError(error)}
        </EmptyState>
      </div>
    );
  }
  if (!room) return <PageLoader label="Loading channel…" />;

  const streamer = room.streamer || {};
  const name = streamer.displayName || streamer.username || 'Streamer';
  const live = chat.live === false ? false : Boolean(room.isLive);
  const ended = chat.live === false && Boolean(chat.endedReason);
  const viewers = chat.viewerCount ?? room.viewerCount ?? 0;
  const src = live ? room.hlsUrl || streamsAPI.playlistUrl(room.id) : null;
  const poster = room.thumbnailUrl || streamsAPI.thumbnailUrl(room.id);
  const canModerate = isOwner || isMod;

  const offline = (
    <div className="offline-card" data-testid={ended ? 'stream-ended' : 'stream-offline'}>
      <Avatar user={streamer} size={56} />
      <p className="offline-card__title">{ended ? 'Stream ended' : `${name} is offline`}</p>
      <p className="offline-card__text">
        {ended ? `Thanks for watching! Follow ${name} to know when they go live again.` : room.endedAt ? `Last live ${timeAgo(room.endedAt)}.` : 'Follow to know when they go live.'}
      </p>
      {!isOwner ? <FollowButton username={streamer.username} size="btn--small" /> : null}
    </div>
  );

  return (
    <div className="watch">
      <div className="watch__main">
        <div className="watch__player">
          <HlsPlayer src={src} poster={poster} live={live} title={room.title || name} offline={offline} />
          <ReactionOverlay reactions={chat.reactions} />
        </div>
        {ended ? (
          <div className="banner banner--ended" role="status" data-testid="stream-ended-banner">
            <strong>The stream has ended.</strong> <span>{name} went offline{chat.endedReason && chat.endedReason !== 'ended' && chat.endedReason !== 'unpublished' ? ` (${chat.endedReason})` : ''}.</span>
          </div>
        ) : null}
        <div className="watch__info">
          <Link to={`/u/${streamer.username}`} className="watch__avatar" aria-label={`${name}'s channel`}>
            <Avatar user={streamer} size={56} live={live} />
          </Link>
          <div className="watch__text">
            <h1 className="watch__title" data-testid="room-title">
              {room.title || 'Untitled stream'}
            </h1>
            <p className="watch__streamer">
              <Link to={`/u/${streamer.username}`}>{name}</Link>
              {room.category ? <span className="tag">{room.category}</span> : null}
            </p>
            <div className="watch__stats">
              {live ? (
                <>
                  <span className="live-badge">LIVE</span>
                  <span className="stat" data-testid="viewer-count" title="Viewers">
                    <Icon name="user" size={16} />
                    {formatCount(viewers)} <span className="stat__label">{viewers === 1 ? 'viewer' : 'viewers'}</span>
                  </span>
                  <LiveClock startedAt={room.startedAt} />
                </>
              ) : (
                <span className="chip chip--muted">Offline</span>
              )}
            </div>
          </div>
          <div className="watch__actions">
            {isOwner ? (
              <Link to="/dashboard" className="btn btn--secondary">
                <Icon name="settings" size={16} /> Dashboard
              </Link>
            ) : (
              <FollowButton username={streamer.username} />
            )}
          </div>
        </div>
        {room.description ? (
          <section className="card watch__about" aria-label="About this stream">
            <h2 className="card__title">About</h2>
            <p className="prewrap">{room.description}</p>
          </section>
        ) : null}
      </div>
      <aside className="watch__chat">
        <ChatBox chat={chat} room={room} canModerate={canModerate} onTimeout={(u) => mod.timeout(u)} onBan={mod.ban} footer={<ReactionBar onReact={chat.sendReaction} disabled={!chat.connected} />} />
      </aside>
      {canModerate ? mod.dialog : null}
    </div>
  );
}
