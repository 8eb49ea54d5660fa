// /plugins: the registry (every version), enable/disable, grants, limits, call stats, upload.
import { type FormEvent, useRef, useState } from 'react';
import { errorMessage, gql, rest, upload } from '../api';
import { useAsync } from '../components/useAsync';
import { Loading } from '../components/Loading';
import { ErrorBox } from '../components/ErrorBox';
import { copyText, useFlash } from '../components/clipboard';
import { formatBytes, formatCompact, formatNumber, formatTime } from '../format';
import './pages.css';

interface PluginItem {
  name: string;
  world: string;
  version: string;
  sha256: string;
  enabled: boolean;
  grants: unknown;
  limits: unknown;
  config: unknown;
  createdAt: string;
  stats: {
    calls: number;
    errors: { kind: string; count: number }[];
    instructionsP50: number | null;
    instructionsP99: number | null;
  };
}

const PLUGINS = `query Plugins {
  plugins {
    name world version sha256 enabled grants limits config createdAt
    stats { calls errors { kind count } instructionsP50 instructionsP99 }
  }
}`;

export default function PluginsPage(_props: { params: Record<string, string> }) {
  const list = useAsync((signal) => gql<{ plugins: PluginItem[] }>(PLUGINS, {}, { signal }), []);
  const [highlight, setHighlight] = useState<string | null>(null);
  const plugins = list.data?.plugins ?? [];

  return (
    <div className="page pg-page">
      <div className="pg-header">
        <h1>Plugins</h1>
        <span className="pg-muted">{plugins.length} versions</span>
      </div>
      <UploadForm
        onUploaded={async (reference) => {
          setHighlight(reference);
          await list.reload();
        }}
      />
      {list.error !== undefined && <ErrorBox error={list.error} />}
      {list.loading && !list.data && <Loading />}
      {list.data && (
        <table className="table pg-table" data-testid="plugins-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>World</th>
              <th>Version</th>
              <th>SHA-256</th>
              <th>Enabled</th>
              <th>Grants</th>
              <th>Limits</th>
              <th>Recent calls</th>
            </tr>
          </thead>
          <tbody>
            {plugins.map((p) => (
              <PluginRow
                key={`${p.name}@${p.version}`}
                plugin={p}
                highlight={highlight === `${p.name}@${p.version}`}
                onChanged={() => list.reload()}
              />
            ))}
            {plugins.length === 0 && (
              <tr>
                <td colSpan={8} className="pg-empty">
                  No plugins registered. Upload a WebAssembly component above.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      )}
    </div>
  );
}

interface GrantsShape {
  hosts?: string[];
  secrets?: string[];
  llm?: boolean;
  private_addresses?: boolean;
}

interface LimitsShape {
  fuel?: number;
  memory_bytes?: number;
  deadline?: number;
  deadline_ms?: number;
  max_output_bytes?: number;
  max_log_bytes?: number;
}

function Grants({ value }: { value: unknown }) {
  const g = (value ?? {}) as GrantsShape;
  const hosts = Array.isArray(g.hosts) ? g.hosts : [];
  const secrets = Array.isArray(g.secrets) ? g.secrets : [];
  const items: { key: string; text: string; title: string }[] = [];
  if (hosts.length) items.push({ key: 'hosts', text: `hosts: ${hosts.join(', ')}`, title: hosts.join('\n') });
  if (secrets.length) items.push({ key: 'secrets', text: `secrets: ${secrets.join(', ')}`, title: secrets.join('\n') });
  if (g.llm) items.push({ key: 'llm', text: 'llm', title: 'may call the llm import' });
  if (g.private_addresses)
    items.push({ key: 'private', text: 'private addresses', title: 'granted hosts may resolve to private addresses' });
  if (!items.length) return <span className="pg-muted">none</span>;
  return (
    <div className="pg-stack">
      {items.map((i) => (
        <span key={i.key} className="pg-chip" title={i.title}>
          {i.text}
        </span>
      ))}
    </div>
  );
}

function Limits({ value }: { value: unknown }) {
  const l = (value ?? {}) as LimitsShape;
  const deadline = l.deadline ?? l.deadline_ms;
  return (
    <div className="pg-stack pg-small" title={JSON.stringify(value, null, 2)}>
      <span>fuel {formatCompact(l.fuel)}</span>
      <span>memory {formatBytes(l.memory_bytes)}</span>
      <span>timeout {deadline === undefined ? '–' : `${formatNumber(deadline)} ms`}</span>
    </div>
  );
}

function PluginRow({
  plugin,
  highlight,
  onChanged,
}: {
  plugin: PluginItem;
  highlight: boolean;
  onChanged: () => Promise<void>;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [copied, flashCopied] = useFlash();
  const reference = `${encodeURIComponent(plugin.name)}@${encodeURIComponent(plugin.version)}`;

  const toggle = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await rest('PATCH', `/v1/plugins/${reference}`, { enabled: !plugin.enabled });
      await onChanged();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const copy = async () => {
    if (await copyText(plugin.sha256)) flashCopied();
  };
  const stats = plugin.stats;
  const errorCount = stats.errors.reduce((n, e) => n + e.count, 0);

  return (
    <tr
      data-testid="plugin-row"
      data-name={plugin.name}
      data-version={plugin.version}
      className={`${highlight ? 'pg-highlight' : ''}${plugin.enabled ? '' : ' pg-disabled-row'}`}
    >
      <td>
        <strong>{plugin.name}</strong>
        <div className="pg-muted pg-small">added {formatTime(plugin.createdAt)}</div>
      </td>
      <td>
        <span className={`pg-badge pg-world-${plugin.world}`} data-testid="plugin-world">
          {plugin.world}
        </span>
      </td>
      <td className="pg-mono">{plugin.version}</td>
      <td className="pg-mono">
        <button
          type="button"
          className="pg-linkish pg-mono"
          title={`${plugin.sha256}\n(click to copy)`}
          data-sha256={plugin.sha256}
          onClick={() => void copy()}
        >
          {plugin.sha256.slice(0, 12)}
        </button>
        {copied && <span className="pg-ok-text pg-small"> copied</span>}
      </td>
      <td>
        <label className="pg-toggle">
          <input
            type="checkbox"
            data-testid="plugin-enabled"
            checked={plugin.enabled}
            disabled={busy}
            onChange={() => void toggle()}
          />
          {plugin.enabled ? 'enabled' : 'disabled'}
        </label>
        {error !== undefined && <div className="pg-error-text pg-small">{errorMessage(error)}</div>}
      </td>
      <td>
        <Grants value={plugin.grants} />
      </td>
      <td>
        <Limits value={plugin.limits} />
      </td>
      <td data-testid="plugin-stats" className="pg-small">
        <div>
          <span data-testid="plugin-calls">{formatNumber(stats.calls)}</span> calls
          {errorCount > 0 ? (
            <span className="pg-error-text"> · {formatNumber(errorCount)} errors</span>
          ) : (
            <span className="pg-muted"> · 0 errors</span>
          )}
        </div>
        {stats.errors.length > 0 && (
          <div className="pg-stack">
            {stats.errors.map((e) => (
              <span key={e.kind} className="pg-chip pg-chip-error">
                {e.kind}: {formatNumber(e.count)}
              </span>
            ))}
          </div>
        )}
        <div className="pg-muted">
          instr p50 {formatCompact(stats.instructionsP50)} · p99 {formatCompact(stats.instructionsP99)}
        </div>
      </td>
    </tr>
  );
}

function UploadForm({ onUploaded }: { onUploaded: (reference: string) => Promise<void> }) {
  const fileRef = useRef<HTMLInputElement>(null);
  const [file, setFile] = useState<File | null>(null);
  const [name, setName] = useState('');
  const [version, setVersion] = useState('');
  const [grants, setGrants] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [done, setDone] = useState<string | null>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!file) {
      setError(new Error('Choose a .wasm component first.'));
      return;
    }
    setBusy(true);
    setError(undefined);
    setDone(null);
    try {
      const form = new FormData();
      form.append('component', file, file.name);
      const manifest: Record<string, string> = {};
      if (name.trim()) manifest.name = name.trim();
      if (version.trim()) manifest.version = version.trim();
      if (Object.keys(manifest).length) form.append('manifest', JSON.stringify(manifest));
      if (grants.trim()) {
        try {
          JSON.parse(grants);
        } catch (err) {
          throw new Error(`Grants are not valid JSON: ${errorMessage(err)}`);
        }
        form.append('grants', grants.trim());
      }
      const reply = await upload<{ data: { name: string; version: string } }>('/v1/plugins', form);
      const reference = `${reply.data.name}@${reply.data.version}`;
      setDone(reference);
      setFile(null);
      setName('');
      setVersion('');
      if (fileRef.current) fileRef.current.value = '';
      await onUploaded(reference);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="pg-panel" onSubmit={(e) => void submit(e)} data-testid="plugin-upload-form" data-admin="">
      <h2>Upload a plugin</h2>
      <div className="pg-form-row">
        <label>
          Component (.wasm)
          <input
            ref={fileRef}
            type="file"
            accept=".wasm,application/wasm"
            data-testid="plugin-upload-input"
            onChange={(e) => {
              const chosen = e.target.files?.[0] ?? null;
              setFile(chosen);
              setError(undefined);
            }}
          />
        </label>
        <label>
          <span>
            Name <span className="pg-muted">(default: the file name)</span>
          </span>
          <input
            type="text"
            data-testid="plugin-upload-name"
            value={name}
            placeholder={file ? file.name.replace(/\.wasm$/i, '') : 'my_evaluator'}
            onChange={(e) => setName(e.target.value)}
          />
        </label>
        <label>
          <span>
            Version <span className="pg-muted">(optional)</span>
          </span>
          <input
            type="text"
            data-testid="plugin-upload-version"
            value={version}
            placeholder="0.1.0"
            onChange={(e) => setVersion(e.target.value)}
          />
        </label>
        <label className="pg-grow">
          <span>
            Grants <span className="pg-muted">(optional JSON)</span>
          </span>
          <input
            type="text"
            className="pg-mono"
            value={grants}
            placeholder='{"hosts": ["api.openai.com"], "secrets": ["OPENAI_API_KEY"]}'
            onChange={(e) => setGrants(e.target.value)}
          />
        </label>
        <button type="submit" className="btn btn-primary" data-testid="plugin-upload-submit" disabled={busy}>
          {busy ? 'Uploading…' : 'Upload'}
        </button>
      </div>
      {done && <div className="pg-ok-text">Registered {done}.</div>}
      {error !== undefined && (
        <div className="pg-error-box" role="alert" data-testid="plugin-upload-error">
          <strong>Upload refused:</strong> {errorMessage(error)}
        </div>
      )}
    </form>
  );
}
