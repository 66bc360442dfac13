import { access } from 'node:fs/promises';
import path from 'node:path';
import {
  AnvilError,
  CHANNELS,
  DEFAULT_LIVE_CACHE_DIR,
  DEFAULT_TOKEN_ENV,
  ENV_NAME_PATTERN,
  RECEIVER_TRANSPORTS,
  RECEPTION_MODES,
  SCHEMA_BASE_URL,
  findSetNameProblem,
  isAliasName,
  isVersionRange,
  type ReceiverTransport,
  type ResolvedLiveConfig,
} from '@anvil/content-schema';
import { liveConfigPath, loadLiveConfig, writeLiveConfig } from '../../config/live-config.ts';
import { forgeApi } from '../../sync/forge-api.ts';
import { colour, EXIT_OK, type LiveCliIO } from '../cli-io.ts';
import { CONFIG_HELP, CONFIG_OPTION, type LiveCommand } from '../command.ts';

const USAGE = 'anvil-live connect [--forge <url>] [--project <name>] [--token <token>] [--channel <channel>] [--mode <mode>] [--transport <transport>] [--cache-dir <dir>] [--set <set@range>]… [--yes] [--json]';

/** One question of the wizard: its flag, how to ask, and what a valid answer is. */
interface Question {
  flag: string;
  prompt: string;
  fallback?: string | undefined;
  secret?: boolean;
  /** Why `value` is not acceptable, or undefined when it is. */
  problem(value: string): string | undefined;
}

