// components/FollowButton.jsx - follow / unfollow a streamer; signed-out users go to log in.
import { Link, useLocation } from 'react-router-dom';
import Icon from './Icon.jsx';
import { useFollow } from '../hooks/useFollow.js';
import { describeError } from '../services/api.js';

export default function FollowButton({ username, initial, onChange, size = '' }) {
  const location = useLocation();
  const f = useFollow(username, { initial });
  if (!username || f.isSelf) return null;
  if (!f.signedIn) {
    return (
      <Link to="/login" state={{ from: location.pathname }} className={`btn btn--primary ${size}`} data-testid="follow-button">
        <Icon name="heart" size={16} /> Follow
      </Link>
    );
  }
  const following = f.following === true;
  return (
    <span className="follow">
      <button
        type="button"
        className={`btn ${following ? 'btn--secondary' : 'btn--primary'} ${size}`}
        aria-pressed={following}
        disabled={f.busy || f.following === null || !f.available}
        onClick={async () => {
          const r = await f.toggle();
          if (r !== null) onChange?.(r);
        }}
        data-testid="follow-button"
        title={!f.available ? 'Following is not available on this server yet' : undefined}
      >
        <Icon name="heart" size={16} />
        {following ? 'Following' : 'Follow'}
      </button>
      {f.error && !f.error.missing ? (
        <span className="follow__error" role="alert">
          {describeError(f.error)}
        </span>
      ) : null}
    </span>
  );
}
