import { useEffect, useRef, useState } from 'preact/hooks';
import { gql, type UserError } from '../api.ts';
import { useMutation, useQuery, useSubscription } from '../hooks.ts';
import { navigate, useLocation } from '../router.ts';
import { Badge, Button, Card, Empty, Errors, Field, fmtTime, Link, Loading, Modal, PageTitle, Secret } from '../ui.tsx';

const DEVICES = `query Devices($pk: String, $name: String, $state: DeviceState, $after: String) {
  streamCursor
  devices(productKey: $pk, nameContains: $name, state: $state, first: 50, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { iotId productKey deviceName nickname state lastOnlineAt clientIp product { name nodeType } }
  }
}`;
const PRODUCT_KEYS = `{ products(first: 500) { nodes { productKey name } } }`;

export interface DeviceRow {
  iotId: string;
  productKey: string;
  deviceName: string;
  nickname: string | null;
  state: string;
  lastOnlineAt: string | null;
  clientIp: string | null;
  product: { name: string; nodeType: string };
}

function Register({
  products,
  initial,
  onClose,
  onDone,
}: {
  products: { productKey: string; name: string }[];
  initial: string;
  onClose: () => void;
  onDone: () => void;
}) {
  const m = useMutation(`mutation RegisterDevice($input: RegisterDeviceInput!) {
    registerDevice(input: $input) { device { productKey deviceName iotId } deviceSecret userErrors { code message field } } }`);
  const [f, setF] = useState({ productKey: initial || products[0]?.productKey || '', deviceName: '', nickname: '' });
  const [errors, setErrors] = useState<UserError[]>([]);
  const [done, setDone] = useState<{ productKey: string; deviceName: string; secret: string } | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    const r = await m.run({
      input: { productKey: f.productKey, deviceName: f.deviceName || null, nickname: f.nickname || null },
    });
    if (!r) return;
    setErrors(r.registerDevice.userErrors);
    if (!r.registerDevice.userErrors.length) {
      setDone({
        productKey: r.registerDevice.device.productKey,
        deviceName: r.registerDevice.device.deviceName,
        secret: r.registerDevice.deviceSecret,
      });
      onDone();
    }
  };
  return (
    <Modal title="Register device" onClose={onClose}>
      {done ? (
        <div>
          <div class="success">
            Device <b>{done.deviceName}</b> registered in <span class="mono">{done.productKey}</span>.
          </div>
          <Secret label="Device secret" value={done.secret} testid="device-secret" />
          <div class="actions">
            <Button kind="primary" onClick={() => navigate(`/devices/${done.productKey}/${done.deviceName}`)}>
              Open device
            </Button>
            <Button onClick={onClose}>Close</Button>
          </div>
        </div>
      ) : (
        <form onSubmit={submit}>
          <Field label="Product">
            <select
              name="productKey"
              value={f.productKey}
              onChange={(e) => setF({ ...f, productKey: e.currentTarget.value })}
            >
              {products.map((p) => (
                <option value={p.productKey}>
                  {p.name} ({p.productKey})
                </option>
              ))}
            </select>
          </Field>
          <Field
            label="Device name"
            hint="Optional: generated when empty."
            error={errors.find((x) => x.field?.includes('deviceName'))?.message}
          >
            <input
              name="deviceName"
              value={f.deviceName}
              onInput={(e) => setF({ ...f, deviceName: e.currentTarget.value })}
              autoFocus
            />
          </Field>
          <Field label="Nickname">
            <input
              name="nickname"
              value={f.nickname}
              onInput={(e) => setF({ ...f, nickname: e.currentTarget.value })}
            />
          </Field>
          <Errors errors={[...errors.filter((x) => !x.field?.includes('deviceName')), ...(m.error ? [m.error] : [])]} />
          <Button kind="primary" type="submit" busy={m.busy} disabled={!f.productKey}>
            Register
          </Button>
        </form>
      )}
    </Modal>
  );
}

