/**
 * `anvil peers` (issue 17, forge peering): the forges of `knownForges`, what they show this
 * forge, and the remote projects connected read-only. Reads anvil-forge.yaml as `anvil serve`
 * does (the peers' tokens from the environment) and the forge's store as `anvil token` does.
 */
import path from 'node:path';
import { AnvilError, FORGE_CONFIG_FILE } from '@anvil/content-schema';
import { readKnownForges } from '../../forge/forge-config.ts';
import { formatProblem } from '../../lint/problem.ts';
import type { KnownForge } from '../../peers/known-forge.ts';
import { peerClient } from '../../peers/peer-client.ts';
import { connectPeerProject, disconnectPeerProject, knownForgeNamed, listPeerConnections } from '../../peers/peer-connections.ts';
import { EXIT_OK, type CliIO } from '../cli-io.ts';
import type { Command } from '../command.ts';
import { FORGE_STORE_HELP, FORGE_STORE_OPTIONS, openForgeStore } from '../forge-store-options.ts';
import { shortTime, textTable } from '../text-table.ts';

const USAGE = 'anvil peers list | browse <forge> [<project>] | connect <forge> <project> | disconnect <forge> <project> [--json] [--config <file>]';

export const peersCommand: Command = {
  name: 'peers',
  usage: USAGE,
  help: [
    'Subcommands:',
    '  list                          the known forges and the connected projects, with their source',
    '  browse <forge>                the projects the forge shows this one',
    '  browse <forge> <project>      its sets: prompts, latest release, last updated',
    '  connect <forge> <project>     show the project here, read-only (never copied); audited',
    '  disconnect <forge> <project>  stop showing it; audited',
    '',
    'Options:',
    '  --page <n>         the page of sets to browse (50 a page)',
    '  --json             print JSON',
    FORGE_STORE_HELP,
    '',
    `Known forges are \`knownForges\` in ${FORGE_CONFIG_FILE}: a name, the peer's URL and the`,
    'environment variable holding the read-only token its operator made for this forge',
    '(`anvil token create --project <p> --scope read` on the peer).',
    '',
    'Example: anvil peers browse partner acme && anvil peers connect partner acme',
  ].join('\n'),
  options: { ...FORGE_STORE_OPTIONS, json: { type: 'boolean' }, page: { type: 'string' } },
  async run({ values, positionals }, io) {
    const [sub, ...rest] = positionals;
    const json = Boolean(values['json']);
    const arity: Record<string, [number, number]> = { list: [0, 0], browse: [1, 2], connect: [2, 2], disconnect: [2, 2] };
    const wanted = sub === undefined ? undefined : arity[sub];
    if (!wanted) {
      throw new AnvilError('cli.bad-arguments', sub === undefined ? 'name a subcommand: list, browse, connect or disconnect' : `unknown subcommand "${sub}"`, { hint: USAGE });
    }
    if (rest.length < wanted[0] || rest.length > wanted[1]) throw new AnvilError('cli.bad-arguments', `\`anvil peers ${sub}\` takes ${wanted[0] === wanted[1] ? wanted[0] : `${wanted[0]} or ${wanted[1]}`} argument${wanted[1] === 1 ? '' : 's'}`, { hint: USAGE });
    const page = values['page'] === undefined ? 1 : Number(values['page']);
    if (!Number.isSafeInteger(page) || page < 1) throw new AnvilError('cli.bad-arguments', `--page ${String(values['page'])} is not a page number`);

    const forges = knownForges(values, io);
    if (sub === 'browse') return browse(knownForgeNamed(forges, rest[0]!), rest[1], page, json, io);
    const store = await openForgeStore(values, io.cwd);
    try {
      if (sub === 'list') {
        const connections = await listPeerConnections(store.db, forges);
        if (json) {
          io.out(JSON.stringify({ forges: forges.map((f) => ({ name: f.name, url: f.url, tokenEnv: f.tokenEnv })), connections }, null, 2));
          return EXIT_OK;
        }
        if (forges.length === 0) io.err(`no known forge: add knownForges to ${FORGE_CONFIG_FILE}`);
        else for (const line of textTable(['FORGE', 'URL', 'TOKEN FROM'], forges.map((f) => [f.name, f.url, `$${f.tokenEnv}`]))) io.out(line);
        if (connections.length === 0) io.err('no connected project (anvil peers connect <forge> <project>)');
        else {
          io.out('');
          for (const line of textTable(['CONNECTED', 'SINCE', 'BY'], connections.map((c) => [`${c.source}${c.known ? '' : ' (forge no longer known)'}`, shortTime(c.connectedAt), c.actor]))) io.out(line);
        }
        return EXIT_OK;
      }
      const [forgeName, project] = rest as [string, string];
      if (sub === 'connect') {
        const forge = knownForgeNamed(forges, forgeName);
        const { connection, already } = await connectPeerProject(store.db, peerClient(forge), { project, actor: 'cli' });
        if (json) io.out(JSON.stringify({ ok: true, connection, already }, null, 2));
        else io.out(already ? `${connection.source} was already connected` : `connected ${connection.source} (read-only: shown from the peer, never copied)`);
        return EXIT_OK;
      }
      await disconnectPeerProject(store.db, { forge: forgeName, project, actor: 'cli' });
      if (json) io.out(JSON.stringify({ ok: true }, null, 2));
      else io.out(`disconnected ${forgeName} / ${project}`);
      return EXIT_OK;
    } finally {
      await store.close();
    }
  },
};

function knownForges(values: Record<string, unknown>, io: CliIO): KnownForge[] {
  const file = path.resolve(io.cwd, (values['config'] as string | undefined) ?? FORGE_CONFIG_FILE);
  const read = readKnownForges(file);
  for (const p of read.problems) io.err(formatProblem(p));
  if (!read.forges) throw new AnvilError('forge-config.invalid', `the forge configuration ${file} has problems (above)`, { file });
  return read.forges;
}

async function browse(forge: KnownForge, project: string | undefined, page: number, json: boolean, io: CliIO): Promise<number> {
  const peer = peerClient(forge, { cacheMs: 0 });
  if (project === undefined) {
    const answer = await peer.projects();
    if (json) io.out(JSON.stringify(answer, null, 2));
    else if (answer.projects.length === 0) io.err(`forge "${forge.name}" shows this forge no project`);
    else for (const line of textTable(['PROJECT', 'RELEASED SETS'], answer.projects.map((p) => [p.name, String(p.releasedSets)]))) io.out(line);
    return EXIT_OK;
  }
  const answer = await peer.sets(project, page);
  if (json) {
    io.out(JSON.stringify({ forge: forge.name, ...answer }, null, 2));
    return EXIT_OK;
  }
  if (answer.sets.length === 0) {
    io.err(`${forge.name} / ${project} has no set yet`);
    return EXIT_OK;
  }
  for (const line of textTable(['SET', 'PROMPTS', 'LATEST', 'UPDATED'], answer.sets.map((s) => [s.name, s.prompts === null ? '—' : String(s.prompts), s.latest?.version ?? '—', shortTime(s.updatedAt)]))) io.out(line);
  if (answer.paging.pages > 1) io.err(`page ${answer.paging.page} of ${answer.paging.pages} (${answer.paging.total} sets): --page <n>`);
  return EXIT_OK;
}
