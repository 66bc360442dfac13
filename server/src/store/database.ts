/**
 * The forge's tables as Kysely sees them (DESIGN.md §10). Timestamps are ISO-8601 text and JSON
 * columns are text, so that the same schema and queries run on SQLite (the embedded default)
 * and PostgreSQL. Migrations in `migrations/` create exactly these columns.
 */
import type { Generated, Insertable, Selectable, Updateable } from 'kysely';

export interface ProjectTable {
  name: string;
  remote: string;
  provider: 'github' | 'git';
  created_at: string;
}

export interface AccessTokenTable {
  id: string;
  project: string;
  /** The first characters of the token, shown to recognise it. Not a secret on its own. */
  prefix: string;
  /** SHA-256 (hex) of the whole token; the token itself is never stored. */
  hash: string;
  label: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

export interface ReceiverTable {
  project: string;
  instance_id: string;
  /** Where pushes go; empty for a streaming receiver. */
  url: string;
  channel: string;
  mode: 'accepting' | 'frozen';
  /** JSON: set → semver range. */
  ranges: string;
  /** JSON: set → version the receiver reports it serves. */
  versions: string;
  /**
   * The access token the receiver registered with, sealed (AES-256-GCM with the forge's secret):
   * pushes present it as `Authorization: Bearer …` (DESIGN §8), and the token table keeps only
   * hashes, so this is the one place the forge can get it back from.
   */
  push_token: string;
  /** The access token (id) it registered or last heartbeated with; null for rows from before migration 005 until linked. */
  token_id: string | null;
  /** When that token was revoked: the receiver is also gone, and gets nothing until it registers with a valid token (issue 18). */
  revoked_at: string | null;
  registered_at: string;
  last_seen_at: string;
  /** Set when the receiver left (DELETE) or answered 410. */
  gone_at: string | null;
  last_delivery_at: string | null;
  last_delivery_state: string | null;
  last_delivery_status: number | null;
  last_delivery_code: string | null;
  last_delivery_reason: string | null;
  /** `push`, or `stream`: the receiver holds an outbound stream and has no URL (migration 009, issue 16). */
  transport: Generated<'push' | 'stream'>;
  /** Streaming: the envelope last sent on its stream, and when. */
  stream_sent_envelope: string | null;
  stream_sent_at: string | null;
  /** Streaming: the envelope it last acknowledged, and when (its answer is in `last_delivery_*`). */
  stream_acked_envelope: string | null;
  stream_acked_at: string | null;
}

/** Built bundles, content-addressed by integrity: the same bytes are stored once. */
export interface BundleTable {
  integrity: string;
  project: string;
  set_name: string;
  version: string;
  stage: 'release' | 'head';
  tree: string | null;
  commit: string;
  /** The bundle's canonical JSON, exactly the bytes that were signed. */
  body: string;
  created_at: string;
}

/** What each channel of a project currently serves, per set (only ever moves forward). */
export interface ChannelHeadTable {
  project: string;
  channel: string;
  set_name: string;
  version: string;
  integrity: string;
  updated_at: string;
}

/** A publish: one release or head build sent to some channels. */
export interface PublicationTable {
  id: Generated<number>;
  project: string;
  set_name: string;
  version: string;
  integrity: string;
  /** JSON array of channels. */
  channels: string;
  reason: string;
  created_at: string;
}

/** An envelope serialised once, pushed to many receivers. */
export interface EnvelopeTable {
  id: string;
  project: string;
  channel: string;
  body: string;
  created_at: string;
}

export type DeliveryState = 'pending' | 'delivered' | 'frozen' | 'stale' | 'failed' | 'gone' | 'superseded';

export interface DeliveryTable {
  id: string;
  project: string;
  instance_id: string;
  envelope_id: string;
  set_name: string;
  version: string;
  url: string;
  state: DeliveryState;
  attempts: number;
  next_attempt_at: string;
  lease_owner: string | null;
  lease_until: string | null;
  last_status: number | null;
  last_code: string | null;
  last_reason: string | null;
  created_at: string;
  updated_at: string;
  /** Pushes stop being retried after this instant (DESIGN §8: "up to a day"). */
  expires_at: string;
}

/** Webhook deliveries already taken (GitHub's X-GitHub-Delivery, or the git hook's id). */
export interface WebhookDeliveryTable {
  source: string;
  delivery_id: string;
  event: string;
  received_at: string;
}

/** Release tags as first seen, to refuse a tag that later moves or disappears (DESIGN §5). */
export interface SeenTagTable {
  project: string;
  tag: string;
  target: string;
  first_seen_at: string;
}

/**
 * Pull requests as the forge last judged them (review/review-state.ts): `open` with the approvals
 * at the checked head, or `merged` with the merge commit and, per set, the approvals that count.
 */
export interface ReviewTable {
  project: string;
  pull_number: number;
  head_sha: string;
  base_ref: string;
  state: string;
  merged_commit: string | null;
  /** JSON: approvals and other details. */
  detail: string;
  updated_at: string;
}

export interface BranchHeadTable {
  project: string;
  branch: string;
  commit: string;
  updated_at: string;
  /** The commit when the forge first saw the branch (migration 003; null for rows from before it). */
  baseline_commit: string | null;
}

export interface RolloutTable {
  project: string;
  set_name: string;
  channel: string;
  version: string;
  percent: number;
}

/** Set content (folder tree ids) the forge trusts (migration 006, review/trust-rules.ts). */
export interface TrustedTreeTable {
  project: string;
  set_name: string;
  tree: string;
  source: 'baseline' | 'release' | 'reviewed-merge';
  commit: string;
  created_at: string;
}

// Declaration merging adds the table to `Database` below, keeping this addition in one place.
export interface Database {
  trusted_trees: TrustedTreeTable;
}

/**
 * What the forge decided for a release it processed (migration 004, publish/release-decisions.ts):
 * the channels the policy allowed, or refused with the reason. An admin's override is recorded on
 * the same row.
 */
export interface ReleaseDecisionTable {
  project: string;
  set_name: string;
  version: string;
  tag: string;
  commit: string | null;
  /** The bundle built for the tag; null when the build failed (or for rows filled in from the audit log). */
  integrity: string | null;
  mode: string | null;
  /** JSON array of channels; empty when refused. */
  channels: string;
  /** 1: refused (unreviewed change, lint errors, failed build). */
  refused: number;
  /** The audit kind of the decision (`decision.publish`, `decision.unreviewed-release`, …). */
  audit: string;
  reason: string;
  decided_at: string;
  override_actor: string | null;
  override_reason: string | null;
  overridden_at: string | null;
}

// Declaration merging, as for trusted_trees above.
export interface Database {
  release_decisions: ReleaseDecisionTable;
}

export type GitHubPostState = 'pending' | 'done' | 'failed';

/** A check run, commit status or comment for GitHub, until GitHub took it (migration 003). */
export interface GitHubPostTable {
  id: Generated<number>;
  project: string;
  /** What it shows on GitHub: `check <sha>`, `status <sha> <context>`, `comment <pull>`. */
  key: string;
  kind: 'check' | 'status' | 'comment';
  /** JSON: what to post. */
  payload: string;
  state: GitHubPostState;
  attempts: number;
  next_attempt_at: string;
  /** JSON: what GitHub answered that a later post for the key needs (the check run's or comment's id). */
  result: string | null;
  last_error: string | null;
  created_at: string;
  updated_at: string;
}

export type DashboardRole = 'viewer' | 'publisher' | 'admin';

/**
 * A dashboard session (migration 007, dashboard/dashboard-session.ts): the cookie holds 256
 * random bits; only their SHA-256 is stored, so a copy of the store signs nobody in.
 */
export interface DashboardSessionTable {
  /** SHA-256 (hex) of the session id. */
  id_hash: string;
  role: DashboardRole;
  /** The project a project token's session is confined to; null for the admin's. */
  project: string | null;
  /** The access token (id) it signed in with: revoking the token ends the session. Null for the admin's. */
  token_id: string | null;
  /** Who, for the audit log: `admin` or `token:<prefix>`. */
  actor: string;
  /** The synchronizer token every POST form of this session carries (CSRF). */
  csrf_token: string;
  created_at: string;
  expires_at: string;
}

/** A role granted to a project access token on the dashboard (migration 007); without one it is a viewer. */
export interface DashboardGrantTable {
  token_id: string;
  project: string;
  role: DashboardRole;
  granted_at: string;
  granted_by: string;
}

// Declaration merging, as for trusted_trees above.
export interface Database {
  dashboard_sessions: DashboardSessionTable;
  dashboard_grants: DashboardGrantTable;
}

/**
 * Where review of a set stands on the default branch: `not-needed` (a live set), `reviewed` (its
 * content is trusted), `pending` (changes no approved pull request covered), `no-reviews` (a
 * project without GitHub review, e.g. a plain git remote: its releases are the review).
 */
export type SetReviewState = 'not-needed' | 'reviewed' | 'pending' | 'no-reviews';

/** Each set at the branch head the forge last processed (migration 008, forge/sync-project.ts). */
export interface SetStateTable {
  project: string;
  set_name: string;
  mode: string;
  dir: string;
  branch: string;
  commit: string;
  review: SetReviewState;
  /** JSON array of the commits not reviewed yet, oldest first; empty unless `pending`. */
  unreviewed: string;
  updated_at: string;
}

// Declaration merging, as for trusted_trees above.
export interface Database {
  set_states: SetStateTable;
}

/** anvil.yaml's `aliases` as the forge accepted them from the default branch (migration 011, issue 17). */
export interface AliasTable {
  project: string;
  set_name: string;
  alias: string;
  /** The exact release the alias names. */
  version: string;
  /** The default branch's commit the alias was taken from. */
  commit: string;
  updated_at: string;
}

export interface Database {
  aliases: AliasTable;
}

/** Append-only; each row's `hash` covers its content and the previous row's hash. */
export interface AuditTable {
  seq: Generated<number>;
  at: string;
  project: string | null;
  kind: string;
  subject: string;
  actor: string;
  /** JSON. */
  detail: string;
  prev_hash: string;
  hash: string;
}

export interface Database {
  projects: ProjectTable;
  access_tokens: AccessTokenTable;
  receivers: ReceiverTable;
  bundles: BundleTable;
  channel_heads: ChannelHeadTable;
  publications: PublicationTable;
  envelopes: EnvelopeTable;
  deliveries: DeliveryTable;
  webhook_deliveries: WebhookDeliveryTable;
  seen_tags: SeenTagTable;
  reviews: ReviewTable;
  audit_log: AuditTable;
  branch_heads: BranchHeadTable;
  rollouts: RolloutTable;
  github_posts: GitHubPostTable;
}

export type Receiver = Selectable<ReceiverTable>;
export type Delivery = Selectable<DeliveryTable>;
export type NewDelivery = Insertable<DeliveryTable>;
export type DeliveryUpdate = Updateable<DeliveryTable>;
export type AuditRow = Selectable<AuditTable>;
export type AccessToken = Selectable<AccessTokenTable>;
export type DashboardSession = Selectable<DashboardSessionTable>;

/** A running forge replica, as it last said (migration 012, forge/replicas.ts). */
export interface ForgeReplicaTable {
  /** `<host>:<data dir>`. */
  replica: string;
  active_key: string;
  /** JSON array of the key ids it publishes. */
  key_ids: string;
  /** A constant sealed with its secret box: another replica must be able to open it. */
  secrets_probe: string;
  started_at: string;
  seen_at: string;
}

/** Which replica syncs a project, until when (migration 012, forge/sync-lease.ts). */
export interface SyncLeaseTable {
  project: string;
  owner: string;
  expires_at: string;
}

// Declaration merging, as for trusted_trees above.
export interface Database {
  forge_replicas: ForgeReplicaTable;
  sync_leases: SyncLeaseTable;
}

/** What a project access token may do (migration 013): `full`, or `read` for a peer forge. */
export type TokenScope = 'full' | 'read';

// Declaration merging: the scope column of access_tokens (migration 013, issue 17).
export interface AccessTokenTable {
  /** `full` for every token made before; `read` may only read (http/require-token.ts). */
  scope: Generated<TokenScope>;
}

/** A peer forge's project shown read-only here (migration 013, peers/peer-connections.ts); its content is never stored. */
export interface PeerConnectionTable {
  /** The peer's name in `knownForges`. */
  forge: string;
  /** The project on the peer. */
  project: string;
  connected_at: string;
  actor: string;
}

// Declaration merging, as for trusted_trees above.
export interface Database {
  peer_connections: PeerConnectionTable;
}
