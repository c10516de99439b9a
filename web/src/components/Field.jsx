// components/Field.jsx - a labelled input with its hint and the server's error for the field.
import { useId } from 'react';

export default function Field({ label, error, hint, multiline = false, className = '', id: givenId, children, ...props }) {
  const autoId = useId();
  const id = givenId || `f${autoId.replace(/:/g, '')}`;
  const hintId = hint ? `${id}-hint` : undefined;
  const errId = error ? `${id}-error` : undefined;
  const describedBy = [hintId, errId].filter(Boolean).join(' ') || undefined;
  const Control = multiline ? 'textarea' : 'input';
  return (
    <div className={`field ${error ? 'field--error' : ''} ${className}`}>
      <label className="field__label" htmlFor={id}>
        {label}
      </label>
      {children ? (
        children({ id, 'aria-describedby': describedBy, 'aria-invalid': error ? true : undefined })
      ) : (
        <Control id={id} className="input" aria-describedby={describedBy} aria-invalid={error ? true : undefined} {...props} />
      )}
      {hint && !error ? (
        <p className="field__hint" id={hintId}>
          {hint}
        </p>
      ) : null}
      {hint && error ? <span hidden id={hintId} /> : null}
      {error ? (
        <p className="field__error" id={errId} role="alert" data-testid={`error-${props.name || id}`}>
          {error}
        </p>
      ) : null}
    </div>
  );
}
