import { useEffect, useState, type ReactNode } from 'react';
import { copyText, useFlash } from './clipboard';

/** The placeholder of an empty list or a missing page. */
export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty">
      <div className="empty-title">{title}</div>
      {children && <div className="empty-body">{children}</div>}
    </div>
  );
}

/** A page's title row: breadcrumbs, title, subtitle and actions. */
export function PageHeader({ title, sub, actions, crumbs }: {
  title: ReactNode; sub?: ReactNode; actions?: ReactNode; crumbs?: ReactNode;
}) {
  return (
    <div className="page-header">
      <div className="page-header-main">
        {crumbs && <div className="crumbs">{crumbs}</div>}
        <h1 className="page-title">{title}</h1>
        {sub && <div className="page-sub">{sub}</div>}
      </div>
      {actions && <div className="page-actions">{actions}</div>}
    </div>
  );
}

/** A titled, collapsible section. */
export function Section({ title, children, defaultOpen = true, extra, className, testId }: {
  title: ReactNode; children: ReactNode; defaultOpen?: boolean; extra?: ReactNode; className?: string; testId?: string;
}) {
  const [open, setOpen] = useState(defaultOpen);
  return (
    <section className={'section' + (className ? ' ' + className : '')} data-testid={testId}>
      <div className="section-head">
        <button type="button" className="section-toggle" onClick={() => setOpen(!open)}>
          <span className="caret">{open ? '▾' : '▸'}</span>
          <span className="section-title">{title}</span>
        </button>
        {extra && <div className="section-extra">{extra}</div>}
      </div>
      {open && <div className="section-body">{children}</div>}
    </section>
  );
}

/** Copy-to-clipboard button; silently does nothing where the clipboard is unavailable. */
export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [done, flash] = useFlash();
  return (
    <button
      type="button"
      className="btn btn-ghost btn-small"
      onClick={() => {
        void copyText(text).then((ok) => {
          if (ok) flash();
        });
      }}
    >
      {done ? 'Copied' : label}
    </button>
  );
}

/** Preformatted text with its whitespace kept. */
export function TextBlock({ value, className }: { value: string; className?: string }) {
  return <pre className={'text-block' + (className ? ' ' + className : '')}>{value}</pre>;
}

/** Sets document.title to "<title> · Ember" while mounted. */
export function useTitle(title: string | null | undefined) {
  useEffect(() => {
    document.title = title ? `${title} · Ember` : 'Ember';
  }, [title]);
}
