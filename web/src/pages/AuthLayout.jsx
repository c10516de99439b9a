// pages/AuthLayout.jsx - the frame of the log-in and sign-up pages.
import { Brand } from '../components/Navbar.jsx';

export default function AuthLayout({ title, subtitle, children, footer }) {
  return (
    <div className="auth">
      <div className="auth__art" aria-hidden="true">
        <div className="auth__glow" />
        <div className="auth__pitch">
          <p className="auth__kicker">Live, together.</p>
          <p className="auth__big">Streams that start in seconds, chat that keeps up.</p>
        </div>
      </div>
      <div className="auth__panel">
        <div className="auth__card">
          <div className="auth__brand">
            <Brand />
          </div>
          <h1 className="auth__title">{title}</h1>
          {subtitle ? <p className="auth__subtitle">{subtitle}</p> : null}
          {children}
          {footer ? <div className="auth__footer">{footer}</div> : null}
        </div>
      </div>
    </div>
  );
}
