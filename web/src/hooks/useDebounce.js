// hooks/useDebounce.js - the value, once it stopped changing for `ms`.
import { useEffect, useState } from 'react';

export function useDebounce(value, ms = 300) {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setDebounced(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return debounced;
}
