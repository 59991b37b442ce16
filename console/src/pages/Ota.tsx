import { useEffect, useRef, useState } from 'preact/hooks';
import { getToken, type UserError } from '../api.ts';
import { useMutation, useQuery, useSubscription } from '../hooks.ts';
import { Badge, Button, Card, Empty, Errors, Field, fmtTime, Loading, PageTitle } from '../ui.tsx';

const DATA = `query Ota($pk: String!) {
  streamCursor
  firmwares(productKey: $pk, first: 100) { nodes { id firmwareId name version module size md5 signMethod url createdAt } }
  otaJobs(productKey: $pk, first: 50) { nodes { id jobId status createdAt rolloutRate firmware { name version module }
    counts { total queued notified inProgress succeeded failed canceled } } }
}`;

const CREATE_FIRMWARE = `mutation CreateFirmware($input: CreateFirmwareInput!) { createFirmware(input: $input) { firmware { id } userErrors { code message field } } }`;

/** GraphQL multipart request (the upload form yoga accepts): operations, map, then the file. */
async function uploadFirmware(input: Record<string, unknown>, file: File): Promise<any> {
  const form = new FormData();
  form.append('operations', JSON.stringify({ query: CREATE_FIRMWARE, variables: { input: { ...input, file: null } } }));
  form.append('map', JSON.stringify({ 0: ['variables.input.file'] }));
  form.append('0', file);
  const res = await fetch('/graphql', {
    method: 'POST',
    body: form,
    headers: { authorization: `Bearer ${getToken()}`, 'graphql-require-preflight': '1' },
  });
  const body = await res.json();
  if (body.errors?.length) throw new Error(body.errors[0].message);
  return body.data;
}

function FirmwareForm({ pk, onDone }: { pk: string; onDone: () => void }) {
  const [f, setF] = useState({ name: '', version: '', module: 'default', url: '', size: '', md5: '' });
  const [file, setFile] = useState<File | null>(null);
  const [errors, setErrors] = useState<(UserError | string)[]>([]);
  const [busy, setBusy] = useState(false);
  const m = useMutation(CREATE_FIRMWARE);
  const set = (k: keyof typeof f) => (e: Event) => setF({ ...f, [k]: (e.currentTarget as HTMLInputElement).value });
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      const input = { productKey: pk, name: f.name, version: f.version, module: f.module || 'default' };
      const r = file
        ? await uploadFirmware(input, file)
        : await m.run({ input: { ...input, url: f.url, size: Number(f.size) || null, md5: f.md5 || null } });
      if (!r) return setErrors(m.error ? [m.error] : []);
      setErrors(r.createFirmware.userErrors);
      if (!r.createFirmware.userErrors.length) onDone();
    } catch (err) {
      setErrors([(err as Error).message]);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form onSubmit={submit} class="pad">
      <div class="form-row">
        <Field label="Name">
          <input value={f.name} onInput={set('name')} required />
        </Field>
        <Field label="Version">
          <input value={f.version} onInput={set('version')} required />
        </Field>
        <Field label="Module">
          <input value={f.module} onInput={set('module')} />
        </Field>
      </div>
      <Field label="Package file" hint="Uploaded to ThingQL, which serves it to devices over signed links.">
        <input type="file" onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)} />
      </Field>
      {!file && (
        <div class="form-row">
          <Field label="…or an external URL">
            <input value={f.url} onInput={set('url')} placeholder="https://…" />
          </Field>
          <Field label="Size (bytes)">
            <input value={f.size} onInput={set('size')} inputMode="numeric" />
          </Field>
          <Field label="MD5 (hex)">
            <input value={f.md5} onInput={set('md5')} />
          </Field>
        </div>
      )}
      <Errors errors={errors} />
      <Button kind="primary" type="submit" busy={busy}>
        Add firmware
      </Button>
    </form>
  );
}

