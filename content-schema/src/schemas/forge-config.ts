/**
 * `anvil-forge.yaml`: a forge's configuration (issue 5). Twelve-factor: the file holds what is
 * not secret; every secret (webhook secrets, the admin token) is named here only by the
 * environment variable that holds it, and the data dir, port and public URL can be overridden
 * from the environment.
 */
import { Type, type Static } from '@sinclair/typebox';
import { LIMITS, ProjectName, SecretFromEnv, StringEnum, schemaHeader } from './common.ts';

export const FORGE_CONFIG_FILE = 'anvil-forge.yaml';
export const PROVIDERS = ['github', 'git'] as const;

const EnvRef = (variable: string, defaultEnv?: string) =>
  SecretFromEnv({ title: 'Secret from the environment', description: `${variable} The secret itself is never written in this file.`, variable, ...(defaultEnv ? { defaultEnv } : {}) });

export const ForgeProjectSchema = Type.Object(
  {
    name: ProjectName({ title: 'Project', description: 'The project name receivers and tokens use.' }),
    remote: Type.String({
      minLength: 1,
      maxLength: LIMITS.url,
      title: 'Remote',
      description: 'The prompt repository: any git URL, or a local path (relative to this file).',
      examples: ['https://github.com/acme/prompts.git', '../prompts'],
    }),
    provider: Type.Optional(StringEnum(PROVIDERS, {
      title: 'Provider',
      description: '"github" (webhooks at /webhooks/github, pull request review) or "git" (any remote; /webhooks/git via `anvil hook install`).',
      default: 'git',
    })),
    github: Type.Optional(Type.Object(
      {
        repository: Type.String({
          pattern: '^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$',
          maxLength: LIMITS.shortText,
          patternErrorMessage: 'owner/repo, as in the repository\'s GitHub URL.',
          title: 'Repository',
          description: 'owner/repo on GitHub; webhooks are matched to the project by it.',
        }),
        apiUrl: Type.Optional(Type.String({
          minLength: 1,
          maxLength: LIMITS.url,
          title: 'API URL',
          description: 'GitHub\'s REST API: https://api.github.com, or https://<host>/api/v3 for GitHub Enterprise Server.',
          default: 'https://api.github.com',
        })),
        token: Type.Optional(EnvRef('The environment variable holding a token (fine-grained or classic) the forge posts checks, statuses and comments with, and reads reviews with.', 'GITHUB_TOKEN')),
        app: Type.Optional(Type.Object(
          {
            appId: Type.Integer({ minimum: 1, title: 'App ID', description: 'The GitHub App\'s id (its settings page).' }),
            installationId: Type.Integer({ minimum: 1, title: 'Installation ID', description: 'The app\'s installation on the repository\'s account.' }),
            privateKey: EnvRef('The environment variable holding the app\'s private key (PEM).', 'ANVIL_GITHUB_APP_PRIVATE_KEY'),
          },
          { additionalProperties: false, title: 'GitHub App', description: 'Authenticate as a GitHub App installation (short-lived installation tokens) instead of with a token.' },
        )),
      },
      { additionalProperties: false, title: 'GitHub', description: 'For provider "github".' },
    )),
    defaultBranch: Type.Optional(Type.String({ minLength: 1, maxLength: LIMITS.shortText, title: 'Default branch', description: 'Overrides anvil.yaml `defaultBranch` and the remote\'s HEAD.' })),
    webhookSecret: Type.Optional(EnvRef('The environment variable holding this project\'s webhook secret (GitHub\'s, or the git hook\'s HMAC key).')),
  },
  { additionalProperties: false, title: 'Project' },
);

/** Another forge whose projects this one may browse and connect read-only (issue 17, forge peering). */
export const KnownForgeSchema = Type.Object(
  {
    name: ProjectName({ title: 'Name', description: 'What this forge calls the peer: connected projects are listed as `<name> / <project>`.' }),
    url: Type.String({
      minLength: 1,
      maxLength: LIMITS.url,
      pattern: '^https?://[^\\s/?#]+(/[^\\s?#]*)?$',
      patternErrorMessage: 'The peer forge\'s base URL, http(s) without a query, e.g. "https://anvil.partner.example".',
      title: 'URL',
      description: 'The peer forge\'s base URL (its /api/v1 is under it).',
      examples: ['https://anvil.partner.example'],
    }),
    token: EnvRef('The environment variable holding the access token the peer made for this forge, read-only (`anvil token create --project <p> --scope read` on the peer).'),
  },
  { additionalProperties: false, title: 'Known forge' },
);

