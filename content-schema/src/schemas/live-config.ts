/**
 * `anvil-live.json`: how an app's LIVE receiver connects to its forge (DESIGN §7, §8), written
 * by `anvil-live connect` and read by `anvil-live install | sync | mode | status` and by
 * `createClientFromConfig()`. The access token is a secret, so the file only names the
 * environment variable that holds it.
 */
import { Type, type Static } from '@sinclair/typebox';
import { ChannelName, LIMITS, MapOf, ProjectName, SecretFromEnv, SemverRange, SetName, StringEnum, schemaHeader } from './common.ts';
export { ENV_NAME_PATTERN } from './common.ts';
import { RECEIVER_TRANSPORTS } from './receiver-registration.ts';
import { ForgeKeys, RECEPTION_MODES } from './receiver-state.ts';

export const LIVE_CONFIG_FILE = 'anvil-live.json';
export const DEFAULT_TOKEN_ENV = 'ANVIL_TOKEN';
export const DEFAULT_LIVE_CACHE_DIR = '.anvil-cache';

export const LiveConfigSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String({ maxLength: LIMITS.url, title: 'Schema', description: 'The JSON Schema of this file, for editors.' })),
    forge: Type.String({
      minLength: 1,
      maxLength: LIMITS.url,
      title: 'Forge',
      description: 'Base URL of the forge (http or https), e.g. "https://anvil.example.com".',
      examples: ['https://anvil.example.com'],
    }),
    project: ProjectName({ title: 'Project', description: 'The forge project whose prompt sets this app uses.' }),
    channel: ChannelName({ description: 'What this app accepts: "production", "staging" or "development".' }),
    mode: Type.Optional(
      StringEnum(RECEPTION_MODES, {
        title: 'Reception mode',
        description: 'The mode on first start: "accepting" applies pushes, "frozen" changes only on a manual sync. Afterwards the mode kept in the cache wins (`anvil-live mode`).',
        default: 'accepting',
      }),
    ),
    transport: Type.Optional(
      StringEnum(RECEIVER_TRANSPORTS, {
        title: 'Transport',
        description: 'How updates reach the app: "push" (the forge POSTs them to the app\'s receiver endpoint) or "stream" (the app opens an outbound stream to the forge: for apps with no inbound port, in Kubernetes, behind NAT, serverless).',
        default: 'push',
      }),
    ),
    cacheDir: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 1_024,
        title: 'Cache folder',
        description: 'Where the receiver keeps bundles and its state, relative to this file.',
        default: DEFAULT_LIVE_CACHE_DIR,
      }),
    ),
    sets: Type.Optional(
      MapOf(SetName(), SemverRange({ title: 'Version range', description: 'A semver range over the set\'s releases, e.g. "^1.2.0".' }), {
        maxProperties: LIMITS.lockedSets,
        title: 'Sets',
        description: 'The prompt sets this app serves, each with a semver range. `anvil-live install` locks them in anvil.lock.json; dependencies come along.',
        default: {},
      }),
    ),
    types: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 1_024,
        title: 'Prompt types',
        description: 'The declarations `anvil types` wrote for this app, relative to this file: what `anvil-live check` compares with the versions it would be served. Default: src/anvil-prompts.d.ts.',
        examples: ['src/anvil-prompts.d.ts'],
      }),
    ),
    forgeKeys: ForgeKeys('Key id → base64 Ed25519 public key: the forge keys pinned by `anvil-live connect`. Only bundles they signed are served.'),
    token: Type.Optional(
      SecretFromEnv({
        title: 'Access token',
        description: 'Where the access token is read from. The token itself is a secret and is never written here.',
        variable: 'The environment variable that holds the project access token.',
        defaultEnv: DEFAULT_TOKEN_ENV,
      }),
    ),
  },
  {
    ...schemaHeader('live-config.schema.json'),
    title: 'Anvil LIVE receiver config (anvil-live.json)',
    description: 'How an app connects to its forge: forge, project, channel, mode, transport, cache folder, sets with ranges, pinned forge keys, and where the token is read from.',
    additionalProperties: false,
  },
);

/** `anvil-live.json` as written. */
export type LiveConfig = Static<typeof LiveConfigSchema>;

/** `anvil-live.json` after validation: defaults filled in. */
export type ResolvedLiveConfig = LiveConfig & Required<Pick<LiveConfig, 'mode' | 'cacheDir' | 'sets' | 'token'>>;
