import { useState } from 'preact/hooks';
import { gql, type UserError } from '../api.ts';
import { choices, hint, inputKind, parseForm, type Param } from '../tsl-form.ts';
import { Badge, Button, Errors, Field, Json } from '../ui.tsx';

export interface Reply {
  code: number;
  data?: unknown;
  message?: string | null;
}

/** What the page offers the debug forms: wait for a downlink reply (async services, property set) by message id. */
export type WaitReply = (messageId: string, timeoutMs: number) => Promise<Reply | null>;

type Outcome =
  | { kind: 'reply'; code: number | null; data: unknown; note?: string; warnings?: UserError[] }
  | { kind: 'timeout'; note: string }
  | { kind: 'errors'; errors: UserError[] };

function ParamInput({
  p,
  value,
  error,
  onInput,
}: {
  p: Param;
  value: string;
  error?: string;
  onInput: (v: string) => void;
}) {
  const kind = inputKind(p.dataType);
  const common = { name: p.identifier, 'aria-label': p.identifier, value };
  return (
    <Field
      label={p.name && p.name !== p.identifier ? `${p.name} (${p.identifier})` : p.identifier}
      error={error}
      hint={hint(p.dataType)}
    >
      {kind === 'bool' || kind === 'enum' ? (
        <select {...common} onChange={(e) => onInput(e.currentTarget.value)}>
          <option value="">—</option>
          {choices(p.dataType).map(([k, label]) => (
            <option value={k}>{label}</option>
          ))}
        </select>
      ) : kind === 'json' ? (
        <textarea {...common} rows={3} onInput={(e) => onInput(e.currentTarget.value)} />
      ) : (
        <input
          {...common}
          inputMode={kind === 'number' || kind === 'date' ? 'decimal' : undefined}
          onInput={(e) => onInput(e.currentTarget.value)}
        />
      )}
    </Field>
  );
}

/**
 * One generated form: inputs by data type, checked before sending; `send` returns the outcome (reply, timeout or the
 * server's userErrors, which are shown at the input they name).
 */
export function DebugForm(p: {
  title: string;
  badge?: string;
  params: Param[];
  submitLabel: string;
  testid: string;
  send: (values: Record<string, unknown>) => Promise<Outcome>;
}) {
  const [raw, setRaw] = useState<Record<string, string>>({});
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const parsed = parseForm(p.params, raw);
    setErrors(parsed.errors);
    setOutcome(null);
    if (Object.keys(parsed.errors).length) return;
    setBusy(true);
    try {
      const o = await p.send(parsed.values);
      if (o.kind === 'errors') {
        const at: Record<string, string> = {};
        for (const err of o.errors) {
          const id = p.params.find((x) => err.field?.includes(x.identifier))?.identifier;
          if (id) at[id] = err.message;
        }
        setErrors(at);
      }
      setOutcome(o);
    } catch (err) {
      setOutcome({ kind: 'errors', errors: [{ code: 'ERROR', message: (err as Error).message }] });
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="debug-form" onSubmit={submit} data-testid={p.testid} noValidate>
      <h3>
        {p.title} {p.badge && <Badge value={p.badge} />}
      </h3>
      {p.params.length === 0 && <div class="muted">No input parameters.</div>}
      <div class="form-row">
        {p.params.map((x) => (
          <ParamInput
            p={x}
            value={raw[x.identifier] ?? ''}
            error={errors[x.identifier]}
            onInput={(v) => setRaw({ ...raw, [x.identifier]: v })}
          />
        ))}
      </div>
      <Button kind="primary" type="submit" busy={busy}>
        {busy ? 'Waiting for the device…' : p.submitLabel}
      </Button>
      <div class="result" data-testid={`${p.testid}-result`}>
        {outcome?.kind === 'reply' && (
          <div class={outcome.code === 200 ? 'success' : 'alert'}>
            <div>
              Device replied: code <b data-testid="reply-code">{outcome.code ?? '—'}</b>{' '}
              {outcome.note && <span class="muted">{outcome.note}</span>}
            </div>
            {outcome.data !== undefined && outcome.data !== null && <Json value={outcome.data} />}
            <Errors errors={outcome.warnings} testid="reply-warnings" />
          </div>
        )}
        {outcome?.kind === 'timeout' && <div class="alert">Timeout: {outcome.note}</div>}
        {outcome?.kind === 'errors' && (
          <Errors errors={outcome.errors.filter((e) => !p.params.some((x) => e.field?.includes(x.identifier)))} />
        )}
      </div>
    </form>
  );
}

