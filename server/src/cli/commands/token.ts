import { AnvilError, closest } from '@anvil/content-schema';
import { createAccessToken, isTokenScope, listAccessTokens, revokeAccessToken, type AccessTokenInfo, type TokenScope } from '../../access/access-tokens.ts';
import { readSecretBox } from '../../forge/secret-box.ts';
import { colour, EXIT_OK, type CliIO } from '../cli-io.ts';
import type { Command } from '../command.ts';
import { FORGE_STORE_HELP, FORGE_STORE_OPTIONS, openForgeStore, type OpenedForgeStore } from '../forge-store-options.ts';
import { shortTime, textTable } from '../text-table.ts';

const USAGE = 'anvil token create|list|revoke [--project <p>] [--label <l>] [--scope full|read] [<id-or-prefix>] [--json] [--data-dir <dir>]';

export const tokenCommand: Command = {
  name: 'token',
  usage: USAGE,
  help: [
    'Subcommands:',
    '  create --project <p> [--label <l>]     make a token; it is printed once, on stdout, and never again',
    '  list [--project <p>]                   id, prefix, label, created, last used, revoked (never the token)',
    '  revoke --project <p> <id-or-prefix>    revoke a token; the very next request with it is refused',
    '',
    'Options:',
    '  --project <p>      the forge project',
    '  --label <l>        what the token is for, e.g. "web app production"',
    '  --scope <s>        full (default: everything a project token may do) or read (for a peer',
    '                     forge: list, pull and render; writes are answered 403 auth.read-only)',
    '  --json             print JSON',
    FORGE_STORE_HELP,
    '',
    'A token is `anvil_` and 43 base64url characters (256 random bits). The forge keeps only its',
    'SHA-256 hash and its first characters (`anvil_AbCdEfGh`), which `list` shows so you can tell',
    'tokens apart. Receivers and tools send it as `Authorization: Bearer <token>`; a token works for',
    'its own project only. Creating and revoking are written to the audit log.',
    '',
    'Example: ANVIL_TOKEN=$(anvil token create --project acme --label web-prod)',
    '         anvil token create --project acme --label partner-forge --scope read',
  ].join('\n'),
  options: { ...FORGE_STORE_OPTIONS, project: { type: 'string' }, label: { type: 'string' }, scope: { type: 'string' }, json: { type: 'boolean' } },
  async run({ values, positionals }, io) {
    const [sub, ...rest] = positionals;
    if (sub !== 'create' && sub !== 'list' && sub !== 'revoke') {
      throw new AnvilError('cli.bad-arguments', sub === undefined ? 'name a subcommand: create, list or revoke' : `unknown subcommand "${sub}"`, { hint: USAGE });
    }
    const project = values['project'] as string | undefined;
    const json = Boolean(values['json']);
    if (sub !== 'list' && project === undefined) throw new AnvilError('cli.bad-arguments', `npx anvil token ${sub} needs --project <p>`, { hint: USAGE });
    if (sub === 'revoke' && rest.length !== 1) throw new AnvilError('cli.bad-arguments', 'name the token to revoke by its id (tok_…) or prefix (anvil_…)', { hint: 'see `npx anvil token list`' });
    if (sub !== 'revoke' && rest.length > 0) throw new AnvilError('cli.bad-arguments', `unexpected argument "${rest[0]}"`, { hint: USAGE });
    if (sub !== 'create' && values['label'] !== undefined) throw new AnvilError('cli.bad-arguments', '--label is for `npx anvil token create`', { hint: USAGE });
    const scope = values['scope'];
    if (scope !== undefined && sub !== 'create') throw new AnvilError('cli.bad-arguments', '--scope is for `npx anvil token create`', { hint: USAGE });
    if (scope !== undefined && !isTokenScope(scope)) throw new AnvilError('cli.bad-arguments', `--scope must be full or read, not "${String(scope).slice(0, 40)}"`, { hint: 'read: for a peer forge (list, pull, render only)' });

    const store = await openForgeStore(values, io.cwd);
    try {
      if (sub === 'create') return await create(store, project!, values['label'] as string | undefined, scope ?? 'full', json, io);
      if (sub === 'list') return await list(store, project, json, io);
      return await revoke(store, project!, rest[0]!, json, io);
    } finally {
      await store.close();
    }
  },
};

function checkKnown(store: OpenedForgeStore, project: string): void {
  if (store.knownProjects.length === 0 || store.knownProjects.includes(project)) return;
  const near = closest(project, store.knownProjects);
  throw new AnvilError('token.project-unknown', `the forge has no project "${project}"`, {
    hint: near ? `did you mean "${near}"?` : `its projects: ${store.knownProjects.join(', ')}`,
  });
}

async function create(store: OpenedForgeStore, project: string, label: string | undefined, scope: TokenScope, json: boolean, io: CliIO): Promise<number> {
  checkKnown(store, project);
  const created = await createAccessToken(store.db, { project, label, scope, actor: 'cli' });
  if (json) {
    io.out(JSON.stringify({ ok: true, project, label: (label ?? '').trim(), scope, ...created }, null, 2));
  } else {
    // The token alone on stdout, so that `$(anvil token create …)` captures exactly it.
    io.out(created.token);
    io.err(colour(io, 33, `created ${scope === 'read' ? 'a read-only token ' : ''}${created.id} (${created.prefix}…) for ${project}: store it now, it is not shown again`));
  }
  return EXIT_OK;
}

async function list(store: OpenedForgeStore, project: string | undefined, json: boolean, io: CliIO): Promise<number> {
  const tokens = await listAccessTokens(store.db, project);
  if (json) {
    io.out(JSON.stringify({ tokens }, null, 2));
    return EXIT_OK;
  }
  if (tokens.length === 0) {
    io.err(project ? `${project} has no access token yet (anvil token create --project ${project})` : 'no access token yet (anvil token create --project <p>)');
    return EXIT_OK;
  }
  const lines = textTable(
    ['ID', 'PREFIX', 'PROJECT', 'LABEL', 'SCOPE', 'CREATED', 'LAST USED', 'STATE'],
    tokens.map((t) => [t.id, `${t.prefix}…`, t.project, t.label || '—', t.scope ?? 'full', shortTime(t.createdAt), shortTime(t.lastUsedAt), stateOf(t)]),
  );
  io.out(colour(io, 1, lines[0]!));
  tokens.forEach((t, i) => io.out(t.revokedAt ? colour(io, 2, lines[i + 1]!) : lines[i + 1]!));
  return EXIT_OK;
}

function stateOf(t: AccessTokenInfo): string {
  return t.revokedAt ? `revoked ${shortTime(t.revokedAt)}` : 'active';
}

async function revoke(store: OpenedForgeStore, project: string, idOrPrefix: string, json: boolean, io: CliIO): Promise<number> {
  const { token, alreadyRevoked } = await revokeAccessToken(store.db, project, idOrPrefix.replace(/…$/, ''), {
    actor: 'cli',
    // Receivers registered before tokens were linked to them are found by their sealed token.
    secrets: readSecretBox(store.dataDir),
  });
  if (json) io.out(JSON.stringify({ ok: true, token, alreadyRevoked }, null, 2));
  else io.out(alreadyRevoked ? `${token.id} (${token.prefix}…) was already revoked at ${shortTime(token.revokedAt)}` : `revoked ${token.id} (${token.prefix}…) of ${project}`);
  return EXIT_OK;
}
