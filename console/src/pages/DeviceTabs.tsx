import { useMemo, useState } from 'preact/hooks';
import { gql } from '../api.ts';
import { useQuery, useSubscription } from '../hooks.ts';
import { Badge, Button, Empty, Errors, fmtTime, fmtValue, Link, Loading } from '../ui.tsx';

/**
 * The device page's secondary tabs: each reads its own data when opened, so the page's first request stays small
 * (properties and the thing model only).
 */
interface Tab {
  pk: string;
  dn: string;
}

const EVENTS = `query DeviceEvents($pk: String!, $dn: String!, $from: DateTime!, $to: DateTime!) {
  streamCursor
  deviceEventHistory(productKey: $pk, deviceName: $dn, from: $from, to: $to, first: 50) { nodes { identifier name eventType output time } }
}`;

export function EventsTab({ pk, dn }: Tab) {
  const range = useMemo(
    () => ({ from: new Date(Date.now() - 86_400_000).toISOString(), to: new Date(Date.now() + 60_000).toISOString() }),
    [pk, dn],
  );
  const q = useQuery(EVENTS, { pk, dn, ...range }, [pk, dn]);
  const [live, setLive] = useState<any[]>([]);
  useSubscription(
    `subscription Events($pk: String, $dn: String, $after: String) { deviceEventPosted(productKey: $pk, deviceName: $dn, after: $after) { cursor identifier name type value time } }`,
    q.data ? { pk, dn, after: q.data.streamCursor } : null,
    (x) => {
      const e = x.deviceEventPosted;
      setLive((list) =>
        [{ identifier: e.identifier, name: e.name, eventType: e.type, output: e.value, time: e.time }, ...list].slice(
          0,
          200,
        ),
      );
    },
  );
  if (q.error) return <Errors errors={[q.error]} />;
  if (!q.data) return <Loading />;
  const events = [...live, ...q.data.deviceEventHistory.nodes];
  if (!events.length) return <Empty>No events in the last 24 hours.</Empty>;
  return (
    <table class="table">
      <thead>
        <tr>
          <th>Time</th>
          <th>Event</th>
          <th>Type</th>
          <th>Output</th>
        </tr>
      </thead>
      <tbody>
        {events.map((e) => (
          <tr>
            <td>{fmtTime(e.time)}</td>
            <td>
              {e.name} <span class="muted mono">{e.identifier}</span>
            </td>
            <td>
              <Badge value={e.eventType} />
            </td>
            <td class="mono">{fmtValue(e.output)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function GatewayTab({ pk, dn }: Tab) {
  const q = useQuery(
    `query DeviceTopology($pk: String!, $dn: String!) { device(productKey: $pk, deviceName: $dn) { gateway { productKey deviceName state } subDevices { productKey deviceName state } } }`,
    { pk, dn },
    [pk, dn],
  );
  if (q.error) return <Errors errors={[q.error]} />;
  const d = q.data?.device;
  if (!d) return <Loading />;
  return (
    <div>
      <p>
        Gateway:{' '}
        {d.gateway ? (
          <Link href={`/devices/${d.gateway.productKey}/${d.gateway.deviceName}`}>{d.gateway.deviceName}</Link>
        ) : (
          <span class="muted">none (not a sub-device)</span>
        )}
      </p>
      {d.subDevices.length ? (
        <table class="table">
          <thead>
            <tr>
              <th>Sub-device</th>
              <th>Product</th>
              <th>State</th>
            </tr>
          </thead>
          <tbody>
            {d.subDevices.map((s: any) => (
              <tr>
                <td>
                  <Link href={`/devices/${s.productKey}/${s.deviceName}`}>{s.deviceName}</Link>
                </td>
                <td class="mono">{s.productKey}</td>
                <td>
                  <Badge value={s.state} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <Empty>No sub-devices.</Empty>
      )}
    </div>
  );
}

export function DetailsTab({ pk, dn }: Tab) {
  const q = useQuery(
    `query DeviceDetails($pk: String!, $dn: String!) { device(productKey: $pk, deviceName: $dn) { createdAt activatedAt lastOnlineAt lastOfflineAt connectionEpoch firmwareVersions { module version reportedAt } } }`,
    { pk, dn },
    [pk, dn],
  );
  if (q.error) return <Errors errors={[q.error]} />;
  const d = q.data?.device;
  if (!d) return <Loading />;
  return (
    <dl class="kv">
      <dt>Created</dt>
      <dd>{fmtTime(d.createdAt)}</dd>
      <dt>Activated</dt>
      <dd>{fmtTime(d.activatedAt)}</dd>
      <dt>Last online</dt>
      <dd>{fmtTime(d.lastOnlineAt)}</dd>
      <dt>Last offline</dt>
      <dd>{fmtTime(d.lastOfflineAt)}</dd>
      <dt>Connection epoch</dt>
      <dd>{d.connectionEpoch}</dd>
      <dt>Firmware</dt>
      <dd>
        {d.firmwareVersions.length
          ? d.firmwareVersions
              .map((f: any) => `${f.module} ${f.version} (reported ${fmtTime(f.reportedAt)})`)
              .join(', ')
          : '—'}
      </dd>
    </dl>
  );
}

export function TagsAndDesiredTab({ pk, dn }: Tab) {
  const q = useQuery(
    `query DeviceShadow($pk: String!, $dn: String!) { device(productKey: $pk, deviceName: $dn) { productKey deviceName tags { attrKey attrValue } desiredProperties { identifier value version time } } }`,
    { pk, dn },
    [pk, dn],
  );
  if (q.error) return <Errors errors={[q.error]} />;
  if (!q.data?.device) return <Loading />;
  return <TagsAndDesired d={q.data.device} onChange={q.reload} />;
}

function TagsAndDesired({ d, onChange }: { d: any; onChange: () => void }) {
  const [text, setText] = useState('{\n  \n}');
  const [result, setResult] = useState<{ errors: any[]; ok?: boolean }>({ errors: [] });
  const save = async () => {
    let items: unknown;
    try {
      items = JSON.parse(text);
    } catch {
      return setResult({ errors: ['items must be a JSON object, e.g. {"Brightness": 50}'] });
    }
    try {
      const r = await gql(
        `mutation SetDesired($input: SetDesiredPropertyInput!) { setDesiredProperty(input: $input) { versions userErrors { code message field } } }`,
        {
          input: { productKey: d.productKey, deviceName: d.deviceName, items },
        },
      );
      setResult({ errors: r.setDesiredProperty.userErrors, ok: !r.setDesiredProperty.userErrors.length });
      if (!r.setDesiredProperty.userErrors.length) onChange();
    } catch (e) {
      setResult({ errors: [(e as Error).message] });
    }
  };
  return (
    <div class="grid">
      <div>
        <h3>Tags</h3>
        {d.tags.length ? (
          <table class="table">
            <tbody>
              {d.tags.map((t: any) => (
                <tr>
                  <td class="mono">{t.attrKey}</td>
                  <td>{t.attrValue}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <Empty>No tags (devices report them over thing/deviceinfo/update).</Empty>
        )}
      </div>
      <div>
        <h3>Desired properties</h3>
        {d.desiredProperties.length ? (
          <table class="table">
            <thead>
              <tr>
                <th>Property</th>
                <th>Value</th>
                <th>Version</th>
              </tr>
            </thead>
            <tbody>
              {d.desiredProperties.map((p: any) => (
                <tr>
                  <td class="mono">{p.identifier}</td>
                  <td>{fmtValue(p.value)}</td>
                  <td class="num">{p.version}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <Empty>No desired values.</Empty>
        )}
        <textarea
          rows={4}
          value={text}
          onInput={(e) => setText(e.currentTarget.value)}
          aria-label="Desired values (JSON)"
        />
        <Errors errors={result.errors} />
        {result.ok && <div class="success">Desired values stored.</div>}
        <div style="margin-top:8px">
          <Button kind="primary" onClick={save}>
            Set desired values
          </Button>
        </div>
      </div>
    </div>
  );
}