const REPLY_WAIT_MS = 10_000;

export function OnlineDebug(p: {
  productKey: string;
  deviceName: string;
  properties: (Param & { accessMode: string })[];
  services: (Param & { callType: string; inputData: Param[] })[];
  waitReply: WaitReply;
}) {
  const { productKey, deviceName } = p;
  const writable = p.properties.filter((x) => x.accessMode.includes('w'));
  const setProperty = async (items: Record<string, unknown>): Promise<Outcome> => {
    if (!Object.keys(items).length)
      return { kind: 'errors', errors: [{ code: 'EMPTY', message: 'fill in at least one property' }] };
    const r = await gql(
      `mutation SetDeviceProperty($input: SetDevicePropertyInput!) { setDeviceProperty(input: $input) { messageId userErrors { code message field } } }`,
      {
        input: { productKey, deviceName, items },
      },
    );
    const s = r.setDeviceProperty;
    if (s.userErrors.length) return { kind: 'errors', errors: s.userErrors };
    const reply = await p.waitReply(s.messageId, REPLY_WAIT_MS);
    return reply
      ? { kind: 'reply', code: reply.code, data: reply.data, note: `message ${s.messageId}` }
      : { kind: 'timeout', note: `no reply to message ${s.messageId} within ${REPLY_WAIT_MS / 1000} s` };
  };
  const invoke =
    (svc: { identifier: string; callType: string }) =>
    async (args: Record<string, unknown>): Promise<Outcome> => {
      const r = await gql(
        `mutation InvokeThingService($input: InvokeThingServiceInput!) { invokeThingService(input: $input) { messageId callType code output rrpcCode userErrors { code message field } } }`,
        { input: { productKey, deviceName, identifier: svc.identifier, args, timeoutMs: 5000 } },
      );
      const s = r.invokeThingService;
      // A sync reply comes back with what is wrong with it (INVALID_OUTPUT, INVALID_REPLY) as userErrors beside it.
      if (s.callType === 'SYNC' && s.rrpcCode === 'SUCCESS')
        return {
          kind: 'reply',
          code: s.code,
          data: s.output,
          note: `sync, message ${s.messageId}`,
          warnings: s.userErrors,
        };
      if (s.userErrors.length) return { kind: 'errors', errors: s.userErrors };
      if (s.callType === 'SYNC') {
        if (s.rrpcCode === 'TIMEOUT')
          return { kind: 'timeout', note: `the device did not answer within 5 s (message ${s.messageId})` };
        return {
          kind: 'errors',
          errors: [{ code: s.rrpcCode ?? 'UNKNOWN', message: `the call did not complete (${s.rrpcCode})` }],
        };
      }
      const reply = await p.waitReply(s.messageId, REPLY_WAIT_MS);
      return reply
        ? { kind: 'reply', code: reply.code, data: reply.data, note: `async, message ${s.messageId}` }
        : { kind: 'timeout', note: `no reply to message ${s.messageId} within ${REPLY_WAIT_MS / 1000} s` };
    };
  const services = p.services.filter((s) => s.identifier !== 'set' && s.identifier !== 'get');
  return (
    <div>
      {writable.length > 0 ? (
        <DebugForm title="Set properties" params={writable} submitLabel="Set" testid="debug-set" send={setProperty} />
      ) : (
        <div class="muted pad">The thing model has no writable property.</div>
      )}
      {services.map((s) => (
        <DebugForm
          title={`Service ${s.name && s.name !== s.identifier ? `${s.name} (${s.identifier})` : s.identifier}`}
          badge={s.callType}
          params={s.inputData}
          submitLabel="Invoke"
          testid={`debug-service-${s.identifier}`}
          send={invoke(s)}
        />
      ))}
    </div>
  );
}
