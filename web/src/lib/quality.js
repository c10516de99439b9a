// lib/quality.js - what the player shows about the connection: how far behind live, whether we
// are at the live edge, and a plain good / fair / poor rating.

// latency: seconds behind the live edge (hls.js `latency`); target: hls.js `targetLatency`
export function atLiveEdge(latency, target) {
  if (latency == null || !Number.isFinite(latency)) return true;
  const allowed = Math.max(3, (Number(target) || 3) * 1.5 + 1);
  return latency <= allowed;
}

export function formatLatency(latency) {
  if (latency == null || !Number.isFinite(latency)) return '';
  if (latency < 10) return `${latency.toFixed(1)} s`;
  return `${Math.round(latency)} s`;
}

// bufferAhead: seconds buffered past the playhead; stalls: rebuffering events in the last
// minute (after playback started); bandwidth: estimated bits/s; bitrate: bits/s of the level
// playing. Low-latency playback runs on about a second of buffer, so only a nearly empty
// buffer counts against the connection.
export function connectionQuality({ bufferAhead = null, stalls = 0, bandwidth = null, bitrate = null } = {}) {
  if (stalls >= 3) return 'poor';
  let score = Math.max(0, stalls);
  if (bufferAhead != null && bufferAhead < 0.25) score += 1;
  if (bandwidth && bitrate && bandwidth < bitrate * 1.2) score += 1;
  if (score >= 2) return 'poor';
  if (score === 1) return 'fair';
  return 'good';
}

export const QUALITY_LABEL = { good: 'Good connection', fair: 'Unstable connection', poor: 'Poor connection' };

export function formatBitrate(bps) {
  const v = Number(bps) || 0;
  if (!v) return '';
  if (v >= 1e6) return `${(v / 1e6).toFixed(1)} Mbps`;
  return `${Math.round(v / 1e3)} kbps`;
}
