/**
 * Remote projects connected read-only (issue 17, forge peering). A connection is only the fact
 * (`peer_connections`: which peer, which project, when, by whom), audited as `peer.connect` and
 * `peer.disconnect`; the project's sets, prompts and renderings stay on the peer and are fetched
 * from it on every view (peer-client.ts). Listed everywhere with its source, `<forge> / <project>`.
 */
import { AnvilError, closest } from '@anvil/content-schema';
import { appendAuditEntries } from '../store/audit-log.ts';
import { storeTime, type Store } from '../store/open-store.ts';
import { peerSource, type KnownForge } from './known-forge.ts';
import { peerClient, type PeerClient } from './peer-client.ts';

export interface PeerConnection {
  forge: string;
  project: string;
  /** `<forge> / <project>`. */
  source: string;
  connectedAt: string;
  actor: string;
  /** The forge is still among `knownForges`: a connection to one removed from the config stays listed until disconnected. */
  known: boolean;
}

/** Every connection, by forge then project. */
export async function listPeerConnections(db: Store, forges: readonly KnownForge[] = []): Promise<PeerConnection[]> {
  const rows = await db.selectFrom('peer_connections').selectAll().orderBy('forge').orderBy('project').execute();
  return rows.map((r) => ({
    forge: r.forge, project: r.project, source: peerSource(r.forge, r.project), connectedAt: r.connected_at, actor: r.actor,
    known: forges.some((f) => f.name === r.forge),
  }));
}

export async function isPeerConnected(db: Store, forge: string, project: string): Promise<boolean> {
  return (await db.selectFrom('peer_connections').select('forge').where('forge', '=', forge).where('project', '=', project).executeTakeFirst()) !== undefined;
}

/** The known forge of that name, or an error that lists the known ones. */
export function knownForgeNamed(forges: readonly KnownForge[], name: string): KnownForge {
  const found = forges.find((f) => f.name === name);
  if (found) return found;
  const near = closest(name, forges.map((f) => f.name));
  throw new AnvilError('peer.unknown-forge', `"${name.slice(0, 100)}" is not a known forge`, {
    hint: forges.length === 0 ? 'add it under knownForges in anvil-forge.yaml, with its token in the environment' : near ? `did you mean "${near}"?` : `known forges: ${forges.map((f) => f.name).join(', ')}`,
  });
}

export interface ConnectRequest {
  project: string;
  /** Who connects, for the audit log (`cli`, `admin`). */
  actor: string;
  now?: number | undefined;
}

/**
 * Connects a project of the peer after asking the peer that its token sees it (a peer that is
 * down or refuses the token is an error here, not a connection that shows nothing).
 * Connecting a connected project changes nothing.
 */
export async function connectPeerProject(db: Store, peer: PeerClient, request: ConnectRequest): Promise<{ connection: PeerConnection; already: boolean }> {
  const forge = peer.forge.name;
  const { projects } = await peer.projects();
  if (!projects.some((p) => p.name === request.project)) {
    const near = closest(request.project, projects.map((p) => p.name));
    throw new AnvilError('peer.project-unknown', `forge "${forge}" shows this forge no project "${request.project.slice(0, 100)}"`, {
      hint: near ? `did you mean "${near}"?` : projects.length > 0 ? `its projects: ${projects.map((p) => p.name).join(', ')}` : 'its token sees no project: ask the peer\'s operator for a read token of the project',
    });
  }
  const now = request.now ?? Date.now();
  const at = storeTime(now);
  const source = peerSource(forge, request.project);
  const inserted = await db.transaction().execute(async (trx) => {
    const done = await trx.insertInto('peer_connections').values({ forge, project: request.project, connected_at: at, actor: request.actor })
      .onConflict((oc) => oc.columns(['forge', 'project']).doNothing()).executeTakeFirst();
    if (Number(done.numInsertedOrUpdatedRows ?? 0) === 0) return false;
    await appendAuditEntries(trx, [{ kind: 'peer.connect', subject: source, actor: request.actor, detail: { forge, project: request.project, url: peer.forge.url } }], now);
    return true;
  });
  const row = await db.selectFrom('peer_connections').selectAll().where('forge', '=', forge).where('project', '=', request.project).executeTakeFirstOrThrow();
  return { connection: { forge, project: request.project, source, connectedAt: row.connected_at, actor: row.actor, known: true }, already: !inserted };
}

/** Disconnects a project; the peer is not asked (it may be gone). */
export async function disconnectPeerProject(db: Store, request: { forge: string; project: string; actor: string; now?: number | undefined }): Promise<void> {
  const now = request.now ?? Date.now();
  const source = peerSource(request.forge, request.project);
  const removed = await db.transaction().execute(async (trx) => {
    const done = await trx.deleteFrom('peer_connections').where('forge', '=', request.forge).where('project', '=', request.project).executeTakeFirst();
    if (Number(done.numDeletedRows) === 0) return false;
    await appendAuditEntries(trx, [{ kind: 'peer.disconnect', subject: source, actor: request.actor, detail: { forge: request.forge, project: request.project } }], now);
    return true;
  });
  if (!removed) throw new AnvilError('peer.not-connected', `${source.slice(0, 200)} is not connected`, { hint: 'list connections with `anvil peers list`' });
}

/** One client per known forge, each with its own short cache: what the dashboard and the CLI browse through. */
export function peerClients(forges: readonly KnownForge[], options: Parameters<typeof peerClient>[1] = {}): Map<string, PeerClient> {
  return new Map(forges.map((f) => [f.name, peerClient(f, options)]));
}
