// components/NotificationBell.jsx - the bell with the unread count; its panel lists the
// notifications (go-live ones lead to the room) and marks them read. New ones also pop a toast.
import { Link } from 'react-router-dom';
import Icon from './Icon.jsx';
import { usePopover } from './Popover.jsx';
import { describeNotification, useNotifications } from '../hooks/useNotifications.js';
import { useToast } from './Toasts.jsx';
import { timeAgo } from '../lib/format.js';
import { Spinner } from './Status.jsx';

export default function NotificationBell() {
  const toast = useToast();
  const { items, unread, loading, available, refresh, markAllRead, markRead } = useNotifications({
    onNew: (n) => {
      const d = describeNotification(n);
      toast.show({ title: d.text, text: d.detail, href: d.href, action: 'Watch' });
    },
  });
  const pop = usePopover();
  const label = unread > 0 ? `Notifications, ${unread} unread` : 'Notifications';

  return (
    <div className="popover-anchor">
      <button
        type="button"
        className="icon-btn bell"
        aria-label={label}
        title="Notifications"
        data-testid="notification-bell"
        {...pop.buttonProps}
        onClick={() => {
          if (!pop.open) refresh();
          pop.setOpen(!pop.open);
        }}
      >
        <Icon name="bell" />
        {unread > 0 ? (
          <span className="badge bell__count" data-testid="notification-count" aria-hidden="true">
            {unread > 99 ? '99+' : unread}
          </span>
        ) : null}
      </button>
      <div className="popover popover--notifications" role="region" aria-label="Notifications" {...pop.panelProps}>
        <div className="popover__head">
          <h2 className="popover__title">Notifications</h2>
          {unread > 0 ? (
            <button type="button" className="btn btn--link btn--small" onClick={markAllRead}>
              Mark all as read
            </button>
          ) : null}
        </div>
        {!available ? (
          <p className="popover__empty">Notifications are not available on this server yet.</p>
        ) : loading && !items.length ? (
          <div className="popover__empty">
            <Spinner />
          </div>
        ) : !items.length ? (
          <p className="popover__empty">Nothing yet. Follow streamers to hear when they go live.</p>
        ) : (
          <ul className="notif-list" data-testid="notification-list">
            {items.map((n) => {
              const d = describeNotification(n);
              const body = (
                <>
                  <span className={`notif__dot ${n.read ? '' : 'notif__dot--unread'}`} aria-hidden="true" />
                  <span className="notif__main">
                    <span className="notif__text">{d.text}</span>
                    {d.detail ? <span className="notif__detail">{d.detail}</span> : null}
                    <span className="notif__time">{timeAgo(n.createdAt)}</span>
                  </span>
                  {!n.read ? <span className="visually-hidden">(unread)</span> : null}
                </>
              );
              return (
                <li key={n.id} className="notif" data-testid="notification-item">
                  {d.href ? (
                    <Link
                      className="notif__link"
                      to={d.href}
                      onClick={() => {
                        if (!n.read) markRead([n.id]);
                        pop.close(false);
                      }}
                    >
                      {body}
                    </Link>
                  ) : (
                    <div className="notif__link">{body}</div>
                  )}
                </li>
              );
            })}
          </ul>
        )}
      </div>
    </div>
  );
}
