// components/dashboard/StreamKeyCard.jsx - what to put in OBS: the server URL and the stream key
// (hidden until revealed; copy; reset after a confirmation), and the encoder settings that suit
// low-latency HLS.
import { useCallback, useEffect, useState } from 'react';
import Icon from '../Icon.jsx';
import ConfirmDialog from '../ConfirmDialog.jsx';
import { Notice, Spinner } from '../Status.jsx';
import { describeError, streamsAPI } from '../../services/api.js';
import { copyText } from './copy.js';

// The server URL to show: the configured one, with the page's host when it only says
// localhost and the page is not on this machine.
export function ingestUrl(rtmpUrl, hostname = window.location.hostname) {
  const fallback = `rtmp://${hostname || 'localhost'}:1935/live`;
  if (!rtmpUrl) return fallback;
  try {
    const u = new URL(rtmpUrl.replace(/^rtmp:/, 'http:'));
    const local = ['localhost', '127.0.0.1', '::1', '[::1]'];
    if (local.includes(u.hostname) && hostname && !local.includes(hostname)) {
      return rtmpUrl.replace(u.hostname, hostname);
    }
  } catch {
    return rtmpUrl;
  }
  return rtmpUrl;
}

function CopyButton({ text, label, testId }) {
  const [state, setState] = useState('idle');
  useEffect(() => {
    if (state === 'idle') return undefined;
    const t = setTimeout(() => setState('idle'), 2000);
    return () => clearTimeout(t);
  }, [state]);
  return (
    <button
      type="button"
      className="btn btn--secondary btn--small"
      disabled={!text}
      onClick={async () => setState((await copyText(text)) ? 'done' : 'failed')}
      data-testid={testId}
    >
      <Icon name={state === 'done' ? 'check' : 'copy'} size={16} />
      <span aria-live="polite">{state === 'done' ? 'Copied' : state === 'failed' ? 'Copy failed' : label}</span>
    </button>
  );
}

export default function StreamKeyCard() {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const [loading, setLoading] = useState(true);
  const [revealed, setRevealed] = useState(false);
  const [confirm, setConfirm] = useState(false);
  const [resetting, setResetting] = useState(false);
  const [resetDone, setResetDone] = useState(false);

  const load = useCallback(async () => {
    setLoading(true);
    try {
      setData(await streamsAPI.getKey());
      setError(null);
    } catch (e) {
      setError(e);
    } finally {
      setLoading(false);
    }
  }, []);

  useEffect(() => {
    load();
  }, [load]);

  const reset = async () => {
    setResetting(true);
    try {
      setData(await streamsAPI.resetKey());
      setError(null);
      setResetDone(true);
      setConfirm(false);
    } catch (e) {
      setError(e);
      setConfirm(false);
    } finally {
      setResetting(false);
    }
  };

  const server = ingestUrl(data?.rtmpUrl);
  const key = data?.streamKey || '';
  const keyBroken = error?.code === 'stream_key_unavailable';

  return (
    <section className="card" aria-labelledby="setup-h">
      <div className="card__head">
        <h2 id="setup-h" className="card__title">
          Stream setup
        </h2>
        {loading ? <Spinner size={18} /> : null}
      </div>
      <p className="card__text">In OBS: Settings → Stream → Service “Custom…”, then paste these two values.</p>

      {error ? (
        <Notice tone="error">{keyBroken ? 'Your stream key can no longer be read by the server. Reset it to get a new one.' : describeError(error)}</Notice>
      ) : null}
      {resetDone ? (
        <Notice tone="success" onDismiss={() => setResetDone(false)}>
          New stream key created. The old key no longer works: update OBS.
        </Notice>
      ) : null}

      <div className="field">
        <label className="field__label" htmlFor="rtmp-url">
          Server
        </label>
        <div className="input-row">
          <input id="rtmp-url" className="input input--mono" readOnly value={server} data-testid="rtmp-url" onFocus={(e) => e.target.select()} />
          <CopyButton text={server} label="Copy" testId="copy-server" />
        </div>
      </div>

      <div className="field">
        <label className="field__label" htmlFor="stream-key">
          Stream key
        </label>
        <div className="input-row">
          <input
            id="stream-key"
            className="input input--mono"
            readOnly
            type={revealed ? 'text' : 'password'}
            value={key}
            placeholder={loading ? 'Loading…' : key ? '' : 'Not available'}
            autoComplete="off"
            aria-describedby="stream-key-hint"
            data-testid="stream-key"
            data-revealed={revealed ? 'true' : 'false'}
            onFocus={(e) => revealed && e.target.select()}
          />
          <button type="button" className="btn btn--secondary btn--small" onClick={() => setRevealed((r) => !r)} aria-pressed={revealed} disabled={!key} data-testid="reveal-key">
            <Icon name={revealed ? 'eyeOff' : 'eye'} size={16} />
            {revealed ? 'Hide' : 'Reveal'}
          </button>
          <CopyButton text={key} label="Copy" testId="copy-key" />
        </div>
        <p className="field__hint" id="stream-key-hint">
          Anyone with this key can stream to your channel. Never show it on stream.
        </p>
      </div>

      <div className="card__actions">
        <button type="button" className="btn btn--danger-ghost btn--small" onClick={() => setConfirm(true)} disabled={loading && !keyBroken} data-testid="reset-key">
          <Icon name="refresh" size={16} /> Reset stream key
        </button>
      </div>

      <details className="obs">
        <summary>Recommended OBS settings</summary>
        <dl className="obs__list">
          <div>
            <dt>Service</dt>
            <dd>Custom…</dd>
          </div>
          <div>
            <dt>Encoder</dt>
            <dd>x264 or hardware H.264 (NVENC, QuickSync, Apple VT)</dd>
          </div>
          <div>
            <dt>Rate control</dt>
            <dd>CBR, 2500–6000 Kbps (1080p60: 6000; 720p: 3000)</dd>
          </div>
          <div>
            <dt>Keyframe interval</dt>
            <dd>1 s (or 2 s): needed for low latency</dd>
          </div>
          <div>
            <dt>Preset / tune</dt>
            <dd>veryfast, profile high, tune zerolatency, B-frames 0–2</dd>
          </div>
          <div>
            <dt>Audio</dt>
            <dd>AAC, 48 kHz, 160 Kbps</dd>
          </div>
        </dl>
      </details>

      <ConfirmDialog open={confirm} title="Reset your stream key?" confirmLabel="Reset key" danger busy={resetting} onCancel={() => setConfirm(false)} onConfirm={reset}>
        The current key stops working at once. If you are live with it, your stream is cut off, and you will need to paste the new key into OBS.
      </ConfirmDialog>
    </section>
  );
}
