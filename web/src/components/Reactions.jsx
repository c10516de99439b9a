// components/Reactions.jsx - the emoji buttons under the chat and the reactions floating up over
// the player (decorative: hidden from assistive tech, still with reduced motion).
import { memo } from 'react';

export const EMOJIS = [
  { emoji: '❤️', label: 'Love' },
  { emoji: '😂', label: 'Laugh' },
  { emoji: '🔥', label: 'Fire' },
  { emoji: '👏', label: 'Applause' },
  { emoji: '😮', label: 'Wow' },
  { emoji: '🎉', label: 'Party' },
];

export function ReactionBar({ onReact, disabled = false }) {
  return (
    <div className="reaction-bar" role="group" aria-label="Send a reaction" data-testid="reaction-bar">
      {EMOJIS.map(({ emoji, label }) => (
        <button key={emoji} type="button" className="reaction-btn" onClick={() => onReact(emoji)} disabled={disabled} aria-label={`React with ${label}`} title={label}>
          <span aria-hidden="true">{emoji}</span>
        </button>
      ))}
    </div>
  );
}

export const ReactionOverlay = memo(function ReactionOverlay({ reactions }) {
  return (
    <div className="reaction-overlay" aria-hidden="true">
      {reactions.map((r) => (
        <span key={r.key} className="reaction-float" style={{ '--x': `${Math.round(r.x * 70) + 15}%` }}>
          {r.emoji}
        </span>
      ))}
    </div>
  );
});