/** Enable / disable / delete buttons for one device (the mutations of graphql-api.md). */
export function DeviceActions({
  d,
  onChange,
}: {
  d: { productKey: string; deviceName: string; state: string };
  onChange: (deleted?: boolean) => void;
}) {
  const [errors, setErrors] = useState<UserError[]>([]);
  const [busy, setBusy] = useState(false);
  const act = async (name: 'enableDevice' | 'disableDevice' | 'deleteDevice') => {
    if (
      name === 'deleteDevice' &&
      !confirm(`Delete device ${d.deviceName}? Its data is removed and it is disconnected.`)
    )
      return;
    setBusy(true);
    try {
      const r = await gql(
        `mutation($input: ${name[0]!.toUpperCase()}${name.slice(1)}Input!) { ${name}(input: $input) { userErrors { code message } } }`,
        {
          input: { productKey: d.productKey, deviceName: d.deviceName },
        },
      );
      setErrors(r[name].userErrors);
      if (!r[name].userErrors.length) onChange(name === 'deleteDevice');
    } catch (e) {
      setErrors([{ code: 'ERROR', message: (e as Error).message }]);
    } finally {
      setBusy(false);
    }
  };
  return (
    <span class="actions">
      {d.state === 'DISABLED' ? (
        <Button class="small" busy={busy} onClick={() => act('enableDevice')}>
          Enable
        </Button>
      ) : (
        <Button class="small" busy={busy} onClick={() => act('disableDevice')}>
          Disable
        </Button>
      )}
      <Button class="small" kind="danger" busy={busy} onClick={() => act('deleteDevice')}>
        Delete
      </Button>
      <Errors errors={errors} />
    </span>
  );
}

