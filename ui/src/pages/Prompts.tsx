// /prompts: prompts, their versions with tags and a template preview, and a way to the playground.
import { Fragment, useState } from 'react';
import { rest } from '../api';
import { Link } from '../router';
import { useAsync } from '../components/useAsync';
import { Loading } from '../components/Loading';
import { ErrorBox } from '../components/ErrorBox';
import { compactJson } from '../format';
import { type PromptItem, type PromptVersion, invocationParams, templateMessages } from './lib/prompt';
import './pages.css';

export default function PromptsPage(_props: { params: Record<string, string> }) {
  const list = useAsync(
    (signal) => rest<{ data: PromptItem[]; next_cursor: string | null }>('GET', '/v1/prompts?limit=1000', undefined, { signal }),
    [],
  );
  const [open, setOpen] = useState<string[]>([]);
  const prompts = list.data?.data ?? [];
  const toggle = (id: string) => setOpen((o) => (o.includes(id) ? o.filter((x) => x !== id) : [...o, id]));

  return (
    <div className="page pg-page">
      <div className="pg-header">
        <h1>Prompts</h1>
        <span className="pg-muted">{prompts.length} prompts</span>
        <div className="pg-spacer" />
        <Link to="/playground" className="btn">
          New in playground
        </Link>
      </div>
      {list.error !== undefined && <ErrorBox error={list.error} />}
      {list.loading && !list.data && <Loading />}
      {list.data && (
        <table className="table pg-table">
          <thead>
            <tr>
              <th className="pg-narrow" />
              <th>Name</th>
              <th>Description</th>
              <th>Id</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {prompts.map((p) => (
              <Fragment key={p.id}>
                <tr data-testid="prompt-row" data-name={p.name} className="pg-clickable" onClick={() => toggle(p.id)}>
                  <td className="pg-narrow">{open.includes(p.id) ? '▾' : '▸'}</td>
                  <td>
                    <strong>{p.name}</strong>
                  </td>
                  <td className="pg-muted">{p.description ?? ''}</td>
                  <td className="pg-mono pg-muted">{p.id}</td>
                  <td className="pg-right">
                    <Link
                      to={`/playground?prompt=${encodeURIComponent(p.id)}`}
                      className="btn btn-small"
                      data-testid="prompt-open-playground"
                      onClick={(e) => e.stopPropagation()}
                    >
                      Open in playground
                    </Link>
                  </td>
                </tr>
                {open.includes(p.id) && (
                  <tr className="pg-expanded">
                    <td />
                    <td colSpan={4}>
                      <Versions prompt={p} />
                    </td>
                  </tr>
                )}
              </Fragment>
            ))}
            {prompts.length === 0 && (
              <tr>
                <td colSpan={5} className="pg-empty">
                  No prompts yet. Write one in the <Link to="/playground">playground</Link> and save it.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      )}
    </div>
  );
}

interface VersionWithTags extends PromptVersion {
  tags: { id: string; name: string; description: string | null }[];
}

function Versions({ prompt }: { prompt: PromptItem }) {
  const result = useAsync(async (signal) => {
    const reply = await rest<{ data: PromptVersion[] }>(
      'GET',
      `/v1/prompts/${encodeURIComponent(prompt.id)}/versions?limit=50`,
      undefined,
      { signal },
    );
    return Promise.all(
      reply.data.map(async (v): Promise<VersionWithTags> => {
        const tags = await rest<{ data: VersionWithTags['tags'] }>(
          'GET',
          `/v1/prompt_versions/${encodeURIComponent(v.id)}/tags`,
          undefined,
          { signal },
        );
        return { ...v, tags: tags.data ?? [] };
      }),
    );
  }, [prompt.id]);

  if (result.error !== undefined) return <ErrorBox error={result.error} />;
  if (!result.data) return <Loading />;
  const versions = result.data;
  return (
    <div className="pg-versions">
      {versions.map((v, i) => (
        <div key={v.id} className="pg-version" data-testid="prompt-version">
          <div className="pg-version-head">
            <strong>v{versions.length - i}</strong>
            {v.tags.map((t) => (
              <span key={t.id} className="pg-chip pg-tag" title={t.description ?? ''} data-testid="prompt-tag">
                {t.name}
              </span>
            ))}
            <span className="pg-mono pg-muted">{v.id}</span>
            <span>
              {v.model_provider} · <span className="pg-mono">{v.model_name}</span>
            </span>
            <span className="pg-muted">
              {v.template_type} · {v.template_format}
            </span>
            <span className="pg-mono pg-muted pg-small">{compactJson(invocationParams(v.invocation_parameters), 120)}</span>
            <div className="pg-spacer" />
            <Link
              to={`/playground?prompt=${encodeURIComponent(prompt.id)}&version=${encodeURIComponent(v.id)}`}
              className="btn btn-small"
            >
              Open in playground
            </Link>
          </div>
          {v.description && <div className="pg-muted">{v.description}</div>}
          <div className="pg-template">
            {templateMessages(v.template).map((m, j) => (
              <div key={j} className="pg-template-message">
                <span className={`pg-role pg-role-${m.role}`}>{m.role}</span>
                <span className="pg-pre">{m.content}</span>
              </div>
            ))}
          </div>
        </div>
      ))}
      {versions.length === 0 && <div className="pg-empty">No versions.</div>}
    </div>
  );
}
