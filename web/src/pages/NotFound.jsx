import { Link } from 'react-router-dom';
import { EmptyState } from '../components/Status.jsx';
import { useTitle } from '../hooks/useTitle.js';

export default function NotFound() {
  useTitle('Not found');
  return (
    <div className="page page--narrow">
      <EmptyState title="This page does not exist" action={<Link className="btn btn--primary" to="/">Browse live streams</Link>}>
        The link may be broken, or the page may have moved.
      </EmptyState>
    </div>
  );
}
