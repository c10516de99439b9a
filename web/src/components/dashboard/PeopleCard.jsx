// components/dashboard/PeopleCard.jsx - moderators and bans of a room: list, add by username,
// remove. Lists are read defensively ({moderators}, {bans} or {users}).
import { useCallback, useEffect, useState } from 'react';
import { Link } from 'react-router-dom';
import Avatar from '../Avatar.jsx';
import { Notice, Spinner } from '../Status.jsx';
import { chatAPI, describeError } from '../../services/api.js';
import { formatDateTime } from '../../lib/format.js';

function listOf(d, key) {
  const raw = d?.[key] || d?.users || d?.items || [];
  return raw.map((x) => (typeof x === 'string' ? { username: x } : { ...x, username: x.username || x.user?.username, displayName: x.displayName || x.user?.displayName, avatarUrl: x.avatarUrl || x.user?.avatarUrl }));
}

export const BAN_DURATIONS = [
  { value: 600, label: '10 minutes' },
  { value: 3600, label: '1 hour' },
  { value: 86400, label: '24 hours' },
  { value: 604800, label: '7 days' },
  { value: 0, label: 'Permanent' },
];

export function ModeratorsCard({ roomId, canManage }) {
  const [items, setItems] = useState(null);
  const [error, setError] = useState(null);
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    try {
      setItems(listOf(await chatAPI.moderators(roomId), 'moderators'));
      setError(null);
    } catch (e) {
      setItems([]);
      setError(e);
    }
  }, [roomId]);
  useEffect(() => {
    load();
  }, [load]);

  const add = async (e) => {
    e.preventDefault();
    const u = name.trim().replace(/^@/, '');
    if (!u) return;
    setBusy(true);
    try {
      await chatAPI.addModerator(roomId, u);
      setName('');
      await load();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const remove = async (u) => {
    try {
      await chatAPI.removeModerator(roomId, u);
      setItems((list) => list.filter((x) => x.username !== u));
    } catch (err) {
      setError(err);
    }
  };

  return (
    <section className="card" aria-labelledby="mods-h">
      <div className="card__head">
        <h2 id="mods-h" className="card__title">
          Moderators
        </h2>
        {items === null ? <Spinner size={18} /> : null}
      </div>
      <p className="card__text">Moderators can delete messages, time out and ban viewers.</p>
      {error ? <Notice tone={error.missing ? 'info' : 'error'} onDismiss={error.missing ? undefined : () => setError(null)}>{describeError(error)}</Notice> : null}
      {canManage && !error?.missing ? (
        <form className="inline-form" onSubmit={add}>
          <label htmlFor="mod-name" className="visually-hidden">
            Username to make moderator
          </label>
          <input id="mod-name" className="input" placeholder="Username" value={name} onChange={(e) => setName(e.target.value)} autoCapitalize="none" data-testid="add-moderator-input" />
          <button type="submit" className="btn btn--secondary" disabled={busy || !name.trim()}>
            Add
          </button>
        </form>
      ) : null}
      {items && items.length ? (
        <ul className="people">
          {items.map((m) => (
            <li key={m.username} className="people__row">
              <Avatar user={m} size={28} />
              <Link to={`/u/${m.username}`} className="people__name">
                {m.displayName || m.username}
              </Link>
              {canManage ? (
                <button type="button" className="btn btn--ghost btn--tiny" onClick={() => remove(m.username)} aria-label={`Remove ${m.username} as moderator`}>
                  Remove
                </button>
              ) : null}
            </li>
          ))}
        </ul>
      ) : items && !error ? (
        <p className="muted">No moderators yet.</p>
      ) : null}
    </section>
  );
}

export function BansCard({ roomId, refreshKey = 0 }) {
  const [items, setItems] = useState(null);
  const [error, setError] = useState(null);
  const [name, setName] = useState('');
  const [duration, setDuration] = useState(600);
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    try {
      setItems(listOf(await chatAPI.bans(roomId), 'bans'));
      setError(null);
    } catch (e) {
      setItems([]);
      setError(e);
    }
  }, [roomId]);
  useEffect(() => {
    load();
  }, [load, refreshKey]);

  const add = async (e) => {
    e.preventDefault();
    const u = name.trim().replace(/^@/, '');
    if (!u) return;
    setBusy(true);
    try {
      await chatAPI.ban(roomId, { username: u, durationSeconds: duration || undefined });
      setName('');
      await load();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const unban = async (u) => {
    try {
      await chatAPI.unban(roomId, u);
      setItems((list) => list.filter((x) => x.username !== u));
    } catch (err) {
      setError(err);
    }
  };

  return (
    <section className="card" aria-labelledby="bans-h">
      <div className="card__head">
        <h2 id="bans-h" className="card__title">
          Bans and timeouts
        </h2>
        {items === null ? <Spinner size={18} /> : null}
      </div>
      {error ? <Notice tone={error.missing ? 'info' : 'error'} onDismiss={error.missing ? undefined : () => setError(null)}>{describeError(error)}</Notice> : null}
      {!error?.missing ? (
        <form className="inline-form" onSubmit={add}>
          <label htmlFor="ban-name" className="visually-hidden">
            Username to ban
          </label>
          <input id="ban-name" className="input" placeholder="Username" value={name} onChange={(e) => setName(e.target.value)} autoCapitalize="none" data-testid="ban-input" />
          <label htmlFor="ban-duration" className="visually-hidden">
            Duration
          </label>
          <select id="ban-duration" className="input input--auto" value={duration} onChange={(e) => setDuration(Number(e.target.value))}>
            {BAN_DURATIONS.map((d) => (
              <option key={d.value} value={d.value}>
                {d.label}
              </option>
            ))}
          </select>
          <button type="submit" className="btn btn--danger" disabled={busy || !name.trim()}>
            {duration ? 'Time out' : 'Ban'}
          </button>
        </form>
      ) : null}
      {items && items.length ? (
        <ul className="people">
          {items.map((b) => (
            <li key={b.username} className="people__row">
              <Avatar user={b} size={28} />
              <span className="people__name">{b.displayName || b.username}</span>
              <span className="people__meta">{b.expiresAt ? `until ${formatDateTime(b.expiresAt)}` : 'permanent'}</span>
              <button type="button" className="btn btn--ghost btn--tiny" onClick={() => unban(b.username)} aria-label={`Unban ${b.username}`}>
                Unban
              </button>
            </li>
          ))}
        </ul>
      ) : items && !error ? (
        <p className="muted">Nobody is banned.</p>
      ) : null}
    </section>
  );
}
