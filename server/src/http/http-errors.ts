/**
 * Error codes → HTTP statuses, in one place (STYLE.md §4). Every failure answers JSON
 * `{ok: false, code, reason, hint?}`; a user's mistake is never a 5xx, and an unexpected error
 * answers 500 with a request id and no stack.
 */
import { randomUUID } from 'node:crypto';
import type { ErrorRequestHandler, Response } from 'express';
import { AnvilError } from '@anvil/content-schema';
import type { Logger } from '../forge/logger.ts';

/** By code prefix; the longest matching prefix wins. */
const STATUS_BY_CODE: Record<string, number> = {
  'auth.missing': 401,
  'auth.invalid': 401,
  'auth.revoked': 401,
  'auth.forbidden': 403,
  'request.invalid': 400,
  'request.too-large': 413,
  'request.json': 400,
  'not-found': 404,
  'project.unknown': 404,
  'release.unknown': 404,
  // A release the forge decided not to publish: the request is understood, the state forbids it.
  'release.refused': 409,
  'set.unknown': 404,
  'receiver.unknown': 404,
  'receiver.invalid': 422,
  'receiver.url-blocked': 422,
  'token.unknown': 404,
  'token.ambiguous': 409,
  'webhook.signature': 401,
  'webhook.headers': 400,
  'webhook.payload': 400,
  'conflict': 409,
};

export function statusOfCode(code: string): number {
  let best = '';
  for (const prefix of Object.keys(STATUS_BY_CODE)) {
    if ((code === prefix || code.startsWith(`${prefix}.`)) && prefix.length > best.length) best = prefix;
  }
  return best ? STATUS_BY_CODE[best]! : 400;
}

export function sendError(res: Response, status: number, code: string, reason: string, hint?: string): void {
  res.status(status).json({ ok: false, code, reason, ...(hint ? { hint } : {}) });
}

/** The last Express error handler: AnvilErrors answer by code; body-parser errors are 4xx. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, _req, res, next) => {
    if (res.headersSent) return next(err);
    if (err instanceof AnvilError) return sendError(res, statusOfCode(err.code), err.code, err.message, err.hint);
    const e = err as { type?: string; status?: number; message?: string };
    if (e.type === 'entity.too.large') return sendError(res, 413, 'request.too-large', e.message ?? 'request body too large');
    if (e.type === 'entity.parse.failed') return sendError(res, 400, 'request.json', `the body is not valid JSON: ${e.message ?? ''}`);
    if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) return sendError(res, e.status, 'request.invalid', e.message ?? 'bad request');
    const id = randomUUID();
    logger.error({ err, requestId: id }, 'unexpected error while answering a request');
    return sendError(res, 500, 'internal', `an unexpected error happened (request ${id}); it is logged`);
  };
}
