import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * cloud-api.md §1: a request to `/` is an Alibaba OpenAPI call when it has an `x-acs-action` header or an `Action`
 * query parameter ('yes'), or may carry `Action` in a form body ('maybe': the handler reads it and hands the request
 * back when it has none). Everything else on `/` is not the OpenAPI's ('no').
 */
export function openApiRouting(req: IncomingMessage): 'yes' | 'maybe' | 'no' {
  if (req.headers['x-acs-action'] !== undefined) return 'yes';
  const query = (req.url ?? '').split('?')[1] ?? '';
  if (query.split('&').some((p) => p === 'Action' || p.startsWith('Action='))) return 'yes';
  if (req.method === 'POST' && /^application\/x-www-form-urlencoded\b/i.test(req.headers['content-type'] ?? ''))
    return 'maybe';
  return 'no';
}

export type OpenApiRoute = (req: IncomingMessage, res: ServerResponse, fallThrough: () => void) => boolean;

/** The OpenAPI's claim on `/`: true when it took the request. */
export function openApiRoute(
  handle: (req: IncomingMessage, res: ServerResponse, fallThrough: (() => void) | null) => Promise<void>,
): OpenApiRoute {
  return (req, res, fallThrough) => {
    const r = openApiRouting(req);
    if (r === 'no') return false;
    void handle(req, res, r === 'maybe' ? fallThrough : null);
    return true;
  };
}
