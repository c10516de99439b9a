// components/dashboard/RoomForm.jsx - the room's title, description and category: POST
// /api/rooms when the user has no room yet, PATCH otherwise. Field errors sit by the fields.
import { useEffect, useState } from 'react';
import Field from '../Field.jsx';
import { Notice } from '../Status.jsx';
import { describeError, roomsAPI } from '../../services/api.js';

export function categoryIdOf(room, categories) {
  if (!room?.category) return '';
  const c = categories.find((x) => x.id === room.category || x.name === room.category);
  return c ? c.id : '';
}

export default function RoomForm({ room, categories, onSaved, defaultTitle = '' }) {
  const [title, setTitle] = useState(room?.title || defaultTitle);
  const [description, setDescription] = useState(room?.description || '');
  const [category, setCategory] = useState(categoryIdOf(room, categories));
  const [errors, setErrors] = useState({});
  const [formError, setFormError] = useState(null);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    setTitle(room?.title || defaultTitle);
    setDescription(room?.description || '');
  }, [room?.id]); // eslint-disable-line react-hooks/exhaustive-deps

  useEffect(() => {
    setCategory(categoryIdOf(room, categories));
  }, [room?.id, room?.category, categories]); // eslint-disable-line react-hooks/exhaustive-deps

  const dirty = !room || title !== (room.title || '') || description !== (room.description || '') || category !== categoryIdOf(room, categories);

  const submit = async (e) => {
    e.preventDefault();
    const errs = {};
    if (!title.trim()) errs.title = 'Give your stream a title.';
    else if ([...title.trim()].length > 140) errs.title = 'Use at most 140 characters.';
    if ([...description].length > 2000) errs.description = 'Use at most 2000 characters.';
    setErrors(errs);
    setFormError(null);
    setSaved(false);
    if (Object.keys(errs).length) return;
    setBusy(true);
    try {
      const body = { title: title.trim(), description: description.trim(), category: category || undefined };
      let d;
      if (room) {
        d = await roomsAPI.update(room.id, { ...body, category: category || null });
      } else {
        d = await roomsAPI.create(body);
      }
      setSaved(true);
      onSaved?.(d?.room);
    } catch (err) {
      if (err.field && ['title', 'description', 'category'].includes(err.field)) setErrors({ [err.field]: err.message });
      else if (err.code === 'room_exists') {
        setFormError('You already have a channel. Reloading it…');
        onSaved?.(null);
      } else setFormError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="form" onSubmit={submit} noValidate aria-label={room ? 'Stream details' : 'Create your channel'}>
      {formError ? <Notice tone="error">{formError}</Notice> : null}
      {saved ? (
        <Notice tone="success" onDismiss={() => setSaved(false)}>
          {room ? 'Saved.' : 'Your channel is ready.'}
        </Notice>
      ) : null}
      <Field label="Title" name="title" value={title} onChange={(e) => setTitle(e.target.value)} maxLength={200} required error={errors.title} hint={`${[...title].length}/140`} data-testid="room-title-input" />
      <Field label="Description" name="description" multiline rows={3} value={description} onChange={(e) => setDescription(e.target.value)} error={errors.description} hint="What is this stream about? Shown under the player." data-testid="room-description-input" />
      <Field label="Category" name="category" error={errors.category}>
        {(aria) => (
          <select {...aria} className="input" value={category} onChange={(e) => setCategory(e.target.value)} data-testid="room-category-select">
            <option value="">No category</option>
            {categories.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        )}
      </Field>
      <div className="form__actions">
        <button type="submit" className="btn btn--primary" disabled={busy || (room && !dirty)} data-testid="room-save">
          {busy ? 'Saving…' : room ? 'Save changes' : 'Create channel'}
        </button>
      </div>
    </form>
  );
}