export const ForgeConfigSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String({ maxLength: LIMITS.url, title: 'Schema', description: 'The JSON Schema of this file, for editors.' })),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: LIMITS.shortText, title: 'Name', description: 'The forge\'s name, as envelopes and /.well-known/anvil.json carry it.', default: 'anvil-forge' })),
    dataDir: Type.Optional(Type.String({ minLength: 1, maxLength: 1_024, title: 'Data dir', description: 'Mirrors, the store and the signing keys, relative to this file. Env: ANVIL_DATA_DIR.', default: './anvil-data' })),
    database: Type.Optional(Type.String({
      minLength: 1,
      maxLength: LIMITS.url,
      title: 'Database',
      description: 'The store on PostgreSQL, shared by every replica of this forge: a postgres:// URL without a password (give that in PGPASSWORD, or the whole URL in DATABASE_URL). Absent: SQLite at <dataDir>/forge.db. Env: DATABASE_URL.',
      examples: ['postgres://anvil@db.internal:5432/anvil'],
    })),
    port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65_535, title: 'Port', description: 'HTTP port (0: any free port). Env: PORT.', default: 8080 })),
    host: Type.Optional(Type.String({ minLength: 1, maxLength: LIMITS.shortText, title: 'Host', description: 'Interface to listen on.', default: '127.0.0.1' })),
    publicUrl: Type.Optional(Type.String({ minLength: 1, maxLength: LIMITS.url, title: 'Public URL', description: 'Where receivers and hooks reach the forge. Env: ANVIL_PUBLIC_URL. Default: http://<host>:<port>.' })),
    keyRotationGraceDays: Type.Optional(Type.Integer({ minimum: 0, maximum: 365, title: 'Key rotation grace', description: 'Days a retired signing key stays published (and trusted) after `anvil keys rotate`.', default: 7 })),
    adminToken: Type.Optional(EnvRef('The environment variable holding the admin token (the admin API).', 'ANVIL_ADMIN_TOKEN')),
    pushTargets: Type.Optional(Type.Object(
      {
        allowPrivateNetworks: Type.Optional(Type.Boolean({
          title: 'Allow private networks',
          description: 'Also push to loopback (127.0.0.0/8, ::1, localhost), private (10/8, 172.16/12, 192.168/16, fc00::/7) and shared (100.64/10) addresses: for local development (`anvil dev` sets it) or receivers on the forge\'s own private network. Link-local and cloud metadata addresses, and the forge itself, stay refused.',
          default: false,
        })),
      },
      {
        additionalProperties: false,
        title: 'Push targets',
        description: 'Where the forge pushes envelopes to. Any project token can register a push URL, so by default only public addresses are pushed to, checked on the address each push connects to.',
      },
    )),
    streams: Type.Optional(Type.Object(
      {
        maxPerToken: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, title: 'Streams per token', description: 'Open streams one access token may hold on this replica; more are answered 429.', default: 5_000 })),
        maxPerProject: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, title: 'Streams per project', description: 'Open streams of one project on this replica; more are answered 429.', default: 20_000 })),
        keepAliveSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 300, title: 'Keep-alive', description: 'A comment is written on every stream this often, so that proxies and the receiver see it alive; keep it below your load balancer\'s idle timeout.', default: 15 })),
      },
      {
        additionalProperties: false,
        title: 'Streams',
        description: 'Limits of streaming receivers\' outbound streams (`transport: stream`), per replica: each open stream is one connection this replica holds.',
      },
    )),
    knownForges: Type.Optional(Type.Array(KnownForgeSchema, {
      maxItems: 100,
      title: 'Known forges',
      description: 'Other forges whose projects can be browsed and connected read-only from this one: listed with their source, never copied, rendered by the peer on demand.',
    })),
    usage: Type.Optional(Type.Object(
      {
        rawRetentionHours: Type.Optional(Type.Number({ minimum: 0, maximum: 24 * 90, title: 'Raw events kept', description: 'Hours the raw usage events are kept beside the per-minute aggregates (0: only the aggregates).', default: 24 })),
        eventsPerSecond: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000_000, title: 'Events per second', description: 'Usage events one project may send per second, sustained; more are answered 429.', default: 20_000 })),
        eventsBurst: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000_000, title: 'Burst', description: 'Usage events one project may send in a burst above that rate.', default: 200_000 })),
      },
      { additionalProperties: false, title: 'Usage metrics', description: 'How the forge takes and keeps the usage metrics apps report (`anvil.reportMetrics`).' },
    )),
    projects: Type.Array(ForgeProjectSchema, { minItems: 1, maxItems: 1_000, title: 'Projects', description: 'The prompt repositories this forge serves.' }),
  },
  { additionalProperties: false, ...schemaHeader('forge-config.schema.json'), title: 'Anvil forge configuration', description: 'anvil-forge.yaml: what `anvil serve` serves.' },
);

export type ForgeConfig = Static<typeof ForgeConfigSchema>;
export type ForgeProjectConfig = Static<typeof ForgeProjectSchema>;
export type KnownForgeConfig = Static<typeof KnownForgeSchema>;
export type ForgePushTargetsConfig = NonNullable<ForgeConfig['pushTargets']>;