export const connectCommand: LiveCommand = {
  name: 'connect',
  usage: USAGE,
  help: [
    'Options (each answers one question of the wizard; at a terminal, missing ones are asked):',
    '  --forge <url>        the forge\'s base URL, e.g. https://anvil.example.com',
    '  --project <name>     the forge project whose prompt sets this app uses',
    '  --token <token>      the project access token (default: $ANVIL_TOKEN); checked, never written',
    '  --token-env <name>   the environment variable the app reads the token from (default: ANVIL_TOKEN)',
    '  --channel <channel>  production, staging or development',
    '  --mode <mode>        accepting (apply pushes) or frozen (manual sync only); default accepting',
    '  --transport <t>      push (the forge POSTs to the app; default) or stream (the app opens an',
    '                       outbound stream: no inbound port needed); not asked, kept from the old config',
    `  --cache-dir <dir>    where bundles are kept, relative to the config (default: ${DEFAULT_LIVE_CACHE_DIR})`,
    '  --set <set@range>    a set to serve with its semver range, e.g. onboarding@^1.2.0 (repeatable;',
    '                       default: the sets of the existing config)',
    '  --yes                overwrite an existing config without asking',
    '  --json               print {ok, config, keys[], published} as JSON',
    CONFIG_HELP,
    '',
    'Fetches /.well-known/anvil.json and pins every signing key it lists (trust on first use, as',
    'SSH does: check the key ids printed against the forge\'s), then checks the token by asking for',
    'the channel\'s envelope. Without a terminal, a missing --forge, --project, --channel or token',
    'is an error. Next: `anvil-live install`.',
  ].join('\n'),
  options: {
    ...CONFIG_OPTION,
    forge: { type: 'string' },
    project: { type: 'string' },
    token: { type: 'string' },
    'token-env': { type: 'string' },
    channel: { type: 'string' },
    mode: { type: 'string' },
    transport: { type: 'string' },
    'cache-dir': { type: 'string' },
    set: { type: 'string', multiple: true },
    yes: { type: 'boolean' },
    json: { type: 'boolean' },
  },
  async run({ values, positionals }, io) {
    if (positionals.length > 0) throw new AnvilError('cli.bad-arguments', `unexpected argument "${positionals[0]}"`, { hint: `usage: ${USAGE}` });
    const file = liveConfigPath(io.cwd, values['config'] as string | undefined);
    const shown = path.relative(io.cwd, file) || file;
    const previous = await existingConfig(file);
    if (previous && values['yes'] !== true) {
      const overwrite = io.ask ? /^y(es)?$/i.test(await io.ask(`${shown} exists. Overwrite it? [y/N] `)) : false;
      if (!overwrite) {
        throw new AnvilError('connect.exists', `${shown} exists; nothing was written`, { hint: 'pass --yes to overwrite it' });
      }
    }
    const old = previous?.config;

    const forge = (await answer(io, values, {
      flag: 'forge', prompt: 'Forge URL', fallback: old?.forge,
      problem: (v) => (isHttpUrl(v) ? undefined : `"${v}" is not an http(s) URL`),
    })).replace(/\/+$/, '');
    const project = await answer(io, values, {
      flag: 'project', prompt: 'Project', fallback: old?.project,
      problem: (v) => findSetNameProblem(v)?.message.replace('set name', 'project name'),
    });
    const tokenEnv = (values['token-env'] as string | undefined) ?? old?.token.env ?? DEFAULT_TOKEN_ENV;
    if (!new RegExp(ENV_NAME_PATTERN).test(tokenEnv)) {
      throw new AnvilError('connect.bad-value', `--token-env: "${tokenEnv}" is not an environment variable name`);
    }
    // A token in the environment counts as given: it is not asked for.
    const token = await answer(io, { token: values['token'] ?? (io.env[tokenEnv] || undefined) }, {
      flag: 'token', prompt: 'Access token (input hidden)', secret: true,
      problem: (v) => (/^\S+$/.test(v) ? undefined : 'a token has no spaces'),
    }, `--token, or set ${tokenEnv}`);
    const channel = await answer(io, values, {
      flag: 'channel', prompt: `Channel (${CHANNELS.join(' | ')})`, fallback: old?.channel,
      problem: (v) => ((CHANNELS as readonly string[]).includes(v) ? undefined : `"${v}" is not a channel: ${CHANNELS.join(', ')}`),
    }) as ResolvedLiveConfig['channel'];
    const mode = await answer(io, values, {
      flag: 'mode', prompt: `Reception mode (${RECEPTION_MODES.join(' | ')})`, fallback: old?.mode ?? 'accepting',
      problem: (v) => ((RECEPTION_MODES as readonly string[]).includes(v) ? undefined : `"${v}" is not a mode: ${RECEPTION_MODES.join(', ')}`),
    }) as ResolvedLiveConfig['mode'];
    const transport = (values['transport'] as string | undefined) ?? old?.transport;
    if (transport !== undefined && !(RECEIVER_TRANSPORTS as readonly string[]).includes(transport)) {
      throw new AnvilError('connect.bad-value', `--transport: "${transport}" is not a transport: ${RECEIVER_TRANSPORTS.join(', ')}`);
    }
    const cacheDir = await answer(io, values, {
      flag: 'cache-dir', prompt: 'Cache folder (relative to the config)', fallback: old?.cacheDir ?? DEFAULT_LIVE_CACHE_DIR,
      problem: (v) => (v.trim() ? undefined : 'empty'),
    });
    const sets = values['set'] === undefined ? { ...(old?.sets ?? {}) } : parseSets(values['set'] as string[]);

    const api = forgeApi({ forge, project, token });
    const wellKnown = await api.wellKnown().catch((err: unknown) => {
      throw new AnvilError('connect.no-forge', `${forge} does not answer as an Anvil forge: ${(err as Error).message}`, {
        hint: 'check the URL: /.well-known/anvil.json must list the forge\'s keys', cause: err,
      });
    });
    const keys = Array.isArray(wellKnown?.keys) ? wellKnown.keys.filter((k) => typeof k?.keyId === 'string' && typeof k.publicKey === 'string') : [];
    if (keys.length === 0) throw new AnvilError('connect.no-keys', `the forge at ${forge} publishes no signing key`, { hint: 'the forge must list its keys in /.well-known/anvil.json' });

    let published = true;
    try {
      await api.envelope(channel);
    } catch (err) {
      const code = (err as AnvilError).code;
      if (code === 'forge.unauthorized') {
        throw new AnvilError('connect.token', `the forge refused the token for project ${project}: ${(err as Error).message}`, {
          hint: `check the access token (anvil token create --project ${project}); nothing was written`, cause: err,
        });
      }
      if (code !== 'forge.not-found') throw err;
      published = false;
    }

    const config: ResolvedLiveConfig = {
      $schema: `${SCHEMA_BASE_URL}live-config.schema.json`,
      forge, project, channel, mode, ...(transport !== undefined ? { transport: transport as ReceiverTransport } : {}), cacheDir, sets,
      forgeKeys: Object.fromEntries(keys.map((k) => [k.keyId, k.publicKey])),
      token: { env: tokenEnv },
    };
    await writeLiveConfig(file, config);

    if (values['json']) {
      io.out(JSON.stringify({ ok: true, config: file, keys: keys.map((k) => k.keyId), published }, null, 2));
      return EXIT_OK;
    }
    io.out(`${colour(io, 32, 'connected')} to ${project} at ${forge} (${channel}, ${mode}${transport === 'stream' ? ', streaming' : ''})`);
    for (const k of keys) io.out(`  pinned forge key ${k.keyId}${k.status ? ` (${k.status})` : ''}`);
    io.out(published ? `  token accepted; ${channel} has content` : `  token accepted; nothing published on ${channel} yet`);
    io.out(`wrote ${shown} (the token is read from $${tokenEnv}, never written)`);
    io.out(Object.keys(sets).length > 0 ? 'next: anvil-live install' : 'next: add sets with ranges to "sets" in the config, then run anvil-live install');
    return EXIT_OK;
  },
};

