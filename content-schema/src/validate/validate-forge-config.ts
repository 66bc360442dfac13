import type { ForgeConfig } from '../schemas/forge-config.ts';
import type { ValidationResult } from './issues.ts';
import { fieldAt, stringAt } from './read-data.ts';
import { runValidation } from './run-validation.ts';

/**
 * Validates a parsed `anvil-forge.yaml`: its shape, unique project names and GitHub
 * repositories, a `github` block for GitHub projects, an http(s) public URL, and a postgres://
 * database URL without a password. Secrets and paths are checked where they are read (the
 * environment, the disk), not here. Known forges (peers) have distinct names and real URLs.
 */
export function validateForgeConfig(input: unknown): ValidationResult<ForgeConfig> {
  return runValidation<ForgeConfig>(input, {
    validator: 'forge-config',
    check(data, { error }) {
      const url = stringAt(data, 'publicUrl');
      if (url !== undefined && !(URL.canParse(url) && ['http:', 'https:'].includes(new URL(url).protocol))) {
        error('/publicUrl', 'forge-config.public-url', `"${url}" is not an http(s) URL`, 'write the URL receivers use to reach this forge, e.g. "https://anvil.example.com"');
      }
      const database = stringAt(data, 'database');
      if (database !== undefined) {
        const parsed = URL.canParse(database) ? new URL(database) : undefined;
        if (!parsed || !['postgres:', 'postgresql:'].includes(parsed.protocol)) {
          error('/database', 'forge-config.database', `"${database.slice(0, 100)}" is not a postgres:// URL`, 'e.g. "postgres://anvil@db.internal:5432/anvil"; leave it out for SQLite in the data dir');
        } else if (parsed.password !== '') {
          // The file holds no secret (twelve-factor); a password written here would end up in git.
          error('/database', 'forge-config.database-password', 'the database URL holds a password', 'remove it, and give it in PGPASSWORD, or the whole URL in DATABASE_URL');
        }
      }
      const peers = fieldAt(data, 'knownForges');
      if (Array.isArray(peers)) {
        const peerNames = new Map<string, number>();
        peers.forEach((f: unknown, i) => {
          const name = stringAt(f, 'name');
          if (name !== undefined) {
            if (peerNames.has(name)) error(`/knownForges/${i}/name`, 'forge-config.duplicate-known-forge', `known forge "${name}" is configured twice (also at knownForges[${peerNames.get(name)}])`, 'give each peer forge its own name');
            else peerNames.set(name, i);
          }
          const peerUrl = stringAt(f, 'url');
          if (peerUrl !== undefined && /^https?:\/\//.test(peerUrl) && !URL.canParse(peerUrl)) {
            error(`/knownForges/${i}/url`, 'forge-config.known-forge-url', `"${peerUrl.slice(0, 100)}" is not a URL`, 'the peer forge\'s base URL, e.g. "https://anvil.partner.example"');
          }
        });
      }
      const projects = fieldAt(data, 'projects');
      if (!Array.isArray(projects)) return;
      const names = new Map<string, number>();
      const repos = new Map<string, number>();
      projects.forEach((p: unknown, i) => {
        const name = stringAt(p, 'name');
        if (name !== undefined) {
          if (names.has(name)) error(`/projects/${i}/name`, 'forge-config.duplicate-project', `project "${name}" is configured twice (also at projects[${names.get(name)}])`, 'give each project its own name');
          else names.set(name, i);
        }
        const provider = stringAt(p, 'provider') ?? 'git';
        const repository = stringAt(fieldAt(p, 'github'), 'repository');
        if (provider === 'github' && repository === undefined) {
          error(`/projects/${i}`, 'forge-config.github-repository', `project "${name ?? i}" has provider "github" but no github.repository`, 'add `github: {repository: owner/repo}`');
        }
        if (repository !== undefined) {
          if (repos.has(repository)) error(`/projects/${i}/github/repository`, 'forge-config.duplicate-repository', `GitHub repository ${repository} is used by two projects`, 'a webhook must name exactly one project');
          else repos.set(repository, i);
        }
      });
    },
  });
}
