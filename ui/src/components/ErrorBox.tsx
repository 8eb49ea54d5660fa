import { errorMessage } from '../api';

export function ErrorBox({ error, title, onRetry }: { error: unknown; title?: string; onRetry?: () => void }) {
  if (error === null || error === undefined || error === false) return null;
  return (
    <div className="error-box" role="alert">
      <div className="error-box-body">
        {title && <div className="error-box-title">{title}</div>}
        <div className="error-box-msg">{errorMessage(error)}</div>
      </div>
      {onRetry && (
        <button type="button" className="btn btn-small" onClick={onRetry}>
          Retry
        </button>
      )}
    </div>
  );
}

export default ErrorBox;