function JobForm({ pk, firmwares, onDone }: { pk: string; firmwares: any[]; onDone: () => void }) {
  const [f, setF] = useState({ firmwareId: firmwares[0]?.id ?? '', deviceNames: '', srcVersions: '', rolloutRate: '' });
  const [errors, setErrors] = useState<(UserError | string)[]>([]);
  const m = useMutation(
    `mutation CreateOtaJob($input: CreateOtaJobInput!) { createOtaJob(input: $input) { job { id } userErrors { code message field } } }`,
  );
  const list = (s: string) => s.split(/[\s,]+/).filter(Boolean);
  const submit = async (e: Event) => {
    e.preventDefault();
    const input: Record<string, unknown> = { firmwareId: f.firmwareId };
    if (f.deviceNames.trim()) input.deviceNames = list(f.deviceNames);
    if (f.srcVersions.trim()) input.srcVersions = list(f.srcVersions);
    if (f.rolloutRate) input.rolloutRate = Number(f.rolloutRate);
    const r = await m.run({ input });
    if (!r) return setErrors(m.error ? [m.error] : []);
    setErrors(r.createOtaJob.userErrors);
    if (!r.createOtaJob.userErrors.length) onDone();
  };
  void pk;
  return (
    <form onSubmit={submit} class="pad">
      <div class="form-row">
        <Field label="Firmware">
          <select value={f.firmwareId} onChange={(e) => setF({ ...f, firmwareId: e.currentTarget.value })}>
            {firmwares.map((fw) => (
              <option value={fw.id}>
                {fw.name} {fw.version} ({fw.module})
              </option>
            ))}
          </select>
        </Field>
        <Field label="Devices" hint="Names, comma separated; empty: every device of the product">
          <input value={f.deviceNames} onInput={(e) => setF({ ...f, deviceNames: e.currentTarget.value })} />
        </Field>
        <Field label="From versions" hint="Optional">
          <input value={f.srcVersions} onInput={(e) => setF({ ...f, srcVersions: e.currentTarget.value })} />
        </Field>
        <Field label="Rollout / min" hint="Optional">
          <input
            value={f.rolloutRate}
            onInput={(e) => setF({ ...f, rolloutRate: e.currentTarget.value })}
            inputMode="numeric"
          />
        </Field>
      </div>
      <Errors errors={errors} />
      <Button kind="primary" type="submit" busy={m.busy} disabled={!f.firmwareId}>
        Start upgrade job
      </Button>
    </form>
  );
}

