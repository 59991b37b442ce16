import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { gql } from '../api.ts';
import { Chart } from '../chart.tsx';
import { useQuery, useSubscription } from '../hooks.ts';
import { navigate } from '../router.ts';
import { isNumeric, unitOf, type DataType } from '../tsl-form.ts';
import { Badge, Card, Empty, Errors, fmtTime, fmtValue, Link, Loading, PageTitle, Tabs } from '../ui.tsx';
import { OnlineDebug, type Reply } from './Debug.tsx';
import { DetailsTab, EventsTab, GatewayTab, TagsAndDesiredTab } from './DeviceTabs.tsx';
import { DeviceActions } from './Devices.tsx';

const DEVICE = `query DevicePage($pk: String!, $dn: String!) {
  streamCursor
  device(productKey: $pk, deviceName: $dn) {
    iotId productKey deviceName nickname state createdAt activatedAt lastOnlineAt lastOfflineAt clientIp connectionEpoch
    properties { identifier value time }
    product { name nodeType thingModel {
      properties { identifier name accessMode dataType }
      services { identifier name callType inputData outputData }
      events { identifier name type }
    } }
  }
}`;

/** The series of every numeric property in one request (one alias each). */
const seriesQuery = (
  ids: string[],
) => `query Series($pk: String!, $dn: String!, $from: DateTime!, $to: DateTime!, $interval: String!) {
${ids.map((id, i) => `  s${i}: devicePropertySeries(productKey: $pk, deviceName: $dn, identifier: ${JSON.stringify(id)}, from: $from, to: $to, interval: $interval, aggregations: [AVG]) { start avg }`).join('\n')}
}`;

type Series = { xs: number[]; ys: (number | null)[] };

const WINDOWS: Record<string, { ms: number; interval: string }> = {
  '1 h': { ms: 3600_000, interval: '1m' },
  '24 h': { ms: 86_400_000, interval: '15m' },
  '7 d': { ms: 7 * 86_400_000, interval: '2h' },
};

interface Prop {
  identifier: string;
  name: string;
  accessMode: string;
  dataType: DataType;
}

const toMs = (t: unknown): number =>
  typeof t === 'number' ? t : /^\d+$/.test(String(t)) ? Number(t) : Date.parse(String(t));

/** One chart per numeric property: the history series, with every live post appended as it arrives. */
function PropertyChart({
  prop,
  base,
  loadedAt,
  live,
}: {
  prop: Prop;
  base: Series | null;
  loadedAt: number;
  live: { t: number; v: number }[];
}) {
  const data = useMemo(() => {
    const xs = [...(base?.xs ?? [])];
    const ys = [...(base?.ys ?? [])];
    for (const p of live) {
      if (p.t < loadedAt - 1000 && xs.length) continue; // already in the series
      xs.push(p.t / 1000);
      ys.push(p.v);
    }
    // uPlot wants ascending x.
    const order = xs.map((_, i) => i).sort((a, b) => xs[a]! - xs[b]!);
    return { xs: order.map((i) => xs[i]!), ys: order.map((i) => ys[i]!) };
  }, [base, live]);
  const unit = unitOf(prop.dataType);
  return (
    <div class="card" style="margin:0">
      <header class="card-head">
        <h2>
          {prop.name} <span class="muted">{unit && `(${unit})`}</span>
        </h2>
        <span class="muted mono">{prop.identifier}</span>
      </header>
      <div class="card-body">
        {base === null ? <Loading /> : null}
        <Chart xs={data.xs} ys={data.ys} label={prop.identifier} testid={`chart-${prop.identifier}`} />
        {base !== null && data.xs.length === 0 && <div class="muted">No data in this window yet.</div>}
      </div>
    </div>
  );
}

interface LogLine {
  cursor: string;
  topic: string;
  payloadText: string | null;
  payloadBase64: string;
  receivedAt: string;
}

