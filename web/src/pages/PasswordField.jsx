// pages/PasswordField.jsx - a password input with show / hide.
import { useState } from 'react';
import Field from '../components/Field.jsx';
import Icon from '../components/Icon.jsx';

export default function PasswordField({ label = 'Password', error, hint, value, onChange, autoComplete, name = 'password' }) {
  const [shown, setShown] = useState(false);
  return (
    <Field label={label} error={error} hint={hint} name={name}>
      {(aria) => (
        <div className="input-group">
          <input
            {...aria}
            name={name}
            className="input"
            type={shown ? 'text' : 'password'}
            value={value}
            onChange={onChange}
            autoComplete={autoComplete}
            required
            data-testid={`${name}-input`}
          />
          <button type="button" className="input-group__btn" onClick={() => setShown((s) => !s)} aria-label={shown ? 'Hide password' : 'Show password'} aria-pressed={shown}>
            <Icon name={shown ? 'eyeOff' : 'eye'} size={18} />
          </button>
        </div>
      )}
    </Field>
  );
}
