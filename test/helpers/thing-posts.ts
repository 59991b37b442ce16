/**
 * Shared steps for the thing-data suites: a device posts over a real MQTT client and waits for its `_reply`
 * (matched by id, so replies of earlier posts never satisfy a later wait), and history is read back through GraphQL.
 */
import type { MqttClient } from 'mqtt';
import type { TestPlatform } from './platform.ts';
export { lampTsl } from './tsl-fixtures.ts';

export interface AlinkReplyBody {
  id: string;
  code: number;
  data: unknown;
  message: string;
  method?: string;
  version: string;
}

/** Publish an Alink request on `/sys/${pk}/${dn}/${suffix}` and resolve with its reply (same id) on `${topic}_reply`. */
export function postAndReply(
  c: MqttClient,
  topic: string,
  body: { id: string } & Record<string, unknown>,
  opts: { qos?: 0 | 1; timeoutMs?: number } = {},
): Promise<AlinkReplyBody> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      c.removeListener('message', onMessage);
      reject(new Error(`no reply to ${body.id} on ${topic}_reply`));
    }, opts.timeoutMs ?? 5000);
    const onMessage = (t: string, payload: Buffer) => {
      if (t !== `${topic}_reply`) return;
      const r = JSON.parse(payload.toString()) as AlinkReplyBody;
      if (r.id !== body.id) return;
      clearTimeout(timer);
      c.removeListener('message', onMessage);
      resolve(r);
    };
    c.on('message', onMessage);
    c.publish(topic, JSON.stringify(body), { qos: opts.qos ?? 1 }, (err) => {
      if (err) {
        clearTimeout(timer);
        c.removeListener('message', onMessage);
        reject(err);
      }
    });
  });
}

const HISTORY = `query($pk: String!, $dn: String!, $id: String!, $from: DateTime!, $to: DateTime!, $first: Int, $after: String) {
  devicePropertyHistory(productKey: $pk, deviceName: $dn, identifier: $id, from: $from, to: $to, order: ASC, first: $first, after: $after) {
    edges { node { value time } } pageInfo { hasNextPage endCursor } } }`;

/** Every stored value of one property in [from, to] (device time), oldest first, all pages. */
export async function propertyHistory(
  t: Pick<TestPlatform, 'gql'>,
  pk: string,
  dn: string,
  identifier: string,
  from: number,
  to: number,
): Promise<{ value: unknown; time: string }[]> {
  const out: { value: unknown; time: string }[] = [];
  let after: string | null = null;
  for (;;) {
    const r: { data: any; errors?: any[] } = await t.gql(HISTORY, {
      pk,
      dn,
      id: identifier,
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      first: 500,
      after,
    });
    if (r.errors) throw new Error(JSON.stringify(r.errors));
    const conn = r.data.devicePropertyHistory;
    out.push(...conn.edges.map((e: any) => e.node));
    if (!conn.pageInfo.hasNextPage) return out;
    after = conn.pageInfo.endCursor;
  }
}

/** Device.properties as a map identifier → {value, time}. */
export async function latestProperties(
  t: Pick<TestPlatform, 'gql'>,
  pk: string,
  dn: string,
): Promise<Record<string, { value: unknown; time: string }>> {
  const r = await t.gql(
    `query($pk: String!, $dn: String!) { device(productKey: $pk, deviceName: $dn) { properties { identifier value time } } }`,
    { pk, dn },
  );
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return Object.fromEntries(r.data.device.properties.map((p: any) => [p.identifier, { value: p.value, time: p.time }]));
}

export async function setValidationMode(
  t: Pick<TestPlatform, 'gql'>,
  productKey: string,
  mode: 'WEAK' | 'STRICT' | 'NONE',
): Promise<void> {
  const r = await t.gql(
    `mutation($i: UpdateProductInput!) { updateProduct(input: $i) { product { validationMode } userErrors { code message } } }`,
    {
      i: { productKey, validationMode: mode },
    },
  );
  if (r.errors || r.data.updateProduct.userErrors.length || r.data.updateProduct.product.validationMode !== mode)
    throw new Error(JSON.stringify(r));
}
