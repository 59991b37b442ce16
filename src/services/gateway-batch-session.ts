import { decodeRequest, encodeReply } from '../domain/alink/envelope.ts';
import { replyTopic } from '../domain/alink/topics.ts';
import { LIMITS } from './gateway.ts';

type Entry = Record<string, unknown>;

/** The outcome of one sub-device login or logout. */
export interface SubSessionResult {
  code: number;
  message: string;
  productKey: string;
  deviceName: string;
}

/** How one entry is logged in or out: the caller owns the connection's session state (gateway-sessions.ts). */
export interface SubSessionOps {
  login(entry: Entry): Promise<SubSessionResult>;
  logout(entry: Entry): Promise<SubSessionResult>;
}

export interface BatchSessionRequest {
  topic: string;
  payload: Buffer;
  qos: number;
}

export type BatchAction = 'combine/batch_login' | 'combine/batch_logout';

const SIGN_METHOD_KEYS = ['signmethod', 'signMethod', 'SignMethod'];
const ownSignMethod = (o: Entry): unknown => SIGN_METHOD_KEYS.map((k) => o[k]).find((v) => v != null && v !== '');

/**
 * D24: the sub-devices of a batch login/logout. `params` is `{deviceList: [...]}` (the reference page; the Python Link
 * SDK adds `signMethod` at params level: `{"signMethod": "hmacSha256", "deviceList": [{productKey, deviceName,
 * clientId, timestamp, cleanSession, sign}]}`) or a plain array (the Python SDK's batch_logout). An entry without its
 * own sign method uses the params-level one.
 */
export function batchEntries(params: unknown): Entry[] | null {
  const obj = params !== null && typeof params === 'object' && !Array.isArray(params) ? (params as Entry) : null;
  const list = Array.isArray(params) ? params : Array.isArray(obj?.deviceList) ? (obj!.deviceList as unknown[]) : null;
  if (!list || list.length === 0 || list.length > LIMITS.loginBatch) return null;
  const shared = obj ? ownSignMethod(obj) : undefined;
  return list.map((e) => {
    const entry = e !== null && typeof e === 'object' && !Array.isArray(e) ? (e as Entry) : {};
    return shared !== undefined && ownSignMethod(entry) === undefined ? { ...entry, signMethod: shared } : entry;
  });
}

/**
 * `/ext/session/${gwPk}/${gwDn}/combine/batch_login|batch_logout` (§1.7, D20, D24): each entry is verified and logged in
 * (or out) on its own; the reply lists the per-device results in `data` and carries 200 when all succeeded, otherwise
 * the first failure's code. Returns the reply to send once the message is committed.
 */
export async function batchSession(action: BatchAction, request: BatchSessionRequest, ops: SubSessionOps): Promise<{ replies: { topic: string; payload: Buffer; qos: 0 | 1 }[] }> {
  const qos: 0 | 1 = request.qos >= 1 ? 1 : 0;
  const reply = (id: string | undefined, idType: 'string' | 'number' | undefined, code: number, data: unknown, message: string) => ({
    replies: [{ topic: replyTopic(request.topic), qos, payload: encodeReply({ ...(id !== undefined ? { id } : {}), ...(idType ? { idType } : {}), code, data, message }) }],
  });
  const decoded = decodeRequest(request.payload);
  if (!decoded.ok) return reply(decoded.error.id, decoded.error.idType, 460, {}, decoded.error.message);
  const { id, idType, params } = decoded.value;
  const entries = batchEntries(params);
  if (!entries) return reply(id, idType, 460, {}, `deviceList must hold 1 to ${LIMITS.loginBatch} sub-devices`);
  const results: SubSessionResult[] = [];
  for (const e of entries) results.push(action === 'combine/batch_login' ? await ops.login(e) : await ops.logout(e));
  const failed = results.find((r) => r.code !== 200);
  return reply(
    id,
    idType,
    failed ? failed.code : 200,
    results.map((r) => ({ productKey: r.productKey, deviceName: r.deviceName, code: r.code, message: r.message })),
    failed ? failed.message : 'success',
  );
}
