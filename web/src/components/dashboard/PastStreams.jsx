// components/dashboard/PastStreams.jsx - the room's past live sessions.
import { useEffect, useState } from 'react';
import { Notice, Spinner } from '../Status.jsx';
import { describeError, streamsAPI } from '../../services/api.js';
import { formatCount, formatDateTime, formatSpan } from '../../lib/format.js';

export default function PastStreams({ roomId, refreshKey = 0 }) {
  const [items, setItems] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    let live = true;
    streamsAPI
      .history(roomId)
      .then((d) => live && (setItems(d?.streams || []), setError(null)))
      .catch((e) => live && (setItems([]), setError(e)));
    return () => {
      live = false;
    };
  }, [roomId, refreshKey]);
  return (
    <section className="card" aria-labelledby="past-h">
      <div className="card__head">
        <h2 id="past-h" className="card__title">
          Past streams
        </h2>
        {items === null ? <Spinner size={18} /> : null}
      </div>
      {error ? <Notice tone={error.missing ? 'info' : 'error'}>{describeError(error)}</Notice> : null}
      {items && items.length ? (
        <div className="table-wrap">
          <table className="table" data-testid="past-streams">
            <thead>
              <tr>
                <th scope="col">Started</th>
                <th scope="col">Duration</th>
                <th scope="col">Peak viewers</th>
                <th scope="col">Messages</th>
              </tr>
            </thead>
            <tbody>
              {items.map((s) => (
                <tr key={s.id}>
                  <td>{formatDateTime(s.startedAt)}</td>
                  <td>{s.endedAt ? formatSpan((Date.parse(s.endedAt) - Date.parse(s.startedAt)) / 1000) : <span className="live-badge live-badge--small">LIVE</span>}</td>
                  <td>{formatCount(s.peakViewers || 0)}</td>
                  <td>{formatCount(s.messages || 0)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : items && !error ? (
        <p className="muted">Your streams will show up here once you have gone live.</p>
      ) : null}
    </section>
  );
}
