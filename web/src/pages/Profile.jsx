// pages/Profile.jsx - /u/:username: display name, avatar, bio, followers and following, the
// channel (live now or offline), and, on one's own profile, editing (PATCH /api/users/me).
import { useCallback, useEffect, useState } from 'react';
import { Link, useParams } from 'react-router-dom';
import Avatar from '../components/Avatar.jsx';
import FollowButton from '../components/FollowButton.jsx';
import Field from '../components/Field.jsx';
import RoomCard from '../components/RoomCard.jsx';
import { EmptyState, Notice, PageLoader, Spinner } from '../components/Status.jsx';
import Icon from '../components/Icon.jsx';
import { useAuth } from '../hooks/useAuth.jsx';
import { useTitle } from '../hooks/useTitle.js';
import { describeError, findRoomOfUser, usersAPI } from '../services/api.js';
import { formatCount, formatDate } from '../lib/format.js';
import { nameHue } from '../lib/chatState.js';

function PeopleList({ username, kind }) {
  const [items, setItems] = useState(null);
  const [cursor, setCursor] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);

  const load = useCallback(
    async (after) => {
      setBusy(true);
      try {
        const d = kind === 'followers' ? await usersAPI.followers(username, { cursor: after, limit: 50 }) : await usersAPI.following(username, { cursor: after, limit: 50 });
        setItems((list) => [...(after ? list || [] : []), ...(d?.users || [])]);
        setCursor(d?.nextCursor || null);
        setError(null);
      } catch (e) {
        setItems((list) => list || []);
        setError(e);
      } finally {
        setBusy(false);
      }
    },
    [username, kind],
  );

  useEffect(() => {
    setItems(null);
    setCursor(null);
    load(null);
  }, [load]);

  if (items === null) return <Spinner />;
  if (error && !items.length) return <Notice tone={error.missing ? 'info' : 'error'}>{describeError(error)}</Notice>;
  if (!items.length) return <p className="muted">{kind === 'followers' ? 'No followers yet.' : 'Not following anyone yet.'}</p>;
  return (
    <>
      <ul className="people people--grid" data-testid={`${kind}-list`}>
        {items.map((u) => (
          <li key={u.id ?? u.username}>
            <Link to={`/u/${u.username}`} className="person">
              <Avatar user={u} size={40} live={u.isStreaming} />
              <span className="person__text">
                <span className="person__name">{u.displayName || u.username}</span>
                <span className="person__handle">@{u.username}</span>
              </span>
              {u.isStreaming ? <span className="live-badge live-badge--small">LIVE</span> : null}
            </Link>
          </li>
        ))}
      </ul>
      {cursor ? (
        <button type="button" className="btn btn--secondary btn--small" onClick={() => load(cursor)} disabled={busy}>
          {busy ? 'Loading…' : 'Show more'}
        </button>
      ) : null}
    </>
  );
}

