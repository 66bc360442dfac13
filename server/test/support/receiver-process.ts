/**
 * A LIVE receiver in a process of its own, as an app runs one: `createClient` + `listen`
 * against a real forge, with its own disk cache. Tests fork it (receiver-process-handle.ts) and
 * hear, over IPC, every state it applies: the versions it serves and what a prompt renders, so
 * that nothing the test process does can stand in for the receiver.
 * argv: <forge url> <project> <token> <channel> <cache dir> <instance id> <prompt id to render>.
 */
import { createClient, type AnvilClient } from '@anvil/client';

export interface ReceiverReport {
  kind: 'ready' | 'update' | 'report';
  sets: Record<string, { version: string; stage: string; rollout?: { version: string; stage: string } | undefined }>;
  /** The watched prompt rendered without a key (undefined while the receiver serves none). */
  text: string | undefined;
}

const [forge, project, token, channel, cacheDir, instanceId, promptId] = process.argv.slice(2) as [string, string, string, string, string, string, string];

const client: AnvilClient = await createClient({
  forge, project, token, channel: channel as 'production', cacheDir, instanceId, readyTimeoutMs: 0, pollMs: 0, heartbeatMs: 3_600_000,
});
client.on('error', () => undefined);
client.on('update', () => report('update'));
await client.listen(0);
report('ready');
process.on('message', () => report('report'));
process.on('disconnect', () => void client.close().finally(() => process.exit(0)));

function report(kind: ReceiverReport['kind']): void {
  const sets: ReceiverReport['sets'] = {};
  for (const [name, s] of Object.entries(client.status().sets)) {
    sets[name] = { version: s.version, stage: s.stage, rollout: s.rollout ? { version: s.rollout.version, stage: s.rollout.stage } : undefined };
  }
  let text: string | undefined;
  try {
    text = client.prompt(promptId);
  } catch {
    text = undefined;
  }
  process.send?.({ kind, sets, text } satisfies ReceiverReport);
}
