/**
 * `anvil`: the authoring CLI. `anvil <command> --help` describes each command.
 * Exit codes: 0 done, 1 a user error (one clear line, no stack trace), 2 a bug.
 */
import { commandList, runCommandLine, type CommandEntry } from '@anvil/client/cli-frame';
import { processIO, type CliIO } from './cli-io.ts';

/** Each command is loaded when it runs, so that `anvil --help` loads none of them. */
export const COMMANDS: readonly CommandEntry<CliIO>[] = [
  { name: 'init', summary: 'create a prompt repository: anvil.yaml, an example set, a CI lint workflow, editor schemas', load: async () => (await import('./commands/init.ts')).initCommand },
  { name: 'new', summary: 'add a prompt set or a prompt, from a template', load: async () => (await import('./commands/new.ts')).newCommand },
  { name: 'lint', summary: 'check the prompt repository and report every problem at once', load: async () => (await import('./commands/lint.ts')).lintCommand },
  { name: 'render', summary: 'render one prompt with variables, from the working tree, a ref or a release', load: async () => (await import('./commands/render.ts')).renderCommand },
  { name: 'diff', summary: 'show what changed in a set between two versions or refs, rendered prompt by prompt', load: async () => (await import('./commands/diff.ts')).diffCommand },
  { name: 'build', summary: 'build bundles of prompt sets (from the working tree, a ref or a release)', load: async () => (await import('./commands/build.ts')).buildCommand },
  { name: 'versions', summary: 'list the releases of a set (or of every set), newest first', load: async () => (await import('./commands/versions.ts')).versionsCommand },
  { name: 'release', summary: 'release a set: lint, judge the changes, choose the version, tag (and push)', load: async () => (await import('./commands/release.ts')).releaseCommand },
  { name: 'rollback', summary: 'restore a set\'s files as of a release, commit them, and release them as the next patch', load: async () => (await import('./commands/release.ts')).rollbackCommand },
  { name: 'alias', summary: 'point a named version (stable, beta…) of a set at a release, in anvil.yaml', load: async () => (await import('./commands/alias.ts')).aliasCommand },
  { name: 'canary', summary: 'roll a release out to a percentage of a channel\'s keys, in anvil.yaml', load: async () => (await import('./commands/canary.ts')).canaryCommand },
  { name: 'export', summary: 'write a project, set or prompt, with what it depends on, to an archive for `anvil import`', load: async () => (await import('./commands/export.ts')).exportCommand },
  { name: 'import', summary: 'import an archive, Dotprompt files or GitHub Models prompt files into this repository', load: async () => (await import('./commands/import.ts')).importCommand },
  { name: 'types', summary: 'generate TypeScript declarations for prompt ids and their variables', load: async () => (await import('./commands/types.ts')).typesCommand },
  { name: 'serve', summary: 'run the forge: webhooks in, bundles built, signed pushes out', load: async () => (await import('./commands/serve.ts')).serveCommand },
  { name: 'dev', summary: 'run a local forge on this prompt repository; saved edits reach local receivers at once', load: async () => (await import('./commands/dev.ts')).devCommand },
  { name: 'publish', summary: 'push a release to LIVE receivers again ("Publish to LIVE"), with a result per receiver', load: async () => (await import('./commands/publish.ts')).publishCommand },
  { name: 'keys', summary: 'list or rotate the forge\'s Ed25519 signing keys', load: async () => (await import('./commands/keys.ts')).keysCommand },
  { name: 'token', summary: 'create, list or revoke a project\'s access tokens (on the forge host)', load: async () => (await import('./commands/token.ts')).tokenCommand },
  { name: 'peers', summary: 'browse other forges (knownForges) and connect their projects read-only', load: async () => (await import('./commands/peers.ts')).peersCommand },
  { name: 'receivers', summary: 'list the LIVE receivers registered with the forge, and how the last push to each went', load: async () => (await import('./commands/receivers.ts')).receiversCommand },
  { name: 'analytics', summary: 'how each version of a set did: calls, success rate, latency percentiles, X against Y', load: async () => (await import('./commands/analytics.ts')).analyticsCommand },
  { name: 'audit', summary: 'show the forge\'s audit log, or verify its hash chain', load: async () => (await import('./commands/audit.ts')).auditCommand },
  { name: 'hook', summary: 'install the post-receive hook that tells a forge about pushes to a plain git server', load: async () => (await import('./commands/hook.ts')).hookCommand },
];

function mainHelp(): string {
  return [
    'anvil — prompts as packages, with git as the database',
    '',
    'Usage: anvil <command> [options]',
    '',
    'Commands:',
    ...commandList(COMMANDS),
    '',
    'Run `npx anvil <command> --help` for a command\'s options. Exit codes: 0 ok, 1 user error, 2 bug.',
  ].join('\n');
}

export async function runCli(argv: string[], io: CliIO = processIO): Promise<number> {
  return runCommandLine({ name: 'anvil', commands: COMMANDS, help: mainHelp }, argv, io);
}
