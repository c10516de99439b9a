// components/RoomCard.jsx - a room in the browse grid: thumbnail (refreshed with the list),
// LIVE badge and viewers, title, streamer and category. The whole card is one link.
import { memo, useState } from 'react';
import { Link } from 'react-router-dom';
import Avatar from './Avatar.jsx';
import { formatCount, timeAgo } from '../lib/format.js';

export function Thumbnail({ room, bust, className = '' }) {
  const [failed, setFailed] = useState(null);
  const src = room.thumbnailUrl ? `${room.thumbnailUrl}${room.thumbnailUrl.includes('?') ? '&' : '?'}t=${bust || 0}` : null;
  const show = src && failed !== src;
  return (
    <div className={`thumb ${className}`} style={{ '--hue': hueOf(room) }}>
      {show ? <img className="thumb__img" src={src} alt="" loading="lazy" decoding="async" onError={() => setFailed(src)} /> : null}
      {!show ? (
        <div className="thumb__placeholder" aria-hidden="true">
          <Avatar user={room.streamer} size={56} />
        </div>
      ) : null}
    </div>
  );
}

function hueOf(room) {
  const s = room?.streamer?.username || room?.id || '';
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) >>> 0;
  return h % 360;
}

function RoomCard({ room, bust, compact = false }) {
  const streamer = room.streamer || {};
  const name = streamer.displayName || streamer.username || 'Unknown';
  return (
    <article className={`room-card ${compact ? 'room-card--compact' : ''} ${room.isLive ? 'is-live' : 'is-offline'}`} data-testid="room-card" data-room-id={room.id}>
      <Link to={`/room/${room.id}`} className="room-card__link" aria-label={`${room.title || 'Untitled stream'} by ${name}${room.isLive ? `, live, ${room.viewerCount || 0} viewers` : ', offline'}`}>
        <div className="room-card__media">
          <Thumbnail room={room} bust={bust} />
          {room.isLive ? (
            <>
              <span className="live-badge room-card__live">LIVE</span>
              <span className="room-card__viewers" data-testid="room-viewers">
                <span className="dot dot--live" aria-hidden="true" />
                {formatCount(room.viewerCount || 0)} {room.viewerCount === 1 ? 'viewer' : 'viewers'}
              </span>
            </>
          ) : (
            <span className="room-card__offline">Offline</span>
          )}
        </div>
        <div className="room-card__body">
          <Avatar user={streamer} size={compact ? 32 : 40} live={room.isLive} />
          <div className="room-card__text">
            <h3 className="room-card__title" title={room.title}>
              {room.title || 'Untitled stream'}
            </h3>
            <p className="room-card__streamer">{name}</p>
            <p className="room-card__meta">
              {room.category ? <span className="tag">{room.category}</span> : null}
              {!room.isLive && room.endedAt ? <span className="room-card__ago">Live {timeAgo(room.endedAt)}</span> : null}
            </p>
          </div>
        </div>
      </Link>
    </article>
  );
}

export default memo(RoomCard);

export function RoomCardSkeleton() {
  return (
    <div className="room-card room-card--skeleton" aria-hidden="true">
      <div className="thumb skeleton" />
      <div className="room-card__body">
        <span className="avatar skeleton" style={{ '--avatar-size': '40px' }} />
        <div className="room-card__text">
          <div className="skeleton skeleton--line" />
          <div className="skeleton skeleton--line skeleton--short" />
        </div>
      </div>
    </div>
  );
}