export function DevicePage({ productKey: pk, deviceName: dn }: { productKey: string; deviceName: string }) {
  const q = useQuery(DEVICE, { pk, dn }, [pk, dn]);
  const d = q.data?.device;
  const [tab, setTab] = useState('Online debug');
  const [window, setWindow] = useState('1 h');
  const [state, setState] = useState<string | null>(null);
  const [props, setProps] = useState<Record<string, { value: unknown; time: string }>>({});
  const [flash, setFlash] = useState<Record<string, number>>({});
  const [live, setLive] = useState<Record<string, { t: number; v: number }[]>>({});
  const [log, setLog] = useState<LogLine[]>([]);
  const [series, setSeries] = useState<{ at: number; byId: Record<string, Series> } | null>(null);
  const replies = useRef(new Map<string, Reply>());
  const waiters = useRef(new Map<string, (r: Reply) => void>());

  useEffect(() => {
    if (!d) return;
    setState(d.state);
    setProps(Object.fromEntries(d.properties.map((p: any) => [p.identifier, { value: p.value, time: p.time }])));
  }, [q.data]);

  const numericIds: string[] = d
    ? d.product.thingModel.properties.filter((p: Prop) => isNumeric(p.dataType)).map((p: Prop) => p.identifier)
    : [];
  const numericKey = numericIds.join(',');
  useEffect(() => {
    if (!d) return;
    const w = WINDOWS[window]!;
    const to = Date.now();
    if (!numericIds.length) return setSeries({ at: to, byId: {} });
    setSeries((s) => (s ? null : s));
    gql(seriesQuery(numericIds), {
      pk,
      dn,
      from: new Date(to - w.ms).toISOString(),
      to: new Date(to).toISOString(),
      interval: w.interval,
    }).then(
      (r) =>
        setSeries({
          at: to,
          byId: Object.fromEntries(
            numericIds.map((id, i) => [
              id,
              { xs: r[`s${i}`].map((b: any) => Date.parse(b.start) / 1000), ys: r[`s${i}`].map((b: any) => b.avg) },
            ]),
          ),
        }),
      () => setSeries({ at: to, byId: {} }),
    );
  }, [pk, dn, numericKey, window]);

  // Live updates start from the cursor read with the page's data, once the first data and charts are in: nothing is
  // missed meanwhile (the server replays from the cursor), and the page's first queries do not compete with them.
  const first = useRef<string | undefined>(undefined);
  if (!first.current && q.data) first.current = q.data.streamCursor;
  const [started, setStarted] = useState(false);
  useEffect(() => void (series && setStarted(true)), [series]);
  const vars = first.current && d && started ? { pk, dn, after: first.current } : null;

  useSubscription(
    `subscription DeviceStatus($pk: String, $dn: String, $after: String) { deviceStatusChanged(productKey: $pk, deviceName: $dn, after: $after) { cursor status } }`,
    vars,
    (x) => setState((s) => (s === 'DISABLED' ? s : x.deviceStatusChanged.status)),
  );
  useSubscription(
    `subscription PropertyPosts($pk: String, $dn: String, $after: String) { devicePropertyPosted(productKey: $pk, deviceName: $dn, after: $after) { cursor items receivedAt } }`,
    vars,
    (x) => {
      const items = x.devicePropertyPosted.items as Record<string, { value: unknown; time: unknown }>;
      const at = Date.now();
      setProps((m) => {
        const next = { ...m };
        for (const [id, it] of Object.entries(items))
          next[id] = { value: it.value, time: new Date(toMs(it.time)).toISOString() };
        return next;
      });
      setFlash((f) => ({ ...f, ...Object.fromEntries(Object.keys(items).map((k) => [k, at])) }));
      setLive((l) => {
        const next = { ...l };
        for (const [id, it] of Object.entries(items))
          if (typeof it.value === 'number')
            next[id] = [...(next[id] ?? []), { t: toMs(it.time), v: it.value }].slice(-2000);
        return next;
      });
    },
  );
  useSubscription(
    `subscription Replies($pk: String, $dn: String, $after: String) { downlinkReplies(productKey: $pk, deviceName: $dn, after: $after) { cursor requestId code message data } }`,
    vars,
    (x) => {
      const r = x.downlinkReplies;
      if (!r.requestId) return;
      const reply = { code: r.code, data: r.data, message: r.message };
      replies.current.set(r.requestId, reply);
      waiters.current.get(r.requestId)?.(reply);
    },
  );
  useSubscription(
    `subscription Messages($pk: String, $dn: String, $after: String) { deviceMessages(productKey: $pk, deviceName: $dn, after: $after) { cursor topic payloadText payloadBase64 receivedAt } }`,
    vars,
    (x) => setLog((l) => [x.deviceMessages, ...l].slice(0, 300)),
  );

  const waitReply = (id: string, timeoutMs: number) =>
    new Promise<Reply | null>((resolve) => {
      const seen = replies.current.get(id);
      if (seen) return resolve(seen);
      const timer = setTimeout(() => (waiters.current.delete(id), resolve(null)), timeoutMs);
      waiters.current.set(id, (r) => (clearTimeout(timer), waiters.current.delete(id), resolve(r)));
    });

  if (q.error) return <Errors errors={[q.error]} />;
  if (!q.data) return <Loading />;
  if (!d)
    return (
      <Empty>
        Device {dn} not found in product {pk}.
      </Empty>
    );
  const model = d.product.thingModel;
  const propList: Prop[] = model.properties;
  const numeric = propList.filter((p) => isNumeric(p.dataType));
  const known = new Set(propList.map((p) => p.identifier));
  const extraIds = Object.keys(props).filter((k) => !known.has(k));
  const shownState = state ?? d.state;
  return (
    <div data-testid="device-page">
      <PageTitle
        sub={
          <>
            <Link href={`/products/${d.productKey}`}>{d.product.name}</Link> · <span class="mono">{d.productKey}</span>{' '}
            · iotId <span class="mono">{d.iotId}</span>
          </>
        }
        actions={
          <DeviceActions
            d={{ ...d, state: shownState }}
            onChange={(deleted) => (deleted ? navigate('/devices') : (q.reload(), setState(null)))}
          />
        }
      >
        {d.deviceName} <Badge value={shownState} testid="device-state" />{' '}
        {d.nickname && (
          <span class="muted" style="font-size:15px">
            {d.nickname}
          </span>
        )}
      </PageTitle>

      <Card
        title={
          <>
            <span class="live-dot" />
            Properties
          </>
        }
        actions={
          <span class="muted">
            IP {d.clientIp ?? '—'} · last online {fmtTime(d.lastOnlineAt)}
          </span>
        }
      >
        {propList.length + extraIds.length === 0 ? (
          <Empty>The thing model has no properties.</Empty>
        ) : (
          <div class="props">
            {[...propList.map((p) => p.identifier), ...extraIds].map((id) => {
              const p = propList.find((x) => x.identifier === id);
              const v = props[id];
              return (
                <div
                  class={`prop ${flash[id] ? 'flash' : ''}`}
                  key={`${id}-${flash[id] ?? 0}`}
                  data-testid={`prop-${id}`}
                >
                  <div class="k">{p?.name ?? id}</div>
                  <div class="v" data-testid={`value-${id}`}>
                    {fmtValue(v?.value)}{' '}
                    <span class="muted" style="font-size:12px">
                      {v && p ? unitOf(p.dataType) : ''}
                    </span>
                  </div>
                  <div class="t">{v ? fmtTime(v.time) : 'no value yet'}</div>
                </div>
              );
            })}
          </div>
        )}
      </Card>

      {numeric.length > 0 && (
        <Card
          title="Charts"
          actions={
            <select value={window} onChange={(e) => setWindow(e.currentTarget.value)} aria-label="Chart window">
              {Object.keys(WINDOWS).map((w) => (
                <option>{w}</option>
              ))}
            </select>
          }
        >
          <div class="charts">
            {numeric.map((p) => (
              <PropertyChart
                prop={p}
                base={series?.byId[p.identifier] ?? (series ? { xs: [], ys: [] } : null)}
                loadedAt={series?.at ?? 0}
                live={live[p.identifier] ?? []}
              />
            ))}
          </div>
        </Card>
      )}

      <Card>
        <Tabs
          tabs={['Online debug', 'Messages', 'Events', 'Tags & desired', 'Gateway', 'Details']}
          value={tab}
          onChange={setTab}
        />
        {tab === 'Online debug' &&
          (shownState !== 'ONLINE' ? (
            <div class="notice">
              The device is {shownState.toLowerCase()}: commands are refused or answered as undeliverable until it is
              online.
            </div>
          ) : null)}
        {tab === 'Online debug' && (
          <OnlineDebug
            productKey={pk}
            deviceName={dn}
            properties={propList}
            services={model.services}
            waitReply={waitReply}
          />
        )}
        {tab === 'Messages' && (
          <div class="log" data-testid="message-log">
            {log.length === 0 ? (
              <Empty>Waiting for messages from the device…</Empty>
            ) : (
              log.map((m) => (
                <div class="line" key={m.cursor}>
                  <span class="muted">{new Date(m.receivedAt).toLocaleTimeString(undefined, { hour12: false })}</span>
                  <div>
                    <div class="topic">{m.topic}</div>
                    <div class="payload">{m.payloadText ?? `base64: ${m.payloadBase64}`}</div>
                  </div>
                </div>
              ))
            )}
          </div>
        )}
        {tab === 'Events' && <EventsTab pk={pk} dn={dn} />}
        {tab === 'Tags & desired' && <TagsAndDesiredTab pk={pk} dn={dn} />}
        {tab === 'Gateway' && <GatewayTab pk={pk} dn={dn} />}
        {tab === 'Details' && <DetailsTab pk={pk} dn={dn} />}
      </Card>
    </div>
  );
}
