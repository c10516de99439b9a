// components/HlsPlayer.jsx - live playback with hls.js in low-latency mode (native HLS where
// MSE is missing, e.g. iOS Safari). Shows whether we are at the live edge (and jumps back to it),
// how far behind live we are (hls.js `latency`), the connection quality, a quality picker when
// there are several renditions, and an offline state with the last thumbnail.
//
// Keyboard, with the player focused: Space/K play-pause, M mute, F fullscreen, L back to live.
import { useCallback, useEffect, useRef, useState } from 'react';
import Icon from './Icon.jsx';
import { QUALITY_LABEL, atLiveEdge, connectionQuality, formatBitrate, formatLatency } from '../lib/quality.js';

// One playback session id per page view: the server counts HLS viewers by it (GET /hls/:room/stats).
const PLAYBACK_SESSION = (globalThis.crypto?.randomUUID?.() || `${Date.now()}-${Math.random()}`).replace(/[^A-Za-z0-9-]/g, '');
export function withSession(src) {
  if (!src) return src;
  return `${src}${src.includes('?') ? '&' : '?'}_sid=${PLAYBACK_SESSION}`;
}

const STALL_WINDOW_MS = 60000;

function bufferedAhead(video) {
  const t = video.currentTime;
  const b = video.buffered;
  for (let i = 0; i < b.length; i++) {
    if (b.start(i) <= t + 0.1 && b.end(i) >= t) return b.end(i) - t;
  }
  return 0;
}

