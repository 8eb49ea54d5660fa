import { useMemo, useState } from 'react';
import { JsonView } from '../../components/JsonView';
import { CopyButton } from '../../components/misc';
import { isObj } from '../attrs';

/** A span's input or output: a JSON tree when it parses as JSON (toggle to raw), else text. */
export function IoBlock({ value, mimeType }: { value: string; mimeType: string | null | undefined }) {
  const [raw, setRaw] = useState(false);
  const parsed = useMemo(() => {
    const isJsonMime = !!mimeType && /json/i.test(mimeType);
    const t = value.trim();
    if (isJsonMime || t.startsWith('{') || t.startsWith('[')) {
      try {
        return { ok: true as const, v: JSON.parse(t) as unknown };
      } catch {
        return { ok: false as const };
      }
    }
    return { ok: false as const };
  }, [value, mimeType]);
  return (
    <div className="io-block">
      <div className="io-toolbar">
        <span className="muted small mono">{mimeType || 'text/plain'}</span>
        <span className="grow" />
        {parsed.ok && (
          <button type="button" className="btn btn-ghost btn-small" onClick={() => setRaw(!raw)}>
            {raw ? 'Tree' : 'Raw'}
          </button>
        )}
        <CopyButton text={value} />
      </div>
      {parsed.ok && !raw ? (
        isObj(parsed.v) || Array.isArray(parsed.v) ? (
          <JsonView value={parsed.v} depth={3} />
        ) : (
          <pre className="text-block">{JSON.stringify(parsed.v, null, 2)}</pre>
        )
      ) : (
        <pre className="text-block">{parsed.ok ? JSON.stringify(parsed.v, null, 2) : value}</pre>
      )}
    </div>
  );
}