function EditProfile({ user, onSaved, onCancel }) {
  const [form, setForm] = useState({ displayName: user.displayName || '', bio: user.bio || '', avatarUrl: user.avatarUrl || '' });
  const [errors, setErrors] = useState({});
  const [formError, setFormError] = useState(null);
  const [busy, setBusy] = useState(false);
  const set = (k) => (e) => setForm((f) => ({ ...f, [k]: e.target.value }));

  const submit = async (e) => {
    e.preventDefault();
    const errs = {};
    const dn = form.displayName.trim();
    if (!dn) errs.displayName = 'Enter a display name.';
    else if ([...dn].length > 50) errs.displayName = 'Use at most 50 characters.';
    if ([...form.bio].length > 500) errs.bio = 'Use at most 500 characters.';
    const av = form.avatarUrl.trim();
    if (av && !/^https:\/\/\S+$/i.test(av)) errs.avatarUrl = 'Use an https:// address of an image, or leave it empty.';
    setErrors(errs);
    setFormError(null);
    if (Object.keys(errs).length) return;
    setBusy(true);
    try {
      const d = await usersAPI.updateMe({ displayName: dn, bio: form.bio.trim(), avatarUrl: av });
      onSaved(d?.user);
    } catch (err) {
      if (err.field && ['displayName', 'bio', 'avatarUrl'].includes(err.field)) setErrors({ [err.field]: err.message });
      else setFormError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="form card" onSubmit={submit} noValidate aria-label="Edit profile" data-testid="edit-profile-form">
      <h2 className="card__title">Edit profile</h2>
      {formError ? <Notice tone="error">{formError}</Notice> : null}
      <Field label="Display name" name="displayName" value={form.displayName} onChange={set('displayName')} error={errors.displayName} maxLength={80} />
      <Field label="Bio" name="bio" multiline rows={4} value={form.bio} onChange={set('bio')} error={errors.bio} hint={`${[...form.bio].length}/500`} />
      <Field label="Avatar image URL" name="avatarUrl" type="url" value={form.avatarUrl} onChange={set('avatarUrl')} error={errors.avatarUrl} hint="An https:// link to a square image. Leave empty for initials." placeholder="https://…" />
      <div className="form__actions">
        <button type="button" className="btn btn--ghost" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" className="btn btn--primary" disabled={busy} data-testid="save-profile">
          {busy ? 'Saving…' : 'Save profile'}
        </button>
      </div>
    </form>
  );
}

export default function Profile() {
  const { username } = useParams();
  const auth = useAuth();
  const [profile, setProfile] = useState(null);
  const [error, setError] = useState(null);
  const [room, setRoom] = useState(undefined);
  const [tab, setTab] = useState('followers');
  const [editing, setEditing] = useState(false);
  const [saved, setSaved] = useState(false);
  useTitle(profile ? profile.displayName || profile.username : username);

  const isSelf = Boolean(auth.user && username && auth.user.username?.toLowerCase() === username.toLowerCase());

  useEffect(() => {
    let live = true;
    setProfile(null);
    setError(null);
    setRoom(undefined);
    setEditing(false);
    usersAPI
      .get(username)
      .then((d) => live && setProfile(d?.user || null))
      .catch((e) => live && setError(e));
    return () => {
      live = false;
    };
  }, [username]);

  useEffect(() => {
    if (!profile) return undefined;
    let live = true;
    findRoomOfUser(profile)
      .then((r) => live && setRoom(r))
      .catch(() => live && setRoom(null));
    return () => {
      live = false;
    };
  }, [profile?.id]); // eslint-disable-line react-hooks/exhaustive-deps

  if (error) {
    return (
      <div className="page page--narrow">
        <EmptyState title={error.status === 404 && !error.missing ? 'No such user' : 'Could not load this profile'} action={<Link className="btn btn--primary" to="/">Browse live channels</Link>}>
          {error.status === 404 && !error.missing ? `There is nobody called “${username}” here.` : describeError(error)}
        </EmptyState>
      </div>
    );
  }
  if (!profile) return <PageLoader label="Loading profile…" />;

  const live = Boolean(room?.isLive || profile.isStreaming);
  return (
    <div className="page profile">
      <div className="profile__banner" style={{ '--hue': nameHue(profile.username) }} aria-hidden="true" />
      <header className="profile__head">
        <Avatar user={profile} size={112} live={live} className="profile__avatar" />
        <div className="profile__who">
          <h1 className="profile__name" data-testid="profile-name">
            {profile.displayName || profile.username}
            {live ? <span className="live-badge">LIVE</span> : null}
          </h1>
          <p className="profile__handle">@{profile.username}</p>
          <p className="profile__counts">
            <button type="button" className="linkish" onClick={() => setTab('followers')} data-testid="follower-count">
              <strong>{formatCount(profile.followerCount || 0)}</strong> {profile.followerCount === 1 ? 'follower' : 'followers'}
            </button>
            <button type="button" className="linkish" onClick={() => setTab('following')}>
              <strong>{formatCount(profile.followingCount || 0)}</strong> following
            </button>
            {profile.createdAt ? <span className="muted">Joined {formatDate(profile.createdAt)}</span> : null}
          </p>
        </div>
        <div className="profile__actions">
          {isSelf ? (
            <>
              <button type="button" className="btn btn--secondary" onClick={() => setEditing((x) => !x)} aria-expanded={editing} data-testid="edit-profile">
                <Icon name="settings" size={16} /> Edit profile
              </button>
              <Link className="btn btn--primary" to="/dashboard">
                <Icon name="broadcast" size={16} /> Dashboard
              </Link>
            </>
          ) : (
            <FollowButton
              username={profile.username}
              initial={typeof profile.isFollowing === 'boolean' ? profile.isFollowing : undefined}
              onChange={(now) => setProfile((p) => ({ ...p, followerCount: Math.max(0, (p.followerCount || 0) + (now ? 1 : -1)) }))}
            />
          )}
        </div>
      </header>

      {saved ? (
        <Notice tone="success" onDismiss={() => setSaved(false)}>
          Profile saved.
        </Notice>
      ) : null}
      {isSelf && editing ? (
        <EditProfile
          user={{ ...profile, ...(auth.user || {}) }}
          onCancel={() => setEditing(false)}
          onSaved={(u) => {
            if (u) {
              setProfile((p) => ({ ...p, ...u }));
              auth.updateUser(u);
            }
            setEditing(false);
            setSaved(true);
          }}
        />
      ) : null}

      <div className="profile__body">
        <div className="profile__col">
          {profile.bio ? (
            <section className="card" aria-labelledby="bio-h">
              <h2 id="bio-h" className="card__title">
                About
              </h2>
              <p className="prewrap" data-testid="profile-bio">
                {profile.bio}
              </p>
            </section>
          ) : null}
          <section className="card" aria-labelledby="channel-h">
            <h2 id="channel-h" className="card__title">
              {live ? 'Live now' : 'Channel'}
            </h2>
            {room === undefined ? (
              <Spinner />
            ) : room ? (
              <div className="profile__room">
                <RoomCard room={room} bust={Math.floor(Date.now() / 10000)} />
              </div>
            ) : (
              <p className="muted">{isSelf ? 'You have not set up your channel yet.' : 'No channel yet.'}</p>
            )}
          </section>
        </div>
        <section className="card profile__people" aria-label="Followers and following">
          <div className="tabs" role="tablist" aria-label="People">
            <button type="button" role="tab" id="tab-followers" aria-selected={tab === 'followers'} aria-controls="panel-people" className={`tab ${tab === 'followers' ? 'tab--active' : ''}`} onClick={() => setTab('followers')}>
              Followers
            </button>
            <button type="button" role="tab" id="tab-following" aria-selected={tab === 'following'} aria-controls="panel-people" className={`tab ${tab === 'following' ? 'tab--active' : ''}`} onClick={() => setTab('following')}>
              Following
            </button>
          </div>
          <div id="panel-people" role="tabpanel" aria-labelledby={`tab-${tab}`}>
            <PeopleList key={`${profile.username}-${tab}`} username={profile.username} kind={tab} />
          </div>
        </section>
      </div>
    </div>
  );
}
