// components/Navbar.jsx - brand, search, and the account corner (bell, user menu, or log in).
import { useEffect, useState } from 'react';
import { Link, NavLink, useLocation, useNavigate, useSearchParams } from 'react-router-dom';
import { useAuth } from '../hooks/useAuth.jsx';
import Avatar from './Avatar.jsx';
import Icon from './Icon.jsx';
import NotificationBell from './NotificationBell.jsx';
import { usePopover } from './Popover.jsx';

export function Brand() {
  return (
    <Link to="/" className="brand" aria-label="StreamHub home">
      <svg className="brand__mark" viewBox="0 0 32 32" width="30" height="30" aria-hidden="true">
        <defs>
          <linearGradient id="brand-g" x1="0" y1="0" x2="1" y2="1">
            <stop offset="0" stopColor="#7c5cff" />
            <stop offset="1" stopColor="#ff4d6d" />
          </linearGradient>
        </defs>
        <rect width="32" height="32" rx="9" fill="url(#brand-g)" />
        <path d="M12 9.5v13l10.5-6.5z" fill="#fff" />
      </svg>
      <span className="brand__name">StreamHub</span>
    </Link>
  );
}

function SearchBox() {
  const navigate = useNavigate();
  const location = useLocation();
  const [params] = useSearchParams();
  const onHome = location.pathname === '/';
  const [q, setQ] = useState(onHome ? params.get('q') || '' : '');
  useEffect(() => {
    if (onHome) setQ(params.get('q') || '');
  }, [onHome, params]);
  return (
    <form
      className="search"
      role="search"
      onSubmit={(e) => {
        e.preventDefault();
        const v = q.trim();
        navigate(v ? `/?q=${encodeURIComponent(v)}` : '/');
      }}
    >
      <label htmlFor="nav-search" className="visually-hidden">
        Search streams
      </label>
      <Icon name="search" size={18} className="search__icon" />
      <input
        id="nav-search"
        type="search"
        className="search__input"
        placeholder="Search streams and channels"
        value={q}
        autoComplete="off"
        onChange={(e) => {
          setQ(e.target.value);
          if (onHome) {
            const v = e.target.value;
            navigate(v.trim() ? `/?q=${encodeURIComponent(v)}` : '/', { replace: true });
          }
        }}
        data-testid="search-input"
      />
    </form>
  );
}

function UserMenu({ user, onLogout }) {
  const pop = usePopover();
  return (
    <div className="popover-anchor">
      <button type="button" className="user-btn" aria-label={`Account menu for ${user.displayName || user.username}`} data-testid="user-menu" {...pop.buttonProps}>
        <Avatar user={user} size={32} />
      </button>
      <div className="popover popover--menu" {...pop.panelProps}>
        <div className="menu__who">
          <Avatar user={user} size={40} />
          <div>
            <div className="menu__name">{user.displayName || user.username}</div>
            <div className="menu__handle">@{user.username}</div>
          </div>
        </div>
        <nav aria-label="Account">
          <ul className="menu">
            <li>
              <Link className="menu__item" to={`/u/${user.username}`} onClick={() => pop.close(false)}>
                <Icon name="user" size={18} /> Your channel
              </Link>
            </li>
            <li>
              <Link className="menu__item" to="/dashboard" onClick={() => pop.close(false)}>
                <Icon name="broadcast" size={18} /> Creator dashboard
              </Link>
            </li>
            <li>
              <button
                type="button"
                className="menu__item"
                onClick={() => {
                  pop.close(false);
                  onLogout();
                }}
                data-testid="logout-button"
              >
                <Icon name="logout" size={18} /> Log out
              </button>
            </li>
          </ul>
        </nav>
      </div>
    </div>
  );
}

export default function Navbar() {
  const { user, isAuthenticated, logout } = useAuth();
  const navigate = useNavigate();
  return (
    <header className="navbar">
      <div className="navbar__inner">
        <Brand />
        <nav className="navbar__links" aria-label="Main">
          <NavLink to="/" end className="navlink">
            Browse
          </NavLink>
          {isAuthenticated ? (
            <NavLink to="/dashboard" className="navlink">
              Dashboard
            </NavLink>
          ) : null}
        </nav>
        <SearchBox />
        <div className="navbar__end">
          {isAuthenticated && user ? (
            <>
              <Link to="/dashboard" className="btn btn--primary btn--small navbar__golive">
                <Icon name="broadcast" size={16} /> Go live
              </Link>
              <NotificationBell />
              <UserMenu
                user={user}
                onLogout={async () => {
                  await logout();
                  navigate('/');
                }}
              />
            </>
          ) : isAuthenticated ? null : (
            <>
              <Link to="/login" className="btn btn--ghost btn--small">
                Log in
              </Link>
              <Link to="/register" className="btn btn--primary btn--small">
                Sign up
              </Link>
            </>
          )}
        </div>
      </div>
    </header>
  );
}
