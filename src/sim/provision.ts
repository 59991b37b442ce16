/**
 * Device provisioning for the simulator, through the public GraphQL API only (graphql-api.md): read the product's
 * thing model, register the missing `${prefix}0001..N` devices (registerDevices returns their secrets), and give the
 * existing ones a fresh secret with resetDeviceSecret (ADMIN only: a secret is shown once and cannot be read back).
 */
import { compileThingModel, validateTslDocument, type ThingModel } from '../domain/tsl/index.ts';

export type SimErrorCode =
  | 'INVALID_OPTIONS'
  | 'PLATFORM_UNREACHABLE'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'PRODUCT_NOT_FOUND'
  | 'GRAPHQL_ERROR'
  | 'LOGIN_FAILED'
  | 'NOT_THINGQL'
  | 'BROKER_UNREACHABLE';

/** An expected failure of a simulation, with a message meant for the person running it. */
export class SimulationError extends Error {
  constructor(
    readonly code: SimErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SimulationError';
  }
}

export interface GqlError {
  message: string;
  extensions?: { code?: string; reason?: string };
}

/** Runs one operation; `T` is the shape of its `data`, as the query selects it. */
export type Gql = <T>(query: string, variables?: Record<string, unknown>) => Promise<T>;

/** A GraphQL-over-HTTP caller that turns transport and auth failures into SimulationErrors. */
export function graphqlClient(url: string, token: string | undefined): Gql {
  return async (query, variables) => {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
    };
    if (token) headers.authorization = `Bearer ${token}`;
    let res: Response;
    try {
      res = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new SimulationError(
        'PLATFORM_UNREACHABLE',
        `cannot reach the platform at ${url}: ${cause?.message ?? cause?.code ?? (e as Error).message}`,
      );
    }
    let body: { data?: unknown; errors?: GqlError[] };
    try {
      body = (await res.json()) as typeof body;
    } catch {
      throw new SimulationError(
        'PLATFORM_UNREACHABLE',
        `${url} answered HTTP ${res.status} without a GraphQL response: is it the ThingQL GraphQL endpoint?`,
      );
    }
    const first = body.errors?.[0];
    if (res.status === 401 || first?.extensions?.code === 'UNAUTHENTICATED') {
      const why = token ? 'the token was refused (unknown, revoked or expired)' : 'no token given';
      throw new SimulationError('UNAUTHENTICATED', `${why}: pass --token or set THINGQL_TOKEN (or ADMIN_TOKEN)`);
    }
    if (first?.extensions?.code === 'FORBIDDEN') throw new SimulationError('FORBIDDEN', first.message);
    if (first || body.data == null) {
      throw new SimulationError(
        'GRAPHQL_ERROR',
        `GraphQL error: ${first?.message ?? `HTTP ${res.status} without data`}`,
      );
    }
    return body.data as never;
  };
}

export interface SimDeviceCreds {
  productKey: string;
  deviceName: string;
  deviceSecret: string;
}

export interface Provisioned {
  model: ThingModel;
  devices: SimDeviceCreds[];
  registered: number;
  reset: number;
}

interface UserError {
  code: string;
  message: string;
}

const PRODUCT = `query($pk: String!) { product(productKey: $pk) { productKey thingModel { tsl } } }`;
const DEVICES = `query($pk: String!, $prefix: String!, $after: String) {
  devices(productKey: $pk, nameContains: $prefix, first: 500, after: $after) { edges { node { deviceName } } pageInfo { hasNextPage endCursor } } }`;
const REGISTER = `mutation($i: RegisterDevicesInput!) { registerDevices(input: $i) { devices { device { deviceName } deviceSecret } userErrors { code message } } }`;
const REGISTER_BATCH = 1000;
const RESET_BATCH = 50;

export const simDeviceName = (prefix: string, i: number): string => `${prefix}${String(i).padStart(4, '0')}`;

/** The product's thing model, compiled; PRODUCT_NOT_FOUND also when the token may not see the product. */
export async function fetchThingModel(gql: Gql, productKey: string): Promise<ThingModel> {
  const data = await gql<{ product: { thingModel: { tsl: unknown } } | null }>(PRODUCT, { pk: productKey });
  if (!data.product) {
    throw new SimulationError('PRODUCT_NOT_FOUND', `product ${productKey} not found (or not visible to this token)`);
  }
  const doc = validateTslDocument(data.product.thingModel.tsl);
  if (!doc.ok)
    throw new SimulationError('GRAPHQL_ERROR', `the thing model of ${productKey} is not a valid TSL document`);
  return compileThingModel(doc.value);
}

