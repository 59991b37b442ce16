import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter } from 'prom-client';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type { ApiRole } from '../services/access.ts';
import type { Services } from '../services/index.ts';
import { authenticate } from './authenticate.ts';
import { BusinessError, internalError, permissionDeny, RequestError } from './errors.ts';
import type { NonceStore } from './nonces.ts';
import { operations } from './operations/index.ts';
import { toBusiness } from './operations/shared.ts';
import { isFormBody, Params, parseUrlEncoded, readBody } from './params.ts';

export const OPENAPI_VERSION = '2018-01-20';
const RANK: Record<ApiRole, number> = { VIEWER: 0, OPERATOR: 1, ADMIN: 2 };

export interface OpenApiDeps {
  services: Services;
  config: Config;
  logger: Logger;
  nonces: NonceStore;
  metrics?: Metrics;
}

/** The largest legal body is a Pub of MQTT_MAX_PAYLOAD bytes in base64, plus the other parameters. */
export const maxBodyBytes = (config: Config): number =>
  Math.max(1024 * 1024, Math.ceil((config.MQTT_MAX_PAYLOAD * 4) / 3) + 64 * 1024);

function send(res: ServerResponse, status: number, requestId: string, body: Record<string, unknown>): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json;charset=utf-8', 'x-acs-request-id': requestId });
  res.end(JSON.stringify(body));
}

/**
 * Alibaba IoT OpenAPI 2018-01-20 (cloud-api.md): read, authenticate, check version and action, run the operation on
 * the services GraphQL uses, answer in the reference's shapes (§4). `fallThrough` (a POST form to `/` that may carry
 * `Action` in its body): called when the body has none, so the request was not ours after all.
 */
export function createOpenApiHandler(deps: OpenApiDeps) {
  const log = deps.logger.child({ module: 'openapi' });
  const limit = maxBodyBytes(deps.config);
  const requests = deps.metrics
    ? new Counter({
        name: 'thingql_openapi_requests_total',
        help: 'Alibaba OpenAPI calls, by action (unknown ones as "other") and outcome code ("OK" for success)',
        labelNames: ['action', 'code'] as const,
        registers: [deps.metrics.registry],
      })
    : null;
  // Labels only from the known actions: a caller must not be able to mint label values.
  const count = (action: string | undefined, code: string) =>
    requests?.inc({ action: action && operations.has(action) ? action : 'other', code });
  const authDeps = {
    lookup: (id: string) => deps.services.accessKeys.lookupAccessKey(id),
    nonces: deps.nonces,
    maxSkewMs: deps.config.OPENAPI_MAX_CLOCK_SKEW_S * 1000,
  };

  return async function handle(
    req: IncomingMessage,
    res: ServerResponse,
    fallThrough: (() => void) | null,
  ): Promise<void> {
    const requestId = randomUUID().toUpperCase();
    let action = req.headers['x-acs-action'] as string | undefined;
    try {
      const body = await readBody(req, limit);
      const rawQuery = (req.url ?? '/').split('?')[1] ?? '';
      const query = parseUrlEncoded(rawQuery, false);
      const form = isFormBody(req) ? parseUrlEncoded(body.toString('utf8'), true) : new Map<string, string>();
      if (fallThrough && !form.has('Action')) return fallThrough();
      if (req.method !== 'GET' && req.method !== 'POST')
        throw new RequestError(
          'UnsupportedHTTPMethod',
          405,
          `HTTP method ${req.method} is not supported; use POST or GET.`,
        );
      const auth = await authenticate(authDeps, {
        method: req.method,
        headers: req.headers,
        headersDistinct: req.headersDistinct,
        query,
        form,
        body,
      });
      action = auth.action;
      deps.services.accessKeys.markUsed(auth.key.accessKeyId);
      if (auth.version !== OPENAPI_VERSION)
        throw new RequestError(
          'InvalidVersion',
          400,
          `Specified parameter Version is not valid: ${auth.version}; this endpoint serves ${OPENAPI_VERSION}.`,
        );
      const op = operations.get(auth.action);
      if (!op)
        throw new RequestError(
          'InvalidAction.NotFound',
          404,
          `Specified api is not found, please check your url and method: ${auth.action}.`,
        );
      const principal = auth.key.principal;
      if (RANK[principal.role] < RANK[op.role] || (op.role === 'ADMIN' && principal.productKeys !== null)) {
        throw permissionDeny(auth.action, op.role === 'ADMIN' ? 'ADMIN without a product scope' : op.role);
      }
      const fields = await op.run({
        principal,
        params: new Params(auth.params),
        services: deps.services,
        config: deps.config,
      });
      send(res, 200, requestId, { RequestId: requestId, Success: true, ...fields });
      count(action, 'OK');
    } catch (raw) {
      const e = toBusiness(raw);
      if (e instanceof BusinessError) {
        send(res, 200, requestId, {
          RequestId: requestId,
          Success: false,
          Code: e.code,
          ErrorMessage: e.message,
          ...e.fields,
        });
        count(action, e.code);
      } else if (e instanceof RequestError) {
        log.debug({ code: e.code, action }, 'openapi request refused');
        send(res, e.status, requestId, {
          RequestId: requestId,
          HostId: req.headers.host ?? '',
          Code: e.code,
          Message: e.message,
        });
        count(action, e.code.startsWith('Missing') ? 'Missing' : e.code);
      } else {
        log.error({ err: e, action, requestId }, 'openapi call failed');
        const internal = internalError();
        send(res, internal.status, requestId, {
          RequestId: requestId,
          HostId: req.headers.host ?? '',
          Code: internal.code,
          Message: internal.message,
        });
        count(action, internal.code);
      }
    }
  };
}

export type OpenApiHandler = ReturnType<typeof createOpenApiHandler>;
