// hooks/usePolling.js - run an async loader now and then every `intervalMs` while the page is
// visible (a hidden tab does not poll; it refreshes when it comes back). A 429 with Retry-After
// waits that long before the next try. Returns `refresh()` to load again at once.
import { useCallback, useEffect, useRef } from 'react';

export function usePolling(load, intervalMs, deps = []) {
  const loadRef = useRef(load);
  loadRef.current = load;
  const kick = useRef(() => {});

  useEffect(() => {
    let stopped = false;
    let timer = null;
    let ctl = null;
    let running = false;

    const schedule = (ms) => {
      clearTimeout(timer);
      if (!stopped && intervalMs > 0) timer = setTimeout(tick, ms);
    };
    async function tick() {
      if (stopped || running) return;
      if (typeof document !== 'undefined' && document.hidden) return; // resumes on visibilitychange
      running = true;
      ctl = new AbortController();
      let wait = intervalMs;
      try {
        await loadRef.current(ctl.signal);
      } catch (e) {
        if (e?.retryAfter) wait = Math.max(intervalMs, Number(e.retryAfter) * 1000);
      } finally {
        running = false;
      }
      schedule(wait);
    }
    const onVisible = () => {
      if (!document.hidden) {
        clearTimeout(timer);
        tick();
      }
    };
    kick.current = () => {
      clearTimeout(timer);
      tick();
    };
    document.addEventListener('visibilitychange', onVisible);
    tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
      ctl?.abort();
      document.removeEventListener('visibilitychange', onVisible);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [intervalMs, ...deps]);

  return useCallback(() => kick.current(), []);
}
