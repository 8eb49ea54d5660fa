// The UI core's shared pieces, in one place for the pages of this directory.
import { ErrorBox as CoreErrorBox } from '../../components';
import { errorMessage } from './util';

export { gql, rest, upload, url, ApiError } from '../../api';
export { Link, navigate, useSearch } from '../../router';
export { JsonView, Loading } from '../../components';

/** The shared error box, with REST `{"code","message"}` bodies reduced to their message. */
export function ErrorBox({ error, title, onRetry }: { error: unknown; title?: string; onRetry?: () => void }) {
  if (error === null || error === undefined || error === false) return null;
  return <CoreErrorBox error={new Error(errorMessage(error))} title={title} onRetry={onRetry} />;
}
