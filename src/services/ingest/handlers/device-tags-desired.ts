import { ALINK } from '../../../domain/alink/codes.ts';
import type { AlinkRequest } from '../../../domain/alink/envelope.ts';
import { findDesired } from '../../../db/repositories/tags-desired.ts';
import type { NewEvent } from '../../../events/types.ts';
import { TAG_KEY, TAG_LIMITS, type TagRow } from '../../device-tags-desired.ts';
import type { DeviceIdentity } from '../../presence.ts';
import { decodeAlink } from '../decode.ts';
import { alinkReply } from '../reply.ts';
import type { Handled, UplinkHandler, UplinkRequest } from '../types.ts';

const tagEvent = (
  d: DeviceIdentity,
  type: 'thing.deviceinfo.update' | 'thing.deviceinfo.delete',
  value: unknown,
): NewEvent => ({
  type,
  productKey: d.productKey,
  deviceName: d.deviceName,
  data: { iotId: d.iotId, productKey: d.productKey, deviceName: d.deviceName, value, messageCreateTime: Date.now() },
});

const answer = (
  request: UplinkRequest,
  req: AlinkRequest,
  code: number,
  data: unknown = {},
  message?: string,
): Handled => ({ replies: alinkReply(request, req, { code, data, message }) });

/** Device tags: thing/deviceinfo/update|delete (§6.12), upserted or deleted in the message's commit. */
export const deviceTagsHandler: UplinkHandler<'deviceTags'> = (device, request) => {
  const env = decodeAlink(request, { checkMethod: false });
  if (env.fail) return env.fail;
  const { req } = env;
  const update = request.uplink.op === 'update';
  const list = req.params;
  if (!Array.isArray(list) || list.length === 0)
    return answer(request, req, ALINK.PARAM_ERROR, {}, 'params must be a non-empty array of {attrKey, attrValue}');
  if (list.length > TAG_LIMITS.perMessage)
    return answer(request, req, ALINK.PARAM_ERROR, {}, `at most ${TAG_LIMITS.perMessage} tags per message`);
  const rows: TagRow[] = [];
  for (const item of list as { attrKey?: unknown; attrValue?: unknown }[]) {
    const key = item?.attrKey;
    if (typeof key !== 'string' || !TAG_KEY.test(key) || Buffer.byteLength(key) > TAG_LIMITS.keyBytes) {
      return answer(
        request,
        req,
        ALINK.PARAM_ERROR,
        {},
        `attrKey ${JSON.stringify(key)} must be 1-100 bytes of letters, digits, _ . - starting with a letter`,
      );
    }
    if (update) {
      const value = item.attrValue;
      if (typeof value !== 'string' && typeof value !== 'number')
        return answer(request, req, ALINK.PARAM_ERROR, {}, `attrValue of ${key} must be a string`);
      if (String(value).length > TAG_LIMITS.valueChars)
        return answer(
          request,
          req,
          ALINK.PARAM_ERROR,
          {},
          `attrValue of ${key} is longer than ${TAG_LIMITS.valueChars} characters`,
        );
      rows.push({ deviceId: device.id, attrKey: key, attrValue: String(value) });
    } else rows.push({ deviceId: device.id, attrKey: key, attrValue: '' });
  }
  return {
    events: [
      tagEvent(
        device,
        update ? 'thing.deviceinfo.update' : 'thing.deviceinfo.delete',
        rows.map((r) => (update ? { attrKey: r.attrKey, attrValue: r.attrValue } : { attrKey: r.attrKey })),
      ),
    ],
    rows: update
      ? { tagsUpsert: rows }
      : { tagsDelete: rows.map((r) => ({ deviceId: r.deviceId, attrKey: r.attrKey })) },
    ...answer(request, req, ALINK.SUCCESS),
  };
};

/**
 * Desired properties: thing/property/desired/get|delete. A device that was offline asks for them (read inside the
 * message's commit, so it sees every earlier commit) and, once applied, deletes them at the version it saw.
 */
export const desiredPropertiesHandler: UplinkHandler<'desiredProperties'> = (device, request) => {
  const env = decodeAlink(request, { checkMethod: false });
  if (env.fail) return env.fail;
  const { req } = env;
  if (request.uplink.op === 'get') {
    const ids = req.params;
    if (!Array.isArray(ids) || !ids.every((i) => typeof i === 'string'))
      return answer(request, req, ALINK.PARAM_ERROR, {}, 'params must be an array of property identifiers');
    return {
      inTx: async (tx) => {
        const rows = await findDesired(tx, device.id, ids as string[]);
        return {
          replies: alinkReply(request, req, {
            code: ALINK.SUCCESS,
            data: Object.fromEntries(rows.map((r) => [r.identifier, { value: r.value, version: r.version }])),
          }),
        };
      },
    };
  }
  const p = req.params;
  if (!p || typeof p !== 'object' || Array.isArray(p))
    return answer(request, req, ALINK.PARAM_ERROR, {}, 'params must be {"identifier": {"version": n}}');
  const rows = Object.entries(p as Record<string, { version?: unknown } | null>).map(([identifier, v]) => ({
    deviceId: device.id,
    identifier,
    version: v && typeof v.version === 'number' ? v.version : null,
  }));
  return { rows: { desiredDelete: rows }, ...answer(request, req, ALINK.SUCCESS) };
};