export function Devices() {
  const { query } = useLocation();
  const [pk, setPk] = useState(query.get('product') ?? '');
  const [search, setSearch] = useState('');
  const [name, setName] = useState('');
  const [state, setState] = useState('');
  const [registering, setRegistering] = useState(false);
  const products = useQuery(PRODUCT_KEYS);
  const vars = { pk: pk || null, name: name || null, state: state || null };
  const q = useQuery<{
    streamCursor: string;
    devices: { totalCount: number; pageInfo: { hasNextPage: boolean; endCursor: string }; nodes: DeviceRow[] };
  }>(DEVICES, vars, [pk, name, state]);
  const [extra, setExtra] = useState<DeviceRow[]>([]);
  const [more, setMore] = useState<{ hasNextPage: boolean; endCursor: string } | null>(null);
  useEffect(() => (setExtra([]), setMore(null)), [q.data]);

  // Search as you type (debounced).
  const timer = useRef<number | undefined>(undefined);
  useEffect(() => {
    clearTimeout(timer.current);
    timer.current = window.setTimeout(() => setName(search.trim()), 250);
  }, [search]);

  // Live ONLINE / OFFLINE from the moment of the list's read (its streamCursor): nothing in between is missed.
  const first = useRef<string | undefined>(undefined);
  if (!first.current && q.data) first.current = q.data.streamCursor;
  const [live, setLive] = useState<Record<string, string>>({});
  const [seen, setSeen] = useState<Record<string, { time: string; clientIp: string | null }>>({});
  useSubscription(
    `subscription DeviceStatus($after: String) { deviceStatusChanged(after: $after) { cursor iotId status time clientIp } }`,
    first.current ? { after: first.current } : null,
    (d) => {
      const e = d.deviceStatusChanged;
      setLive((m) => ({ ...m, [e.iotId]: e.status }));
      if (e.status === 'ONLINE') setSeen((m) => ({ ...m, [e.iotId]: { time: e.time, clientIp: e.clientIp } }));
    },
  );
  useSubscription(
    `subscription Lifecycle($after: String) { deviceLifecycle(after: $after) { cursor action iotId } }`,
    first.current ? { after: first.current } : null,
    (d) => {
      if (d.deviceLifecycle.action !== 'CREATE')
        setLive((m) => ({ ...m, [d.deviceLifecycle.iotId]: d.deviceLifecycle.action }));
    },
  );
  const stateOf = (r: DeviceRow) => {
    const l = live[r.iotId];
    if (!l) return r.state;
    if (l === 'ONLINE' || l === 'OFFLINE') return r.state === 'DISABLED' ? r.state : l;
    return l === 'DISABLE' ? 'DISABLED' : l === 'ENABLE' ? 'OFFLINE' : l === 'DELETE' ? 'DELETED' : r.state;
  };

  const loadMore = async () => {
    const cursor = (more ?? q.data!.devices.pageInfo).endCursor;
    const r = await gql(DEVICES, { ...vars, after: cursor });
    setExtra((x) => [...x, ...r.devices.nodes]);
    setMore(r.devices.pageInfo);
  };

  const rows = [...(q.data?.devices.nodes ?? []), ...extra].filter((r) => stateOf(r) !== 'DELETED');
  const hasNext = (more ?? q.data?.devices.pageInfo)?.hasNextPage;
  const productList = products.data?.products.nodes ?? [];
  return (
    <div>
      <PageTitle
        sub={q.data ? `${q.data.devices.totalCount} devices` : ' '}
        actions={
          <Button kind="primary" onClick={() => setRegistering(true)} disabled={!productList.length}>
            Register device
          </Button>
        }
      >
        Devices
      </PageTitle>
      <div class="toolbar">
        <input
          type="search"
          placeholder="Search by device name…"
          value={search}
          onInput={(e) => setSearch(e.currentTarget.value)}
          aria-label="Search devices"
        />
        <select value={pk} onChange={(e) => setPk(e.currentTarget.value)} aria-label="Product">
          <option value="">All products</option>
          {productList.map((p: any) => (
            <option value={p.productKey}>{p.name}</option>
          ))}
        </select>
        <select value={state} onChange={(e) => setState(e.currentTarget.value)} aria-label="State">
          <option value="">Any state</option>
          {['ONLINE', 'OFFLINE', 'UNACTIVE', 'DISABLED'].map((s) => (
            <option>{s}</option>
          ))}
        </select>
        <span class="muted">
          <span class="live-dot" />
          live
        </span>
      </div>
      <Errors errors={q.error ? [q.error] : []} />
      <Card>
        {!q.data ? (
          <Loading />
        ) : rows.length === 0 ? (
          <Empty>No devices match.</Empty>
        ) : (
          <table class="table" data-testid="devices-table">
            <thead>
              <tr>
                <th>Device</th>
                <th>Product</th>
                <th>State</th>
                <th>Last online</th>
                <th>IP</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr data-device={r.deviceName}>
                  <td>
                    <Link href={`/devices/${r.productKey}/${r.deviceName}`}>{r.deviceName}</Link>
                    {r.nickname && <div class="muted">{r.nickname}</div>}
                  </td>
                  <td>
                    {r.product.name} <span class="muted mono">{r.productKey}</span>
                  </td>
                  <td>
                    <Badge value={stateOf(r)} testid={`state-${r.deviceName}`} />
                  </td>
                  <td>{fmtTime(seen[r.iotId]?.time ?? r.lastOnlineAt)}</td>
                  <td class="mono">{seen[r.iotId]?.clientIp ?? r.clientIp ?? '—'}</td>
                  <td>
                    <DeviceActions d={{ ...r, state: stateOf(r) }} onChange={() => q.reload()} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {hasNext && (
          <div class="pad">
            <Button onClick={loadMore}>Load more</Button>
          </div>
        )}
      </Card>
      {registering && (
        <Register products={productList} initial={pk} onClose={() => setRegistering(false)} onDone={() => q.reload()} />
      )}
    </div>
  );
}
