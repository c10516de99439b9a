// components/dashboard/ChatSettings.jsx - slow mode and followers-only chat (PATCH the room).
import { useState } from 'react';
import { Notice } from '../Status.jsx';
import { describeError, roomsAPI } from '../../services/api.js';

export const SLOW_MODES = [0, 3, 5, 10, 30, 60, 120, 300];

export default function ChatSettings({ room, onSaved }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);

  const save = async (patch) => {
    setBusy(true);
    setError(null);
    try {
      const d = await roomsAPI.update(room.id, patch);
      onSaved?.(d?.room || { ...room, ...patch });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const slow = Number(room.slowModeSeconds) || 0;
  const options = SLOW_MODES.includes(slow) ? SLOW_MODES : [...SLOW_MODES, slow].sort((a, b) => a - b);
  return (
    <div className="settings">
      {error ? <Notice tone="error" onDismiss={() => setError(null)}>{describeError(error)}</Notice> : null}
      <div className="setting">
        <div className="setting__text">
          <label className="setting__label" htmlFor="slow-mode">
            Slow mode
          </label>
          <p className="setting__hint">How long each viewer waits between messages.</p>
        </div>
        <select id="slow-mode" className="input input--auto" value={slow} disabled={busy} onChange={(e) => save({ slowModeSeconds: Number(e.target.value) })} data-testid="slow-mode-select">
          {options.map((s) => (
            <option key={s} value={s}>
              {s === 0 ? 'Off' : s < 60 ? `${s} seconds` : `${s / 60} minute${s === 60 ? '' : 's'}`}
            </option>
          ))}
        </select>
      </div>
      <div className="setting">
        <div className="setting__text">
          <label className="setting__label" htmlFor="followers-only">
            Followers-only chat
          </label>
          <p className="setting__hint">Only people who follow you can chat.</p>
        </div>
        <input
          id="followers-only"
          type="checkbox"
          role="switch"
          className="switch"
          checked={Boolean(room.followersOnly)}
          disabled={busy}
          onChange={(e) => save({ followersOnly: e.target.checked })}
          data-testid="followers-only-toggle"
        />
      </div>
    </div>
  );
}
