// @anvil/server: the authoring pipeline (load → lint → build) over repository snapshots; the
// CLI, release, policy and forge build on these (DESIGN.md §3).
export { loadRepo, promptIdOf } from './load/load-repo.ts';
export type { LoadedRepo, LoadedSet, PartialFile, PromptFile } from './load/load-repo.ts';
export { lintRepo } from './lint/lint-repo.ts';
export type { ReleaseInfo } from './lint/lint-repo.ts';
export { formatProblem, hasErrors, sortProblems } from './lint/problem.ts';
export type { Problem, Severity } from './lint/problem.ts';
export { compileSet } from './build/compile-set.ts';
export { buildSet } from './build/build-set.ts';
export type { BuildCache, BuildResult, BuildSetOptions } from './build/build-set.ts';
export { buildRelease } from './build/build-release.ts';
export { resolveDependencies } from './build/resolve-dependencies.ts';
export { formatReleaseMessage, parseReleaseDependencies } from './release/release-record.ts';
export { memorySnapshot } from './repo/snapshot.ts';
export type { RepoSnapshot, SnapshotSource } from './repo/snapshot.ts';
export { openWorkingTree } from './repo/working-tree.ts';
export { openGitSnapshot } from './repo/git-snapshot.ts';
export { createGitCache } from './repo/git-cache.ts';
export { listReleaseTags, releasesBySet } from './repo/release-tags.ts';
export { runDev } from './dev/run-dev.ts';
export type { DevForge, DevOptions } from './dev/run-dev.ts';
export { startForge } from './forge/start-forge.ts';
export type { RunningForge, StartForgeOptions } from './forge/start-forge.ts';
export type { SyncReport } from './forge/sync-project.ts';
export { createLogger } from './forge/logger.ts';
