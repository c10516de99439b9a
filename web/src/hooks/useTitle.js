// hooks/useTitle.js - the document title of a page.
import { useEffect } from 'react';

export function useTitle(title) {
  useEffect(() => {
    document.title = title ? `${title} · StreamHub` : 'StreamHub';
  }, [title]);
}
