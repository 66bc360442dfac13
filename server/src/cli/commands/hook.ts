import path from 'node:path';
import { AnvilError } from '@anvil/content-schema';
import { DEFAULT_SECRET_ENV, installHook, SECRET_CONFIG_KEY } from '../../webhooks/install-hook.ts';
import { EXIT_OK } from '../cli-io.ts';
import type { Command } from '../command.ts';

export const hookCommand: Command = {
  name: 'hook',
  usage: 'anvil hook install <bare-repo> --forge <url> --project <name> [--secret-env <VAR>] [--force] [--json]',
  help: [
    'Writes hooks/post-receive into a bare repository (the one people push to). After each push',
    'the hook POSTs the updated branches and tags to <url>/webhooks/git, signed with HMAC-SHA256.',
    'It is a small Node script: the git server needs only git and Node ≥ 18. If the forge cannot',
    'be reached the pusher sees one warning line; the push itself never fails or waits long (5 s).',
    '',
    'Options:',
    '  --forge <url>       the forge\'s public URL, e.g. https://forge.example.com',
    '  --project <name>    the project\'s name in the forge configuration',
    `  --secret-env <VAR>  environment variable holding the project's webhook secret (default ${DEFAULT_SECRET_ENV})`,
    '  --force             replace a post-receive hook that is not Anvil\'s (kept as post-receive.before-anvil)',
    '  --json              print what was installed as JSON',
    '',
    'The secret: if <VAR> is set when you run this command, its value is stored in the',
    `repository's git config as ${SECRET_CONFIG_KEY} (in <bare-repo>/config, so keep that file`,
    'readable only by the accounts that push). When the hook runs it uses $<VAR> if set, else',
    `\`git config ${SECRET_CONFIG_KEY}\`. Set it later with \`git -C <bare-repo> config ${SECRET_CONFIG_KEY} <secret>\`.`,
    '',
    'Running it again updates Anvil\'s hook in place. Exit codes: 0 installed, 1 refused (not a bare',
    'repository, a foreign hook without --force, a bad option), 2 a bug.',
    '',
    'Example:',
    '  ANVIL_WEBHOOK_SECRET=… anvil hook install /srv/git/prompts.git --forge https://forge.example.com --project acme',
  ].join('\n'),
  options: {
    forge: { type: 'string' },
    project: { type: 'string' },
    'secret-env': { type: 'string' },
    force: { type: 'boolean' },
    json: { type: 'boolean' },
  },
  async run({ values, positionals }, io) {
    const [sub, repo, ...extra] = positionals;
    if (sub !== 'install') {
      throw new AnvilError('cli.bad-arguments', sub === undefined ? 'anvil hook needs a subcommand' : `unknown subcommand "hook ${sub}"`, { hint: this.usage });
    }
    if (repo === undefined || extra.length > 0) throw new AnvilError('cli.bad-arguments', 'name one bare repository', { hint: this.usage });
    const forge = values['forge'] as string | undefined;
    const project = values['project'] as string | undefined;
    if (!forge || !project) throw new AnvilError('cli.bad-arguments', `--${forge ? 'project' : 'forge'} is required`, { hint: this.usage });
    const secretEnv = (values['secret-env'] as string | undefined) ?? DEFAULT_SECRET_ENV;

    const installed = await installHook({
      repo: path.resolve(io.cwd, repo), forge, project, secretEnv,
      secret: process.env[secretEnv],
      force: values['force'] === true,
    });

    if (values['json']) {
      io.out(JSON.stringify({ ok: true, ...installed }, null, 2));
      return EXIT_OK;
    }
    if (installed.replaced) io.out(`moved the existing hook to ${installed.replaced}`);
    io.out(`installed ${installed.hook}: pushes notify ${installed.forge}/webhooks/git for project ${installed.project}`);
    if (installed.secret === 'git-config') io.out(`secret: git config ${SECRET_CONFIG_KEY} (or $${installed.secretEnv} when the hook runs)`);
    else if (installed.secret === 'env') io.out(`secret: $${installed.secretEnv} when the hook runs; it is not stored in the repository`);
    else io.err(`anvil: warning: no secret yet; set $${installed.secretEnv} for the git server, or run \`git -C ${repo} config ${SECRET_CONFIG_KEY} <secret>\`; until then the hook warns and the forge is not told`);
    return EXIT_OK;
  },
};