async function existingConfig(file: string) {
  try {
    await access(file);
  } catch {
    return undefined;
  }
  // An unreadable old config still counts as existing, but gives no defaults.
  return { config: await loadLiveConfig(file).then((l) => l.config, () => undefined) };
}

/** A flag's value, else (at a terminal) the person's answer, else the fallback; checked. */
async function answer(io: LiveCliIO, values: Record<string, unknown>, q: Question, needs = `--${q.flag}`): Promise<string> {
  const given = values[q.flag] as string | undefined;
  if (given !== undefined) {
    const problem = q.problem(given);
    if (problem) throw new AnvilError('connect.bad-value', `--${q.flag}: ${problem}`);
    return given;
  }
  if (!io.ask) {
    if (q.fallback !== undefined) return q.fallback;
    throw new AnvilError('connect.missing', `${needs} is required when there is no terminal to ask`, { hint: `pass ${needs}; \`anvil-live connect --help\` lists every flag` });
  }
  for (;;) {
    const shownDefault = q.fallback !== undefined && !q.secret ? ` [${q.fallback}]` : '';
    const reply = (await io.ask(`${q.prompt}${shownDefault}: `, q.secret ? { secret: true } : {})) || q.fallback;
    if (reply === undefined) {
      io.err('  an answer is needed');
      continue;
    }
    const problem = q.problem(reply);
    if (!problem) return reply;
    io.err(`  ${problem}`);
  }
}

/** `--set onboarding@^1.2.0` (or `onboarding=^1.2.0`) → `{onboarding: '^1.2.0'}`. */
function parseSets(specs: string[]): Record<string, string> {
  const sets: Record<string, string> = {};
  for (const spec of specs) {
    const match = /^([^@=\s]+)[@=](.+)$/.exec(spec.trim());
    const name = match?.[1];
    const range = match?.[2]?.trim();
    if (!name || !range) throw new AnvilError('connect.bad-value', `--set ${spec}: expected <set>@<range>, e.g. onboarding@^1.2.0`);
    const problem = findSetNameProblem(name);
    if (problem) throw new AnvilError('connect.bad-value', `--set ${spec}: ${problem.message}`);
    if (!isVersionRange(range) && !isAliasName(range)) throw new AnvilError('connect.bad-value', `--set ${spec}: "${range}" is not a semver range or an alias`, { hint: 'e.g. "^1.2.0", "~1.4", ">=1.2 <2", or an alias of the set such as "stable"' });
    sets[name] = range;
  }
  return sets;
}

function isHttpUrl(text: string): boolean {
  if (!URL.canParse(text)) return false;
  const { protocol } = new URL(text);
  return protocol === 'https:' || protocol === 'http:';
}