export default function HlsPlayer({ src, poster, live = true, title = 'Live stream', offline = null, onPlaybackError }) {
  const wrapRef = useRef(null);
  const videoRef = useRef(null);
  const hlsRef = useRef(null);
  const stallsRef = useRef([]);
  const playedRef = useRef(false);
  // one rebuffering shows up as a media `waiting` and an hls.js stall error: count it once
  const noteStall = useCallback(() => {
    const now = Date.now();
    const list = stallsRef.current;
    if (!list.length || now - list[list.length - 1] > 1500) list.push(now);
  }, []);
  const [status, setStatus] = useState(live && src ? 'loading' : 'offline');
  const [paused, setPaused] = useState(false);
  const [muted, setMuted] = useState(false);
  const [volume, setVolume] = useState(1);
  const [needsTap, setNeedsTap] = useState(false);
  const [stats, setStats] = useState({ latency: null, target: null, buffer: null, bandwidth: null, bitrate: null, stalls: 0 });
  const [levels, setLevels] = useState([]);
  const [level, setLevel] = useState(-1);
  const [retryTick, setRetryTick] = useState(0);

  const tryPlay = useCallback(async () => {
    const v = videoRef.current;
    if (!v) return;
    try {
      await v.play();
      setNeedsTap(false);
    } catch (e) {
      if (e?.name === 'NotAllowedError') {
        // autoplay with sound refused: start muted, offer to unmute
        v.muted = true;
        setMuted(true);
        try {
          await v.play();
          setNeedsTap(true);
        } catch {
          setPaused(true);
        }
      }
    }
  }, []);

  // Attach the source.
  useEffect(() => {
    const video = videoRef.current;
    if (!video) return undefined;
    if (!live || !src) {
      setStatus('offline');
      return undefined;
    }
    let cancelled = false;
    let retryTimer = null;
    stallsRef.current = [];
    playedRef.current = false;
    setStatus('loading');

    const retryLater = (ms) => {
      clearTimeout(retryTimer);
      retryTimer = setTimeout(() => !cancelled && setRetryTick((n) => n + 1), ms);
    };

    import('hls.js').then(({ default: Hls }) => {
      if (cancelled) return;
      if (Hls.isSupported()) {
        const hls = new Hls({
          lowLatencyMode: true,
          enableWorker: true,
          backBufferLength: 30,
          liveDurationInfinity: true,
          maxLiveSyncPlaybackRate: 1.5,
          manifestLoadingMaxRetry: 2,
          levelLoadingMaxRetry: 4,
          fragLoadingMaxRetry: 6,
        });
        hlsRef.current = hls;
        hls.on(Hls.Events.MANIFEST_PARSED, (_e, data) => {
          setLevels((data.levels || []).map((l, i) => ({ index: i, height: l.height, bitrate: l.bitrate, name: l.name })));
          tryPlay();
        });
        hls.on(Hls.Events.LEVEL_SWITCHED, (_e, data) => {
          const l = hls.levels?.[data.level];
          setStats((s) => ({ ...s, bitrate: l?.bitrate || null }));
        });
        hls.on(Hls.Events.ERROR, (_e, data) => {
          if (data.details === Hls.ErrorDetails.BUFFER_STALLED_ERROR && playedRef.current) noteStall();
          if (!data.fatal) return;
          if (data.type === Hls.ErrorTypes.MEDIA_ERROR) {
            hls.recoverMediaError();
            return;
          }
          hls.destroy();
          hlsRef.current = null;
          const manifest = data.details === Hls.ErrorDetails.MANIFEST_LOAD_ERROR || data.details === Hls.ErrorDetails.MANIFEST_LOAD_TIMEOUT;
          setStatus(manifest ? 'waiting' : 'error');
          onPlaybackError?.(data);
          retryLater(manifest ? 4000 : 3000);
        });
        hls.attachMedia(video);
        hls.loadSource(withSession(src));
      } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
        video.src = withSession(src);
        video.addEventListener('loadedmetadata', tryPlay, { once: true });
      } else {
        setStatus('unsupported');
      }
    });

    return () => {
      cancelled = true;
      clearTimeout(retryTimer);
      if (hlsRef.current) {
        hlsRef.current.destroy();
        hlsRef.current = null;
      }
      video.removeAttribute('src');
      try {
        video.load();
      } catch {
        /* jsdom */
      }
    };
  }, [src, live, retryTick, tryPlay, onPlaybackError, noteStall]);

  // Media element state.
  useEffect(() => {
    const v = videoRef.current;
    if (!v) return undefined;
    const on = {
      playing: () => {
        playedRef.current = true;
        setStatus('playing');
        setPaused(false);
      },
      waiting: () => {
        setStatus((s) => (s === 'playing' ? 'buffering' : s));
        if (playedRef.current && !v.paused) noteStall();
      },
      pause: () => setPaused(true),
      play: () => setPaused(false),
      volumechange: () => {
        setMuted(v.muted);
        setVolume(v.volume);
        if (!v.muted) setNeedsTap(false);
      },
    };
    for (const [k, fn] of Object.entries(on)) v.addEventListener(k, fn);
    return () => {
      for (const [k, fn] of Object.entries(on)) v.removeEventListener(k, fn);
    };
  }, [noteStall]);

  // Latency, buffer and bandwidth once a second.
  useEffect(() => {
    if (!live || !src) return undefined;
    const t = setInterval(() => {
      const v = videoRef.current;
      const hls = hlsRef.current;
      if (!v) return;
      const now = Date.now();
      stallsRef.current = stallsRef.current.filter((x) => now - x < STALL_WINDOW_MS);
      let latency = null;
      let target = null;
      if (hls) {
        latency = Number.isFinite(hls.latency) && hls.latency > 0 ? hls.latency : null;
        target = hls.targetLatency;
      } else if (v.seekable?.length) {
        latency = v.seekable.end(v.seekable.length - 1) - v.currentTime;
      }
      setStats((s) => ({
        ...s,
        latency,
        target,
        buffer: v.readyState > 0 ? bufferedAhead(v) : null,
        bandwidth: hls?.bandwidthEstimate || null,
        stalls: stallsRef.current.length,
      }));
    }, 1000);
    return () => clearInterval(t);
  }, [live, src]);

  const togglePlay = useCallback(() => {
    const v = videoRef.current;
    if (!v) return;
    if (v.paused) tryPlay();
    else v.pause();
  }, [tryPlay]);

  const toggleMute = useCallback(() => {
    const v = videoRef.current;
    if (!v) return;
    v.muted = !v.muted;
    if (!v.muted && v.volume === 0) v.volume = 0.5;
    setNeedsTap(false);
  }, []);

  const goLive = useCallback(() => {
    const v = videoRef.current;
    const hls = hlsRef.current;
    if (!v) return;
    const pos = hls?.liveSyncPosition ?? (v.seekable?.length ? v.seekable.end(v.seekable.length - 1) - 1 : null);
    if (pos != null && Number.isFinite(pos)) v.currentTime = pos;
    if (v.paused) tryPlay();
  }, [tryPlay]);

  const toggleFullscreen = useCallback(() => {
    const el = wrapRef.current;
    if (!el) return;
    if (document.fullscreenElement) document.exitFullscreen?.();
    else if (el.requestFullscreen) el.requestFullscreen().catch(() => {});
    else videoRef.current?.webkitEnterFullscreen?.();
  }, []);

  const chooseLevel = (value) => {
    const n = Number(value);
    setLevel(n);
    if (hlsRef.current) hlsRef.current.currentLevel = n;
  };

  const onKeyDown = (e) => {
    if (e.target !== wrapRef.current && e.target !== videoRef.current) return;
    const k = e.key.toLowerCase();
    if (k === ' ' || k === 'k') {
      e.preventDefault();
      togglePlay();
    } else if (k === 'm') toggleMute();
    else if (k === 'f') toggleFullscreen();
    else if (k === 'l') goLive();
  };

  const showOffline = !live || !src;
  const edge = atLiveEdge(stats.latency, stats.target);
  const quality = connectionQuality({ bufferAhead: stats.buffer, stalls: stats.stalls, bandwidth: stats.bandwidth, bitrate: stats.bitrate });
  const playing = status === 'playing' || status === 'buffering';

  return (
    <div
      ref={wrapRef}
      className={`player ${showOffline ? 'player--offline' : ''} ${paused ? 'player--paused' : ''}`}
      tabIndex={0}
      onKeyDown={onKeyDown}
      role="region"
      aria-label={`${title} video player`}
      data-testid="player"
      data-status={showOffline ? 'offline' : status}
    >
      <video ref={videoRef} className="player__video" playsInline poster={poster || undefined} aria-label={title} data-testid="video" onClick={togglePlay} />

      {showOffline ? (
        <div className="player__offline" data-testid="player-offline">
          {poster ? <img className="player__poster" src={poster} alt="" onError={(e) => (e.currentTarget.style.display = 'none')} /> : null}
          <div className="player__offline-card">{offline || <p className="player__offline-title">Offline</p>}</div>
        </div>
      ) : null}

      {!showOffline && (status === 'loading' || status === 'buffering' || status === 'waiting') ? (
        <div className="player__center" aria-live="polite">
          <span className="spinner spinner--light" role="status">
            <span className="visually-hidden">{status === 'waiting' ? 'Waiting for the stream' : 'Loading'}</span>
          </span>
          {status === 'waiting' ? <p className="player__hint">Waiting for the stream…</p> : null}
        </div>
      ) : null}

      {!showOffline && status === 'error' ? (
        <div className="player__center">
          <p className="player__hint">Playback interrupted. Reconnecting…</p>
        </div>
      ) : null}
      {!showOffline && status === 'unsupported' ? (
        <div className="player__center">
          <p className="player__hint">This browser cannot play live video.</p>
        </div>
      ) : null}

      {!showOffline && needsTap ? (
        <button type="button" className="player__unmute" onClick={toggleMute} data-testid="unmute">
          <Icon name="mute" size={18} /> Tap to unmute
        </button>
      ) : null}

      {!showOffline ? (
        <div className="player__bar">
          <button type="button" className="player__btn" onClick={togglePlay} aria-label={paused ? 'Play' : 'Pause'} data-testid="play-pause">
            <Icon name={paused ? 'play' : 'pause'} />
          </button>
          <button type="button" className="player__btn" onClick={toggleMute} aria-label={muted ? 'Unmute' : 'Mute'} aria-pressed={muted}>
            <Icon name={muted || volume === 0 ? 'mute' : 'volume'} />
          </button>
          <label className="visually-hidden" htmlFor="player-volume">
            Volume
          </label>
          <input
            id="player-volume"
            className="player__volume"
            type="range"
            min="0"
            max="1"
            step="0.05"
            value={muted ? 0 : volume}
            onChange={(e) => {
              const v = videoRef.current;
              if (!v) return;
              v.volume = Number(e.target.value);
              v.muted = Number(e.target.value) === 0;
            }}
          />
          <button
            type="button"
            className={`player__live ${edge && playing ? 'player__live--edge' : ''}`}
            onClick={goLive}
            aria-label={edge ? 'Live: at the live edge' : 'Behind live: jump to live'}
            title={edge ? 'At the live edge' : 'Jump to live'}
            data-testid="live-indicator"
            data-at-edge={edge ? 'true' : 'false'}
          >
            <span className="dot" aria-hidden="true" />
            {edge ? 'LIVE' : 'GO LIVE'}
          </button>
          {stats.latency != null ? (
            <span className="player__latency" data-testid="latency" data-latency={stats.latency.toFixed(2)} title="Delay behind the live broadcast">
              {formatLatency(stats.latency)} behind live
            </span>
          ) : null}
          <span className="player__spacer" />
          {playing ? (
            <span className={`player__quality player__quality--${quality}`} data-testid="connection-quality" data-quality={quality} data-buffer={stats.buffer != null ? stats.buffer.toFixed(2) : ''} data-bandwidth={stats.bandwidth || ''} data-bitrate={stats.bitrate || ''} data-stalls={stats.stalls} title={[QUALITY_LABEL[quality], formatBitrate(stats.bandwidth) && `~${formatBitrate(stats.bandwidth)}`].filter(Boolean).join(', ')}>
              <Icon name="signal" size={14} />
              <span className="player__quality-text">{QUALITY_LABEL[quality]}</span>
            </span>
          ) : null}
          {levels.length > 1 ? (
            <>
              <label className="visually-hidden" htmlFor="player-level">
                Video quality
              </label>
              <select id="player-level" className="player__select" value={level} onChange={(e) => chooseLevel(e.target.value)}>
                <option value={-1}>Auto</option>
                {levels.map((l) => (
                  <option key={l.index} value={l.index}>
                    {l.height ? `${l.height}p` : l.name || formatBitrate(l.bitrate)}
                  </option>
                ))}
              </select>
            </>
          ) : null}
          <button type="button" className="player__btn" onClick={toggleFullscreen} aria-label="Full screen">
            <Icon name="fullscreen" />
          </button>
        </div>
      ) : null}
    </div>
  );
}
