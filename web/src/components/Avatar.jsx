// components/Avatar.jsx - the user's picture (an https URL), or their initials on a colour
// derived from the name.
import { useState } from 'react';
import { initials } from '../lib/format.js';
import { nameHue } from '../lib/chatState.js';

export default function Avatar({ user, size = 40, className = '', live = false }) {
  const [broken, setBroken] = useState(false);
  const name = user?.displayName || user?.username || '?';
  const url = user?.avatarUrl;
  const showImg = url && /^https:\/\//i.test(url) && !broken;
  return (
    <span
      className={`avatar ${live ? 'avatar--live' : ''} ${className}`}
      style={{ '--avatar-size': `${size}px`, '--hue': nameHue(user?.username || name) }}
      aria-hidden="true"
    >
      {showImg ? (
        <img src={url} alt="" width={size} height={size} loading="lazy" referrerPolicy="no-referrer" onError={() => setBroken(true)} />
      ) : (
        <span className="avatar__initials">{initials(name)}</span>
      )}
    </span>
  );
}
