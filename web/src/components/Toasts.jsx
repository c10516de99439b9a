// components/Toasts.jsx - short messages in a corner (an aria-live region), e.g. "alice is live".
import { createContext, useCallback, useContext, useMemo, useRef, useState } from 'react';
import { Link } from 'react-router-dom';

const ToastContext = createContext({ show: () => {} });

export function ToastProvider({ children }) {
  const [toasts, setToasts] = useState([]);
  const seq = useRef(0);
  const dismiss = useCallback((id) => setToasts((t) => t.filter((x) => x.id !== id)), []);
  const show = useCallback(
    (toast) => {
      seq.current += 1;
      const id = seq.current;
      setToasts((t) => [...t.slice(-3), { id, tone: 'info', ...toast }]);
      setTimeout(() => dismiss(id), toast.duration || 6000);
      return id;
    },
    [dismiss],
  );
  const value = useMemo(() => ({ show, dismiss }), [show, dismiss]);
  return (
    <ToastContext.Provider value={value}>
      {children}
      <div className="toasts" role="status" aria-live="polite">
        {toasts.map((t) => (
          <div key={t.id} className={`toast toast--${t.tone}`}>
            <div className="toast__body">
              <strong className="toast__title">{t.title}</strong>
              {t.text ? <span className="toast__text">{t.text}</span> : null}
            </div>
            {t.href ? (
              <Link className="btn btn--small btn--primary" to={t.href} onClick={() => dismiss(t.id)}>
                {t.action || 'Watch'}
              </Link>
            ) : null}
            <button type="button" className="icon-btn icon-btn--small" aria-label="Dismiss" onClick={() => dismiss(t.id)}>
              ×
            </button>
          </div>
        ))}
      </div>
    </ToastContext.Provider>
  );
}

export function useToast() {
  return useContext(ToastContext);
}
