// components/Status.jsx - loading, empty and error states.
export function Spinner({ label = 'Loading', size = 24 }) {
  return (
    <span className="spinner" style={{ '--spinner-size': `${size}px` }} role="status">
      <span className="visually-hidden">{label}</span>
    </span>
  );
}

export function PageLoader({ label = 'Loading…' }) {
  return (
    <div className="page-loader">
      <Spinner label={label} size={32} />
    </div>
  );
}

export function EmptyState({ title, children, icon = null, action = null }) {
  return (
    <div className="empty">
      {icon ? <div className="empty__icon">{icon}</div> : null}
      <h3 className="empty__title">{title}</h3>
      {children ? <div className="empty__text">{children}</div> : null}
      {action}
    </div>
  );
}

export function Notice({ tone = 'info', children, onDismiss, testId }) {
  return (
    <div className={`notice notice--${tone}`} role={tone === 'error' ? 'alert' : 'status'} data-testid={testId}>
      <div className="notice__body">{children}</div>
      {onDismiss ? (
        <button type="button" className="icon-btn icon-btn--small" aria-label="Dismiss" onClick={onDismiss}>
          ×
        </button>
      ) : null}
    </div>
  );
}
