import { useEffect, useRef, useState } from 'preact/hooks';
import { useQuery, useSubscription } from '../hooks.ts';
import { Chart } from '../chart.tsx';
import { Badge, Card, Empty, Errors, Link, Loading, PageTitle } from '../ui.tsx';

const OVERVIEW = `query Overview {
  streamCursor
  products(first: 500) { totalCount nodes { productKey name nodeType total: deviceCount online: deviceCount(state: ONLINE) } }
}`;

interface PlatformEvent {
  key: string;
  time: string;
  kind: string;
  text: string;
  href?: string;
}

const WINDOW = 60;

export function Overview() {
  const q = useQuery<{
    streamCursor: string;
    products: {
      totalCount: number;
      nodes: { productKey: string; name: string; nodeType: string; total: number; online: number }[];
    };
  }>(OVERVIEW);
  const [events, setEvents] = useState<PlatformEvent[]>([]);
  // Subscriptions start from the first read's cursor; later re-reads (counts) do not restart them.
  const first = useRef<string | undefined>(undefined);
  if (!first.current && q.data) first.current = q.data.streamCursor;
  const after = first.current;
  const refresh = useRef<number | undefined>(undefined);
  const push = (e: PlatformEvent) => setEvents((list) => [e, ...list].slice(0, 40));
  // Online counts are re-read (debounced) whenever a device goes online or offline: the API's deviceCount is the truth.
  const bump = () => {
    clearTimeout(refresh.current);
    refresh.current = window.setTimeout(() => q.reload(), 700);
  };
  const vars = after ? { after } : null;
  useSubscription(
    `subscription($after: String) { deviceStatusChanged(after: $after) { cursor productKey deviceName status time reason } }`,
    vars,
    (d) => {
      const e = d.deviceStatusChanged;
      push({
        key: e.cursor,
        time: e.time,
        kind: e.status,
        text: `${e.deviceName} is ${e.status.toLowerCase()}${e.reason ? ` (${e.reason.toLowerCase().replace(/_/g, ' ')})` : ''}`,
        href: `/devices/${e.productKey}/${e.deviceName}`,
      });
      bump();
    },
  );
  useSubscription(
    `subscription($after: String) { deviceLifecycle(after: $after) { cursor action productKey deviceName time } }`,
    vars,
    (d) => {
      const e = d.deviceLifecycle;
      push({
        key: e.cursor,
        time: e.time,
        kind: e.action,
        text: `${e.deviceName}: ${e.action.toLowerCase()}`,
        href: `/devices/${e.productKey}/${e.deviceName}`,
      });
      bump();
    },
  );
  useSubscription(
    `subscription($after: String) { deviceEventPosted(after: $after) { cursor productKey deviceName identifier name type time } }`,
    vars,
    (d) => {
      const e = d.deviceEventPosted;
      push({
        key: e.cursor,
        time: e.time,
        kind: e.type,
        text: `${e.deviceName} posted event ${e.name || e.identifier}`,
        href: `/devices/${e.productKey}/${e.deviceName}`,
      });
    },
  );

  // Live message rate: every upstream publish counted per second over the last minute.
  const counts = useRef(new Map<number, number>());
  const [rate, setRate] = useState<{ xs: number[]; ys: number[]; v: number }>({ xs: [], ys: [], v: 0 });
  useSubscription(`subscription($after: String) { deviceMessages(after: $after) { cursor } }`, vars, () => {
    const s = Math.floor(Date.now() / 1000);
    counts.current.set(s, (counts.current.get(s) ?? 0) + 1);
  });
  useEffect(() => {
    const t = setInterval(() => {
      const now = Math.floor(Date.now() / 1000) - 1;
      const xs: number[] = [];
      const ys: number[] = [];
      for (let s = now - WINDOW + 1; s <= now; s++) {
        xs.push(s);
        ys.push(counts.current.get(s) ?? 0);
      }
      for (const k of counts.current.keys()) if (k < now - WINDOW) counts.current.delete(k);
      setRate((r) => ({ xs, ys, v: r.v + 1 }));
    }, 1000);
    return () => clearInterval(t);
  }, []);

  const products = q.data?.products.nodes ?? [];
  const total = products.reduce((n, p) => n + p.total, 0);
  const online = products.reduce((n, p) => n + p.online, 0);
  const lastRate = rate.ys.at(-1) ?? 0;
  return (
    <div>
      <PageTitle sub="Live view of the platform">Overview</PageTitle>
      <Errors errors={q.error ? [q.error] : []} />
      <div class="stats">
        <div class="stat">
          <div class="k">Products</div>
          <div class="v">{q.data?.products.totalCount ?? '…'}</div>
        </div>
        <div class="stat">
          <div class="k">Devices online</div>
          <div class="v" data-testid="online-total">
            {online}{' '}
            <span class="muted" style="font-size:16px">
              / {total}
            </span>
          </div>
        </div>
        <div class="stat">
          <div class="k">Messages / s</div>
          <div class="v">{lastRate}</div>
        </div>
      </div>
      <div class="grid-2">
        <div>
          <Card title="Devices per product">
            {!q.data ? (
              <Loading />
            ) : products.length === 0 ? (
              <Empty>
                No product yet. <Link href="/products">Create one</Link>.
              </Empty>
            ) : (
              <table class="table">
                <thead>
                  <tr>
                    <th>Product</th>
                    <th>Key</th>
                    <th>Online</th>
                    <th>Total</th>
                  </tr>
                </thead>
                <tbody>
                  {products.map((p) => (
                    <tr>
                      <td>
                        <Link href={`/products/${p.productKey}`}>{p.name}</Link>
                      </td>
                      <td class="mono">{p.productKey}</td>
                      <td class="num">{p.online}</td>
                      <td class="num">{p.total}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </Card>
          <Card title="Message rate (last minute)">
            <Chart xs={rate.xs} ys={rate.ys} version={rate.v} label="msg/s" height={160} color="#059669" />
          </Card>
        </div>
        <Card
          title={
            <>
              <span class="live-dot" />
              Latest platform events
            </>
          }
        >
          <div class="events" data-testid="events">
            {events.length === 0 ? (
              <Empty>Waiting for events…</Empty>
            ) : (
              events.map((e) => (
                <div class="ev" key={e.key}>
                  <time>{new Date(e.time).toLocaleTimeString(undefined, { hour12: false })}</time>
                  <Badge value={e.kind} />
                  {e.href ? <Link href={e.href}>{e.text}</Link> : <span>{e.text}</span>}
                </div>
              ))
            )}
          </div>
        </Card>
      </div>
    </div>
  );
}
