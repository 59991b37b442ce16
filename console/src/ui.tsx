import type { ButtonHTMLAttributes, ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import type { UserError } from './api.ts';
import { onLinkClick } from './router.ts';

export const Link = (p: { href: string; children: ComponentChildren; class?: string }) => (
  <a href={p.href} class={p.class} onClick={onLinkClick}>
    {p.children}
  </a>
);

export const Card = (p: {
  title?: ComponentChildren;
  actions?: ComponentChildren;
  children: ComponentChildren;
  class?: string;
  testid?: string;
}) => (
  <section class={`card ${p.class ?? ''}`} data-testid={p.testid}>
    {(p.title || p.actions) && (
      <header class="card-head">
        <h2>{p.title}</h2>
        <div class="actions">{p.actions}</div>
      </header>
    )}
    <div class="card-body">{p.children}</div>
  </section>
);

export const PageTitle = (p: { children: ComponentChildren; sub?: ComponentChildren; actions?: ComponentChildren }) => (
  <div class="page-title">
    <div>
      <h1>{p.children}</h1>
      {p.sub && <div class="muted">{p.sub}</div>}
    </div>
    <div class="actions">{p.actions}</div>
  </div>
);

const STATE_CLASS: Record<string, string> = {
  ONLINE: 'ok',
  OFFLINE: 'off',
  UNACTIVE: 'idle',
  DISABLED: 'bad',
  DELETED: 'bad',
  RUNNING: 'ok',
  STOPPED: 'off',
  ACTIVE: 'ok',
  REVOKED: 'bad',
  SUCCEEDED: 'ok',
  COMPLETED: 'ok',
  FAILED: 'bad',
  CANCELED: 'off',
  IN_PROGRESS: 'idle',
  INFO: 'off',
  ALERT: 'idle',
  ERROR: 'bad',
  CREATE: 'ok',
  ENABLE: 'ok',
  DISABLE: 'bad',
  DELETE: 'bad',
};
export const Badge = (p: { value: string; testid?: string }) => (
  <span class={`badge ${STATE_CLASS[p.value] ?? 'idle'}`} data-testid={p.testid}>
    {p.value}
  </span>
);

export function Button(
  p: ButtonHTMLAttributes<HTMLButtonElement> & { kind?: 'primary' | 'danger' | 'ghost'; busy?: boolean },
) {
  const { kind, busy, class: cls, ...rest } = p;
  return <button {...rest} class={`btn ${kind ?? ''} ${cls ?? ''}`} disabled={busy || (p.disabled as boolean)} />;
}

export const Field = (p: {
  label: string;
  children: ComponentChildren;
  error?: string | null;
  hint?: ComponentChildren;
}) => (
  // biome-ignore lint/a11y/noLabelWithoutControl: the control is passed as children and wrapped by the label.
  <label class={`field ${p.error ? 'has-error' : ''}`}>
    <span class="label">{p.label}</span>
    {p.children}
    {p.error ? <span class="error-text">{p.error}</span> : p.hint ? <span class="hint">{p.hint}</span> : null}
  </label>
);

export function Errors(p: { errors?: (UserError | string)[] | null; testid?: string }) {
  const list = (p.errors ?? []).filter(Boolean);
  if (!list.length) return null;
  return (
    <div class="alert" role="alert" data-testid={p.testid}>
      {list.map((e) =>
        typeof e === 'string' ? (
          <div>{e}</div>
        ) : (
          <div>
            <code>{e.code}</code> {e.message}
            {e.field?.length ? <span class="muted"> at {e.field.join('.')}</span> : null}
          </div>
        ),
      )}
    </div>
  );
}

/** A secret shown once: the value, a copy button and the warning. */
export function Secret(p: { label: string; value: string; testid?: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <div class="secret" data-testid={p.testid}>
      <div class="label">{p.label} (shown once: copy it now)</div>
      <div class="row">
        <code class="secret-value">{p.value}</code>
        <Button
          onClick={() => {
            // The Clipboard API needs a secure context (https or localhost); elsewhere, the old copy command.
            if (navigator.clipboard && window.isSecureContext)
              return void navigator.clipboard.writeText(p.value).then(() => setCopied(true));
            const area = document.createElement('textarea');
            area.value = p.value;
            document.body.append(area);
            area.select();
            setCopied(document.execCommand('copy'));
            area.remove();
          }}
        >
          {copied ? 'Copied' : 'Copy'}
        </Button>
      </div>
    </div>
  );
}

export const Json = (p: { value: unknown; class?: string }) => (
  <pre class={`json ${p.class ?? ''}`}>{JSON.stringify(p.value, null, 2)}</pre>
);

export function fmtValue(v: unknown): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export function fmtTime(t: string | number | null | undefined): string {
  if (t == null) return '—';
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? String(t) : d.toLocaleString(undefined, { hour12: false });
}

export const Empty = (p: { children: ComponentChildren }) => <div class="empty">{p.children}</div>;

export const Loading = () => <div class="muted pad">Loading…</div>;

export function Tabs(p: { tabs: string[]; value: string; onChange: (t: string) => void }) {
  return (
    <div class="tabs" role="tablist">
      {p.tabs.map((t) => (
        <button
          type="button"
          role="tab"
          aria-selected={t === p.value}
          class={t === p.value ? 'tab active' : 'tab'}
          onClick={() => p.onChange(t)}
        >
          {t}
        </button>
      ))}
    </div>
  );
}

export function Modal(p: { title: string; onClose: () => void; children: ComponentChildren }) {
  return (
    // biome-ignore lint/a11y/useKeyWithClickEvents: a click on the backdrop is a mouse shortcut; the dialog has its own Close button.
    // biome-ignore lint/a11y/noStaticElementInteractions: as above: the backdrop is not a control.
    <div class="modal-back" onClick={(e) => e.target === e.currentTarget && p.onClose()}>
      <div class="modal" role="dialog" aria-label={p.title}>
        <header class="card-head">
          <h2>{p.title}</h2>
          <button type="button" class="btn ghost" aria-label="Close" onClick={p.onClose}>
            ✕
          </button>
        </header>
        <div class="card-body">{p.children}</div>
      </div>
    </div>
  );
}