async function existingNames(gql: Gql, productKey: string, prefix: string): Promise<Set<string>> {
  const names = new Set<string>();
  let after: string | null = null;
  for (;;) {
    const page: DevicesPage = await gql<DevicesPage>(DEVICES, { pk: productKey, prefix, after });
    for (const e of page.devices.edges) names.add(e.node.deviceName);
    if (!page.devices.pageInfo.hasNextPage) return names;
    after = page.devices.pageInfo.endCursor;
  }
}

type DevicesPage = {
  devices: { edges: { node: { deviceName: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
};
type Registered = {
  registerDevices: { userErrors: UserError[]; devices: { device: { deviceName: string }; deviceSecret: string }[] };
};

const userErrorText = (errors: UserError[]): string => errors.map((e) => `${e.code}: ${e.message}`).join('; ');

async function register(gql: Gql, productKey: string, names: string[]): Promise<SimDeviceCreds[]> {
  const out: SimDeviceCreds[] = [];
  for (let i = 0; i < names.length; i += REGISTER_BATCH) {
    const batch = names.slice(i, i + REGISTER_BATCH);
    let data: Registered;
    try {
      data = await gql<Registered>(REGISTER, { i: { productKey, deviceNames: batch } });
    } catch (e) {
      if (e instanceof SimulationError && e.code === 'FORBIDDEN') {
        throw new SimulationError('FORBIDDEN', `registering devices needs an OPERATOR or ADMIN token: ${e.message}`);
      }
      throw e;
    }
    const r = data.registerDevices;
    if (r.userErrors.length)
      throw new SimulationError('GRAPHQL_ERROR', `registerDevices failed: ${userErrorText(r.userErrors)}`);
    for (const d of r.devices) out.push({ productKey, deviceName: d.device.deviceName, deviceSecret: d.deviceSecret });
  }
  return out;
}

/** resetDeviceSecret, many per request (aliases), since secrets of existing devices cannot be read back. */
async function resetSecrets(gql: Gql, productKey: string, names: string[]): Promise<SimDeviceCreds[]> {
  const out: SimDeviceCreds[] = [];
  for (let i = 0; i < names.length; i += RESET_BATCH) {
    const batch = names.slice(i, i + RESET_BATCH);
    const vars = batch.map((_, k) => `$d${k}: String!`).join(', ');
    const fields = batch
      .map(
        (_, k) =>
          `r${k}: resetDeviceSecret(input: { productKey: $pk, deviceName: $d${k} }) { deviceSecret userErrors { code message } }`,
      )
      .join('\n');
    const variables: Record<string, unknown> = { pk: productKey };
    batch.forEach((n, k) => (variables[`d${k}`] = n));
    let data: Record<string, { deviceSecret: string | null; userErrors: UserError[] }>;
    try {
      data = await gql(`mutation($pk: String!, ${vars}) {\n${fields}\n}`, variables);
    } catch (e) {
      if (e instanceof SimulationError && e.code === 'FORBIDDEN') {
        throw new SimulationError(
          'FORBIDDEN',
          `${names.length} of the simulated devices already exist (${names[0]}${names.length > 1 ? ', …' : ''}). A device secret is shown only once, ` +
            `so the simulator gives them a new one with resetDeviceSecret, which needs an ADMIN token; this token is not ADMIN. ` +
            `Use the ADMIN token (ADMIN_TOKEN), or a new --prefix so that fresh devices are registered.`,
        );
      }
      throw e;
    }
    batch.forEach((deviceName, k) => {
      const r = data[`r${k}`]!;
      if (r.userErrors.length || !r.deviceSecret)
        throw new SimulationError(
          'GRAPHQL_ERROR',
          `resetDeviceSecret ${deviceName} failed: ${userErrorText(r.userErrors)}`,
        );
      out.push({ productKey, deviceName, deviceSecret: r.deviceSecret });
    });
  }
  return out;
}

/** The thing model and the credentials of `${prefix}0001..${count}`, registered or reset as needed. */
export async function provision(gql: Gql, productKey: string, prefix: string, count: number): Promise<Provisioned> {
  const model = await fetchThingModel(gql, productKey);
  const wanted = Array.from({ length: count }, (_, i) => simDeviceName(prefix, i + 1));
  const existing = await existingNames(gql, productKey, prefix);
  const missing = wanted.filter((n) => !existing.has(n));
  const present = wanted.filter((n) => existing.has(n));
  // Resets first: a token that may not reset secrets fails before anything is registered.
  const reset = await resetSecrets(gql, productKey, present);
  const fresh = await register(gql, productKey, missing);
  const byName = new Map([...fresh, ...reset].map((c) => [c.deviceName, c]));
  return { model, devices: wanted.map((n) => byName.get(n)!), registered: fresh.length, reset: reset.length };
}