export function Ota() {
  const products = useQuery(`{ products(first: 500) { nodes { productKey name } } }`);
  const [pk, setPk] = useState('');
  useEffect(() => {
    if (!pk && products.data?.products.nodes[0]) setPk(products.data.products.nodes[0].productKey);
  }, [products.data]);
  const q = useQuery(DATA, { pk }, [pk]);
  const cancel = useMutation(
    `mutation CancelOtaJob($input: CancelOtaJobInput!) { cancelOtaJob(input: $input) { job { id } userErrors { code message } } }`,
  );
  const [adding, setAdding] = useState<'fw' | 'job' | null>(null);
  const [progress, setProgress] = useState<any[]>([]);
  const first = useRef<{ pk: string; cursor: string } | null>(null);
  if (q.data && first.current?.pk !== pk) first.current = { pk, cursor: q.data.streamCursor };
  // Live progress: every otaProgress event is shown, and the job counters are re-read shortly after.
  const timer = useRef<number | undefined>(undefined);
  useSubscription(
    `subscription OtaProgress($pk: String, $after: String) { otaProgress(productKey: $pk, after: $after) { cursor kind deviceName jobId status step desc version time } }`,
    first.current && pk ? { pk, after: first.current.cursor } : null,
    (d) => {
      setProgress((l) => [d.otaProgress, ...l].slice(0, 50));
      clearTimeout(timer.current);
      timer.current = window.setTimeout(() => q.reload(), 500);
    },
  );
  const fws = q.data?.firmwares.nodes ?? [];
  const jobs = q.data?.otaJobs.nodes ?? [];
  return (
    <div>
      <PageTitle
        sub="Firmware packages and upgrade jobs"
        actions={
          <select value={pk} onChange={(e) => setPk(e.currentTarget.value)} aria-label="Product">
            {(products.data?.products.nodes ?? []).map((p: any) => (
              <option value={p.productKey}>{p.name}</option>
            ))}
          </select>
        }
      >
        OTA
      </PageTitle>
      {!pk ? (
        <Empty>Create a product first.</Empty>
      ) : (
        <>
          <Errors errors={[q.error, cancel.error].filter(Boolean) as string[]} />
          <Card
            title="Firmware"
            actions={<Button onClick={() => setAdding(adding === 'fw' ? null : 'fw')}>Add firmware</Button>}
          >
            {adding === 'fw' && <FirmwareForm pk={pk} onDone={() => (setAdding(null), q.reload())} />}
            {!q.data ? (
              <Loading />
            ) : fws.length === 0 ? (
              <Empty>No firmware.</Empty>
            ) : (
              <table class="table">
                <thead>
                  <tr>
                    <th>Name</th>
                    <th>Version</th>
                    <th>Module</th>
                    <th>Size</th>
                    <th>MD5</th>
                    <th>Added</th>
                  </tr>
                </thead>
                <tbody>
                  {fws.map((f: any) => (
                    <tr>
                      <td>{f.name}</td>
                      <td>{f.version}</td>
                      <td>{f.module}</td>
                      <td class="num">{f.size.toLocaleString()} B</td>
                      <td class="mono">{f.md5}</td>
                      <td>{fmtTime(f.createdAt)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </Card>
          <Card
            title={
              <>
                <span class="live-dot" />
                Upgrade jobs
              </>
            }
            actions={
              <Button onClick={() => setAdding(adding === 'job' ? null : 'job')} disabled={!fws.length}>
                New job
              </Button>
            }
          >
            {adding === 'job' && <JobForm pk={pk} firmwares={fws} onDone={() => (setAdding(null), q.reload())} />}
            {jobs.length === 0 ? (
              <Empty>No upgrade jobs.</Empty>
            ) : (
              <table class="table">
                <thead>
                  <tr>
                    <th>Job</th>
                    <th>Firmware</th>
                    <th>Status</th>
                    <th>Progress</th>
                    <th>Succeeded / failed / total</th>
                    <th />
                  </tr>
                </thead>
                <tbody>
                  {jobs.map((j: any) => {
                    const c = j.counts;
                    const done = c.succeeded + c.failed + c.canceled;
                    return (
                      <tr>
                        <td class="mono">{j.jobId}</td>
                        <td>
                          {j.firmware.name} {j.firmware.version}
                        </td>
                        <td>
                          <Badge value={j.status} />
                        </td>
                        <td>
                          <div class="progress" title={`${done} of ${c.total} finished`}>
                            <div style={{ width: `${c.total ? (100 * done) / c.total : 0}%` }} />
                          </div>
                          <span class="muted">
                            in progress {c.inProgress}, notified {c.notified}, queued {c.queued}
                          </span>
                        </td>
                        <td class="num">
                          {c.succeeded} / {c.failed} / {c.total}
                        </td>
                        <td>
                          {(j.status === 'IN_PROGRESS' || j.status === 'PLANNED') && (
                            <Button
                              class="small"
                              kind="danger"
                              onClick={async () => (await cancel.run({ input: { id: j.id } }), q.reload())}
                            >
                              Cancel
                            </Button>
                          )}
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            )}
          </Card>
          <Card title="Live progress">
            {progress.length === 0 ? (
              <Empty>Waiting for device progress reports…</Empty>
            ) : (
              <div class="events">
                {progress.map((p) => (
                  <div class="ev" key={p.cursor}>
                    <time>{new Date(p.time).toLocaleTimeString(undefined, { hour12: false })}</time>
                    <Badge value={p.status ?? p.kind} />
                    <span>
                      {p.deviceName}:{' '}
                      {p.kind === 'VERSION' ? `reports version ${p.version}` : `step ${p.step ?? '—'} ${p.desc ?? ''}`}
                    </span>
                  </div>
                ))}
              </div>
            )}
          </Card>
        </>
      )}
    </div>
  );
}
