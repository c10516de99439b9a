// pages/Register.jsx - create an account. Quick checks in the browser mirror the server's rules;
// the server's answer (taken names, invalid fields) is shown next to the field it names.
import { useState } from 'react';
import { Link, Navigate, useLocation, useNavigate } from 'react-router-dom';
import AuthLayout from './AuthLayout.jsx';
import PasswordField from './PasswordField.jsx';
import Field from '../components/Field.jsx';
import { Notice } from '../components/Status.jsx';
import { useAuth } from '../hooks/useAuth.jsx';
import { describeError } from '../services/api.js';
import { useTitle } from '../hooks/useTitle.js';

const FIELDS = ['username', 'email', 'password', 'displayName'];

export function validateRegistration({ username, email, password, displayName }) {
  const errs = {};
  if (!/^[A-Za-z0-9_]{3,30}$/.test(username.trim())) errs.username = 'Use 3 to 30 letters, digits or underscores.';
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email.trim()) || email.trim().length > 254) errs.email = 'Enter a valid e-mail address.';
  const bytes = new TextEncoder().encode(password).length;
  if (bytes < 8) errs.password = 'Use at least 8 characters.';
  else if (bytes > 72) errs.password = 'Use at most 72 bytes (about 72 plain characters).';
  if ([...displayName.trim()].length > 50) errs.displayName = 'Use at most 50 characters.';
  return errs;
}

export default function Register() {
  useTitle('Sign up');
  const { register, isAuthenticated } = useAuth();
  const navigate = useNavigate();
  const location = useLocation();
  const from = location.state?.from || '/';
  const [form, setForm] = useState({ username: '', email: '', password: '', displayName: '' });
  const [errors, setErrors] = useState({});
  const [formError, setFormError] = useState(null);
  const [busy, setBusy] = useState(false);

  if (isAuthenticated && !busy) return <Navigate to={from} replace />;

  const set = (k) => (e) => {
    setForm((f) => ({ ...f, [k]: e.target.value }));
    if (errors[k]) setErrors((x) => ({ ...x, [k]: undefined }));
  };

  const submit = async (e) => {
    e.preventDefault();
    setFormError(null);
    const errs = validateRegistration(form);
    setErrors(errs);
    if (Object.keys(errs).length) return;
    setBusy(true);
    try {
      await register({ username: form.username.trim(), email: form.email.trim(), password: form.password, displayName: form.displayName.trim() || undefined });
      navigate(from === '/login' ? '/' : from, { replace: true });
    } catch (err) {
      if (err.field && FIELDS.includes(err.field)) setErrors({ [err.field]: err.message });
      else setFormError(describeError(err));
      setBusy(false);
    }
  };

  return (
    <AuthLayout
      title="Create your account"
      subtitle="Watch, chat and stream. It takes a minute."
      footer={
        <p>
          Already have an account?{' '}
          <Link to="/login" state={{ from }}>
            Log in
          </Link>
        </p>
      }
    >
      <form className="form" onSubmit={submit} noValidate aria-label="Sign up">
        {formError ? (
          <Notice tone="error" testId="form-error">
            {formError}
          </Notice>
        ) : null}
        <Field label="Username" name="username" value={form.username} onChange={set('username')} autoComplete="username" autoCapitalize="none" spellCheck="false" required autoFocus hint="3–30 letters, digits or underscores. This is your channel's address." error={errors.username} data-testid="username-input" />
        <Field label="E-mail" name="email" type="email" value={form.email} onChange={set('email')} autoComplete="email" required error={errors.email} data-testid="email-input" />
        <PasswordField value={form.password} onChange={set('password')} autoComplete="new-password" hint="At least 8 characters." error={errors.password} />
        <Field label="Display name (optional)" name="displayName" value={form.displayName} onChange={set('displayName')} autoComplete="nickname" hint="Shown on your channel. Defaults to your username." error={errors.displayName} data-testid="displayName-input" />
        <button type="submit" className="btn btn--primary btn--block btn--large" disabled={busy} data-testid="register-submit">
          {busy ? 'Creating account…' : 'Sign up'}
        </button>
      </form>
    </AuthLayout>
  );
}
