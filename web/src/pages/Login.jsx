// pages/Login.jsx - sign in with e-mail or username; the server's field errors sit next to the
// fields, anything else above the form.
import { useEffect, useState } from 'react';
import { Link, Navigate, useLocation, useNavigate } from 'react-router-dom';
import AuthLayout from './AuthLayout.jsx';
import PasswordField from './PasswordField.jsx';
import Field from '../components/Field.jsx';
import { Notice } from '../components/Status.jsx';
import { useAuth } from '../hooks/useAuth.jsx';
import { describeError } from '../services/api.js';
import { useTitle } from '../hooks/useTitle.js';

export function loginFieldOf(field) {
  if (field === 'email' || field === 'username' || field === 'identifier') return 'identifier';
  if (field === 'password') return 'password';
  return null;
}

export default function Login() {
  useTitle('Log in');
  const { login, isAuthenticated, signedOutReason } = useAuth();
  const navigate = useNavigate();
  const location = useLocation();
  const from = location.state?.from || '/';
  const [identifier, setIdentifier] = useState('');
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState({});
  const [formError, setFormError] = useState(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (signedOutReason) setFormError('Your session has ended. Please log in again.');
  }, [signedOutReason]);

  if (isAuthenticated && !busy) return <Navigate to={from} replace />;

  const submit = async (e) => {
    e.preventDefault();
    const errs = {};
    if (!identifier.trim()) errs.identifier = 'Enter your e-mail address or username.';
    if (!password) errs.password = 'Enter your password.';
    setErrors(errs);
    setFormError(null);
    if (Object.keys(errs).length) return;
    setBusy(true);
    try {
      await login(identifier, password);
      navigate(from, { replace: true });
    } catch (err) {
      const f = loginFieldOf(err.field);
      if (f) setErrors({ [f]: err.message });
      else if (err.code === 'invalid_credentials') setFormError('That e-mail/username and password do not match.');
      else setFormError(describeError(err));
      setBusy(false);
    }
  };

  return (
    <AuthLayout
      title="Welcome back"
      subtitle="Log in to chat, follow streamers and go live."
      footer={
        <p>
          New here?{' '}
          <Link to="/register" state={{ from }}>
            Create an account
          </Link>
        </p>
      }
    >
      <form className="form" onSubmit={submit} noValidate aria-label="Log in">
        {formError ? (
          <Notice tone="error" testId="form-error">
            {formError}
          </Notice>
        ) : null}
        <Field
          label="E-mail or username"
          name="identifier"
          value={identifier}
          onChange={(e) => setIdentifier(e.target.value)}
          autoComplete="username"
          autoCapitalize="none"
          spellCheck="false"
          required
          autoFocus
          error={errors.identifier}
          data-testid="identifier-input"
        />
        <PasswordField value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="current-password" error={errors.password} />
        <button type="submit" className="btn btn--primary btn--block btn--large" disabled={busy} data-testid="login-submit">
          {busy ? 'Logging in…' : 'Log in'}
        </button>
      </form>
    </AuthLayout>
  );
}
