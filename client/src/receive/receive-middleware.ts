/**
 * The HTTP edge of the receiver: reads the raw body (the webhook signature covers the exact
 * bytes, so nothing may parse it first), hands it to the client's push handler, and writes the
 * JSON answer. Works as Express middleware (`app.use('/anvil', anvil.receiver())`) and as a plain
 * `node:http` handler, without depending on Express.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PushRequest } from './check-push.ts';

export interface PushAnswer {
  status: number;
  body: { ok: boolean; code: string; reason?: string; [key: string]: unknown };
  headers?: Record<string, string>;
}

export type PushHandler = (request: PushRequest) => Promise<PushAnswer>;

type Next = (err?: unknown) => void;

export function receiveMiddleware(handle: PushHandler, options: { maxBodyBytes: number }) {
  return function anvilReceiver(req: IncomingMessage & { body?: unknown }, res: ServerResponse, next?: Next): void {
    void (async () => {
      if (req.method !== 'POST') {
        return send(res, { status: 405, headers: { allow: 'POST' }, body: { ok: false, code: 'push.method', reason: 'pushes are POST requests' } });
      }
      let body: Buffer;
      if (Buffer.isBuffer(req.body)) {
        body = req.body;
      } else if (req.body !== undefined && typeof req.body === 'object' && Object.keys(req.body as object).length > 0) {
        // A JSON body parser ran first: the exact bytes, which the signature covers, are gone.
        return send(res, { status: 400, body: { ok: false, code: 'push.body-parsed', reason: 'the body was parsed before the receiver saw it; mount anvil.receiver() before express.json()' } });
      } else {
        const read = await readBody(req, options.maxBodyBytes);
        if (read === 'too-large') {
          return send(res, { status: 413, headers: { connection: 'close' }, body: { ok: false, code: 'push.too-large', reason: `bodies are limited to ${options.maxBodyBytes} bytes` } });
        }
        body = read;
      }
      send(res, await handle({ headers: req.headers, body }));
    })().catch((err: unknown) => {
      if (next) next(err);
      else send(res, { status: 500, body: { ok: false, code: 'internal', reason: 'the receiver failed; see the app log' } });
    });
  };
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      req.resume();
      resolve('too-large');
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) over = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(over ? 'too-large' : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, answer: PushAnswer): void {
  if (res.headersSent) return;
  const text = JSON.stringify(answer.body);
  res.writeHead(answer.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...answer.headers });
  res.end(text);
}
