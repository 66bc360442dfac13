/**
 * A peer forge this forge may browse (issue 17, forge peering): `knownForges` in
 * anvil-forge.yaml, with its token read from the environment. Nothing a peer serves is copied
 * here; what it is known by is its name, as connected projects are listed (`<name> / <project>`).
 */

export interface KnownForge {
  /** This forge's name for the peer. */
  name: string;
  /** The peer's base URL, without a trailing slash. */
  url: string;
  /** The bearer token the peer made for this forge (read-only: `anvil token create --scope read`). */
  token: string;
  /** The environment variable it came from, for messages (never the token). */
  tokenEnv: string;
}

/** `<forge> / <project>`: where a connected project comes from, as every listing shows it. */
export function peerSource(forge: string, project: string): string {
  return `${forge} / ${project}`;
}
