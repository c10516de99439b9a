import { describe, expect, it } from 'vitest';
import { formatCount, formatDuration, formatSpan, initials, since, timeAgo } from './format.js';
import { atLiveEdge, connectionQuality, formatBitrate, formatLatency } from './quality.js';

describe('format', () => {
  it('counts', () => {
    expect(formatCount(0)).toBe('0');
    expect(formatCount(999)).toBe('999');
    expect(formatCount(1287)).toBe('1.3K');
    expect(formatCount(1000)).toBe('1K');
    expect(formatCount(45000)).toBe('45K');
    expect(formatCount(2500000)).toBe('2.5M');
  });
  it('durations', () => {
    expect(formatDuration(75)).toBe('1:15');
    expect(formatDuration(3725)).toBe('1:02:05');
    expect(formatSpan(7500)).toBe('2h 5m');
    expect(formatSpan(45)).toBe('45s');
  });
  it('times', () => {
    const now = Date.parse('2025-01-01T12:00:00Z');
    expect(since('2025-01-01T11:59:00Z', now)).toBe(60);
    expect(timeAgo('2025-01-01T11:59:50Z', now)).toBe('just now');
    expect(timeAgo('2025-01-01T11:30:00Z', now)).toBe('30 min ago');
    expect(timeAgo('2025-01-01T09:00:00Z', now)).toBe('3 h ago');
    expect(timeAgo('bogus', now)).toBe('');
  });
  it('initials', () => {
    expect(initials('Alice Nova')).toBe('AN');
    expect(initials('bob_builds')).toBe('BB');
    expect(initials('')).toBe('?');
  });
});

describe('quality', () => {
  it('live edge', () => {
    expect(atLiveEdge(null, null)).toBe(true);
    expect(atLiveEdge(1.5, 1)).toBe(true);
    expect(atLiveEdge(12, 1)).toBe(false);
  });
  it('connection rating', () => {
    expect(connectionQuality({ bufferAhead: 1.1, stalls: 0, bandwidth: 1e7, bitrate: 2e6 })).toBe('good');
    expect(connectionQuality({ bufferAhead: 0.6, stalls: 0 })).toBe('good');
    expect(connectionQuality({ bufferAhead: 1, stalls: 1 })).toBe('fair');
    expect(connectionQuality({ bufferAhead: 1, stalls: 0, bandwidth: 2e6, bitrate: 2e6 })).toBe('fair');
    expect(connectionQuality({ bufferAhead: 0.1, stalls: 1 })).toBe('poor');
    expect(connectionQuality({ stalls: 3 })).toBe('poor');
  });
  it('labels', () => {
    expect(formatLatency(1.234)).toBe('1.2 s');
    expect(formatLatency(12.6)).toBe('13 s');
    expect(formatLatency(null)).toBe('');
    expect(formatBitrate(2500000)).toBe('2.5 Mbps');
    expect(formatBitrate(800000)).toBe('800 kbps');
  });
});
