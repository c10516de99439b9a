// hooks/useModeration.jsx - time-outs and bans from the chat (REST /api/rooms/:roomId/bans),
// with a confirmation before a ban and a toast for the result.
import { useCallback, useState } from 'react';
import ConfirmDialog from '../components/ConfirmDialog.jsx';
import { useToast } from '../components/Toasts.jsx';
import { chatAPI, describeError } from '../services/api.js';

export function useModeration(roomId) {
  const toast = useToast();
  const [banTarget, setBanTarget] = useState(null);
  const [busy, setBusy] = useState(false);
  const timeout = useCallback(
    async (username, seconds = 600) => {
      try {
        await chatAPI.ban(roomId, { username, durationSeconds: seconds });
        toast.show({ title: `${username} is timed out`, text: `For ${Math.round(seconds / 60)} minutes.`, tone: 'success' });
      } catch (e) {
        toast.show({ title: 'Could not time out', text: describeError(e), tone: 'error' });
      }
    },
    [roomId, toast],
  );
  const confirmBan = useCallback(async () => {
    if (!banTarget) return;
    setBusy(true);
    try {
      await chatAPI.ban(roomId, { username: banTarget });
      toast.show({ title: `${banTarget} is banned`, text: 'They can no longer chat here.', tone: 'success' });
      setBanTarget(null);
    } catch (e) {
      toast.show({ title: 'Could not ban', text: describeError(e), tone: 'error' });
    } finally {
      setBusy(false);
    }
  }, [roomId, banTarget, toast]);
  const dialog = (
    <ConfirmDialog open={Boolean(banTarget)} title={`Ban ${banTarget || ''}?`} confirmLabel="Ban" danger busy={busy} onCancel={() => setBanTarget(null)} onConfirm={confirmBan}>
      They will not be able to chat in this room until you unban them from your dashboard.
    </ConfirmDialog>
  );
  return { timeout, ban: setBanTarget, dialog };
}
