/**
 * The child side of the benchmarks' forge processes: answers `{id, cmd, arg?}` requests on IPC
 * with `{id, result}` or `{id, error}`, runs `onDisconnect` (closing what it opened) when the
 * parent lets go, then exits, and tells the parent it is up with `ready`.
 */
export type ChildCommands = Record<string, (arg?: unknown) => Promise<unknown>>;

export function serveChildCommands(commands: ChildCommands, ready: Record<string, unknown>, onDisconnect: () => Promise<unknown>): void {
  const send = (message: unknown) => process.send?.(message);
  process.on('message', (m: { id: number; cmd: string; arg?: unknown }) => {
    const run = commands[m.cmd];
    if (!run) {
      send({ id: m.id, error: `unknown command ${m.cmd}` });
      return;
    }
    run(m.arg).then((result) => send({ id: m.id, result }), (err: unknown) => send({ id: m.id, error: (err as Error)?.stack ?? String(err) }));
  });
  process.on('disconnect', () => {
    void onDisconnect().finally(() => process.exit(0));
  });
  send({ type: 'ready', ...ready });
}
