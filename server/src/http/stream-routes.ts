/**
 * Streaming receivers' side of the API (issue 16), under `/api/v1/projects/:project`, after the
 * token gate and `express.json()`:
 *
 *   GET  /stream?channel=<c>&instance=<id>   the receiver's event stream    project token
 *   POST /receivers/ack                      its answer to one envelope     project token
 *
 * Server-sent events over a plain GET: the forge only ever talks one way on it; it passes HTTP/1.1
 * proxies and load balancers as any long response does; `Last-Event-ID` resumes it; and a client
 * reads it with `fetch`, nothing more (docs/client.md). Everything that can be refused is refused
 * before the stream starts, as JSON: the token (401/403, by the gate), the channel (400), a
 * receiver not registered to stream on that channel (404: register, then connect again), too many
 * streams (429 with Retry-After). The stream itself is deliver/stream-hub.ts; acks are
 * deliver/stream-acks.ts.
 */
import { Router, type Request, type Response } from 'express';
import { CHANNELS, validateReceiverAck } from '@anvil/content-schema';
import { createAckRecorder } from '../deliver/stream-acks.ts';
import { streamHubOf } from '../deliver/stream-hub.ts';
import type { ForgeContext } from '../forge/forge-context.ts';
import { sendError } from './http-errors.ts';
import { callerOf, requireToken } from './require-token.ts';

/** `Last-Event-ID` longer than this is ignored (an envelope id is 36 characters). */
const MAX_EVENT_ID = 256;

export function streamRoutes(ctx: ForgeContext): Router {
  const router = Router({ mergeParams: true });
  const receiverToken = requireToken(ctx, { admin: 'never' });
  const hub = streamHubOf(ctx);
  const recordAck = createAckRecorder(ctx);

  router.get('/stream', receiverToken, async (req: Request, res: Response) => {
    const caller = callerOf(res);
    if (caller.kind !== 'project') throw new Error('unreachable: the stream takes project tokens only');
    const channel = typeof req.query['channel'] === 'string' ? req.query['channel'] : '';
    if (!(CHANNELS as readonly string[]).includes(channel)) {
      return sendError(res, 400, 'request.channel', `channel must be one of ${CHANNELS.join(', ')}`, 'add ?channel=production (or staging, development)');
    }
    const instanceId = typeof req.query['instance'] === 'string' ? req.query['instance'] : '';
    if (instanceId === '' || instanceId.length > 256) return sendError(res, 400, 'request.instance', 'name the receiver: ?instance=<its instance id>');
    const receiver = await ctx.db.selectFrom('receivers').select(['channel', 'transport', 'gone_at'])
      .where('project', '=', caller.project).where('instance_id', '=', instanceId).executeTakeFirst();
    if (!receiver || receiver.gone_at !== null || receiver.transport !== 'stream' || receiver.channel !== channel) {
      return sendError(res, 404, 'receiver.unknown', `${caller.project} has no receiver "${instanceId.slice(0, 100)}" registered to stream on ${channel}`,
        'register first (POST …/receivers with transport "stream" and this channel), then open the stream');
    }
    const admitted = hub.admit(caller.project, caller.tokenId);
    if (!admitted.ok) {
      res.setHeader('retry-after', '30');
      return sendError(res, 429, 'stream.too-many', admitted.reason, 'another replica may take it; otherwise raise `streams` limits, or use more tokens');
    }
    const lastEventId = typeof req.headers['last-event-id'] === 'string' && req.headers['last-event-id'].length <= MAX_EVENT_ID ? req.headers['last-event-id'] : undefined;
    // A stream lives as long as the receiver holds it: no socket timeout here (the keep-alives
    // flow the other way), and Node's request timeout only covers receiving the request.
    req.socket.setTimeout(0);
    req.socket.setNoDelay(true);
    await hub.open({ project: caller.project, channel, instanceId, tokenId: caller.tokenId, lastEventId, res });
  });

  router.post('/receivers/ack', receiverToken, async (req: Request, res: Response) => {
    const checked = validateReceiverAck(req.body);
    if (!checked.ok) {
      const first = checked.errors[0];
      return void res.status(422).json({ ok: false, code: 'receiver.invalid', reason: `the ack is not valid${first ? `: ${first.path || '/'} ${first.message}` : ''}`, issues: checked.errors.slice(0, 20) });
    }
    const caller = callerOf(res);
    const recorded = await recordAck({ project: caller.project, ack: checked.value, actor: caller.kind === 'admin' ? 'admin' : `token:${caller.prefix}` });
    if (!recorded) return sendError(res, 404, 'receiver.unknown', `${caller.project} has no streaming receiver "${checked.value.instanceId.slice(0, 100)}"`, 'register with transport "stream" first');
    res.json({ ok: true });
  });

  return router;
}
