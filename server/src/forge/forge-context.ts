/**
 * What every part of a running forge shares: the store, the signing keys, the configuration,
 * logs and metrics. Created once by `startForge` (serve.ts); tests build their own.
 */
import type { SigningKey } from '@anvil/content-schema';
import type { Store } from '../store/open-store.ts';
import type { StoreEvents } from '../store/store-events.ts';
import type { Logger } from './logger.ts';
import type { ForgeMetrics } from './metrics.ts';
import type { UsageSettings } from '../metrics/usage-settings.ts';
import type { KnownForge } from '../peers/known-forge.ts';

export interface ForgeProject {
  name: string;
  /** Any git URL, a local path included. */
  remote: string;
  provider: 'github' | 'git';
  /** `owner/repo` on GitHub, to match webhook payloads to the project. */
  githubRepository?: string | undefined;
  /** Shared secret of the project's webhooks (GitHub's, or the git hook's HMAC). */
  webhookSecret: string;
  /**
   * How the forge reaches GitHub's REST API for this project (checks, statuses, the review
   * comment, approvals). Absent: nothing is posted and no approval can be confirmed, so
   * `review` and `locked` sets publish only from releases, as with a plain git remote.
   */
  github?: GitHubAccess | undefined;
}

export interface GitHubAccess {
  /** `https://api.github.com`, or a GitHub Enterprise Server's `/api/v3`. */
  apiUrl: string;
  auth: { kind: 'token'; token: string } | { kind: 'app'; appId: number; installationId: number; privateKey: string };
}

export interface ForgeKeyring {
  /** The key that signs now. */
  active: SigningKey;
  /**
   * Every key that signs: the active one and those retiring within their grace period, so that
   * receivers that pinned an old key keep verifying until they have fetched the new one.
   */
  signers: readonly SigningKey[];
  /** Every key receivers may still trust: the active one and retired ones within their grace period. */
  published(): { keyId: string; publicKey: string; status: 'active' | 'retiring'; retiresAt?: string }[];
}

/** Which addresses the forge pushes to (issue 14; `pushTargets` in anvil-forge.yaml). */
export interface PushTargetPolicy {
  /**
   * Loopback, private and shared (CGNAT) addresses are pushed to as well: local development, or
   * receivers on the forge's own private network. Link-local and metadata addresses never are.
   */
  allowPrivateNetworks: boolean;
}

/** Streaming receivers' outbound streams (issue 16; deliver/stream-hub.ts), per replica. */
export interface StreamSettings {
  /** Open streams one access token may hold (default 5,000); more are answered 429. */
  maxPerToken?: number | undefined;
  /** Open streams of one project (default 20,000). */
  maxPerProject?: number | undefined;
  /** A comment is written on every stream this often, so that proxies and the receiver see it alive (default 15 s). */
  keepAliveMs?: number | undefined;
  /** How often the tokens of open streams are checked, so that a revoked one ends its streams (default 1 s). */
  revocationCheckMs?: number | undefined;
}

/** Every address a host name resolves to now (dns.lookup with `all`; tests inject their own). */
export type HostResolver = (hostname: string) => Promise<readonly { address: string; family: number }[]>;

export interface PushTargets extends PushTargetPolicy {
  /** The socket the forge listens on (startForge fills it in): never a push target. */
  listening?: { address: string; port: number } | undefined;
  /** How push hosts are resolved at push time (default: dns.lookup, every address). */
  resolve?: HostResolver | undefined;
}

export interface ForgeContext {
  name: string;
  /** Where receivers and hooks reach this forge (no trailing slash). */
  publicUrl: string;
  dataDir: string;
  projects: Map<string, ForgeProject>;
  db: Store;
  /**
   * Events between the replicas that share `db` (store-events.ts): publish on a channel after a
   * change is committed, and every replica's subscribers hear of it — PostgreSQL LISTEN/NOTIFY,
   * or in-process on SQLite. At most once: a subscriber catches up from the store on `onMissed`.
   */
  events: StoreEvents;
  keys: ForgeKeyring;
  /** Seals and opens the receivers' push tokens (AES-256-GCM with the forge's secret). */
  secrets: { seal(plain: string): string; open(sealed: string): string };
  adminToken?: string | undefined;
  logger: Logger;
  metrics: ForgeMetrics;
  /** Limits and timing of streaming receivers' streams; absent: the defaults. */
  streams?: StreamSettings | undefined;
  /** Where pushes may go; absent: public addresses only (the default of anvil-forge.yaml). */
  pushTargets?: PushTargets | undefined;
  /** How the forge talks to GitHub (tests turn GitHub's one-second spacing of writes off). */
  github?: { spaceWrites?: boolean; rateLimitRetries?: number; retryBaseMs?: number } | undefined;
  /** How usage metrics are taken and kept (issue 17); absent: the defaults. */
  usage?: UsageSettings | undefined;
  /** Peer forges whose projects may be browsed and connected read-only (`knownForges`, issue 17); absent: none. */
  knownForges?: readonly KnownForge[] | undefined;
  /**
   * Projects whose first sync since this start has not ended yet (`GET /readyz` answers 503 while
   * any is left); absent: nothing to wait for.
   */
  unsynced?: Set<string> | undefined;
}
