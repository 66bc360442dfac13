/**
 * What the forge decided for each release it processed (issue 18): the channels the policy let
 * it reach, or that it was refused and why. Later reads — the versions route, `anvil-live
 * install`, "Publish to LIVE", rollouts — go by this record instead of recomputing the policy
 * without the facts it was decided on (review state at the time, lint errors).
 *
 * Releases processed before this table existed are filled in from the audit log, which has
 * recorded every release decision from the start (`<set> <set>@<version>` subjects).
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createTable('release_decisions')
    .addColumn('project', 'text', (c) => c.notNull())
    .addColumn('set_name', 'text', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('tag', 'text', (c) => c.notNull())
    .addColumn('commit', 'text')
    .addColumn('integrity', 'text')
    .addColumn('mode', 'text')
    .addColumn('channels', 'text', (c) => c.notNull())
    .addColumn('refused', 'integer', (c) => c.notNull())
    .addColumn('audit', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('decided_at', 'text', (c) => c.notNull())
    .addColumn('override_actor', 'text')
    .addColumn('override_reason', 'text')
    .addColumn('overridden_at', 'text')
    .addPrimaryKeyConstraint('release_decisions_pk', ['project', 'set_name', 'version'])
    .execute();

  const rows = await sql<{ project: string | null; kind: string; subject: string; detail: string; at: string }>`
    SELECT project, kind, subject, detail, at FROM audit_log
    WHERE kind IN ('decision.publish', 'decision.nothing', 'decision.lint-failed', 'decision.unreviewed-release') ORDER BY seq`.execute(db);
  const seen = new Set<string>();
  for (const row of rows.rows) {
    const match = /^([a-z0-9][a-z0-9._-]*) \1@(\S+)$/.exec(row.subject);
    if (!match || row.project === null) continue;
    const [, set, version] = match as unknown as [string, string, string];
    const key = `${row.project}\u0000${set}\u0000${version}`;
    // The first decision is the release's; later rows for the same subject are the lint failure of
    // a failed dependency build and the like, which never reopened it.
    if (seen.has(key)) continue;
    seen.add(key);
    let detail: { channels?: unknown; reason?: unknown } = {};
    try {
      detail = JSON.parse(row.detail) as typeof detail;
    } catch { /* an unreadable detail is a refusal below */ }
    const channels = row.kind === 'decision.publish' && Array.isArray(detail.channels) ? detail.channels.filter((c): c is string => typeof c === 'string') : [];
    await sql`INSERT INTO release_decisions (project, set_name, version, tag, "commit", integrity, mode, channels, refused, audit, reason, decided_at)
      VALUES (${row.project}, ${set}, ${version}, ${`${set}@${version}`}, NULL, NULL, NULL, ${JSON.stringify(channels)}, ${channels.length > 0 ? 0 : 1},
        ${row.kind}, ${typeof detail.reason === 'string' ? detail.reason : row.kind}, ${row.at})`.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('release_decisions').execute();
}
