/**
 * `anvil hook install`: puts a `post-receive` hook into a bare repository so that any git
 * server (no GitHub needed) tells the forge about pushed branches and tags (DESIGN §8,
 * `POST /webhooks/git`, git-webhook.ts).
 *
 * The hook is a small Node script with no dependencies, because the git server may have
 * nothing but git and Node. It must never get in the way of a push: refs are already updated
 * when post-receive runs, so whatever goes wrong (no secret, forge down, a 4xx) it prints one
 * warning line, which the pusher sees as `remote: anvil: …`, and exits 0.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { chmod, readFile, realpath, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import git from 'isomorphic-git';
import { AnvilError, ENV_NAME_PATTERN, SET_NAME_PATTERN } from '@anvil/content-schema';

const execFileAsync = promisify(execFile);

/** Written into every hook this module makes, to recognise it (and replace it) later. */
export const HOOK_MARKER = 'anvil-post-receive-hook';
export const DEFAULT_SECRET_ENV = 'ANVIL_WEBHOOK_SECRET';
/** The git config key the hook reads the secret from. */
export const SECRET_CONFIG_KEY = 'anvil.webhookSecret';
const DEFAULT_TIMEOUT_MS = 5000;

export interface PostReceiveHookOptions {
  /** The forge's public URL (`https://forge.example.com`); the hook posts to `<forge>/webhooks/git`. */
  forge: string;
  project: string;
  /** An environment variable the hook reads the secret from before trying git config. */
  secretEnv?: string | undefined;
  /** How long the hook waits for the forge (default 5 s); the pusher waits as long. */
  timeoutMs?: number | undefined;
}

export interface InstallHookOptions extends PostReceiveHookOptions {
  /** The bare repository. */
  repo: string;
  /** The secret to store as `anvil.webhookSecret` in the repository's config; absent: keep what is there. */
  secret?: string | undefined;
  /** Replace a post-receive hook that is not Anvil's (it is kept as `post-receive.before-anvil`). */
  force?: boolean | undefined;
}

export interface InstalledHook {
  /** The hook file written. */
  hook: string;
  repo: string;
  forge: string;
  project: string;
  /** Where the hook will find the secret. */
  secret: 'git-config' | 'env' | 'missing';
  secretEnv: string;
  /** A foreign hook that --force moved aside. */
  replaced?: string;
}

/** Installs (or updates) the hook; refuses anything but a bare repository, and a foreign hook unless `force`. */
export async function installHook(options: InstallHookOptions): Promise<InstalledHook> {
  const forge = normaliseForgeUrl(options.forge);
  checkProject(options.project);
  const secretEnv = options.secretEnv ?? DEFAULT_SECRET_ENV;
  if (!new RegExp(ENV_NAME_PATTERN).test(secretEnv)) {
    throw new AnvilError('hook.bad-secret-env', `"${secretEnv}" is not an environment variable name`, { hint: 'letters, digits and "_", not starting with a digit' });
  }
  const repo = await bareRepository(options.repo);
  const hooksDir = path.resolve(repo, (await gitIn(repo, ['rev-parse', '--git-path', 'hooks'])).trim());
  const hook = path.join(hooksDir, 'post-receive');

  const existing = await readFile(hook, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  let replaced: string | undefined;
  if (existing !== undefined && !existing.includes(HOOK_MARKER)) {
    if (!options.force) {
      throw new AnvilError('hook.exists', `${hook} exists and is not Anvil's hook`, {
        hint: 'merge it by hand, or pass --force to replace it (it is kept as post-receive.before-anvil)',
        details: { hook },
      });
    }
    replaced = await freeName(path.join(hooksDir, 'post-receive.before-anvil'));
    await rename(hook, replaced);
  }

  if (options.secret !== undefined && options.secret !== '') {
    // In-process, so that the secret never appears in a process list as a git argument.
    await git.setConfig({ fs, gitdir: repo, path: SECRET_CONFIG_KEY, value: options.secret });
  }
  const stored = await git.getConfig({ fs, gitdir: repo, path: SECRET_CONFIG_KEY }) as unknown;

  await fs.promises.mkdir(hooksDir, { recursive: true });
  const script = postReceiveHookScript({ forge, project: options.project, secretEnv, timeoutMs: options.timeoutMs });
  const temp = `${hook}.anvil-${process.pid}.tmp`;
  await writeFile(temp, script, { mode: 0o755 });
  // The umask may have taken the executable bits.
  await chmod(temp, 0o755);
  await rename(temp, hook);

  return {
    hook, repo, forge, project: options.project, secretEnv,
    secret: typeof stored === 'string' && stored !== '' ? 'git-config' : process.env[secretEnv] ? 'env' : 'missing',
    ...(replaced ? { replaced } : {}),
  };
}

/** The hook's source: a dependency-free Node script that runs as CommonJS or as an ES module. */
export function postReceiveHookScript(options: PostReceiveHookOptions): string {
  const config = {
    forge: normaliseForgeUrl(options.forge),
    project: options.project,
    secretEnv: options.secretEnv ?? DEFAULT_SECRET_ENV,
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  };
  return HOOK_TEMPLATE.replace('__CONFIG__', () => JSON.stringify(config));
}

function normaliseForgeUrl(forge: string): string {
  let url: URL;
  try {
    url = new URL(forge);
  } catch {
    throw new AnvilError('hook.bad-forge-url', `"${forge}" is not a URL`, { hint: 'the forge\'s public URL, e.g. https://forge.example.com' });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new AnvilError('hook.bad-forge-url', `the forge URL must be http(s), not ${url.protocol}`);
  if (url.search || url.hash) throw new AnvilError('hook.bad-forge-url', 'the forge URL must not have a query or fragment');
  return url.href.replace(/\/+$/, '');
}

function checkProject(project: string): void {
  if (!new RegExp(SET_NAME_PATTERN).test(project)) {
    throw new AnvilError('hook.bad-project', `"${project}" is not a project name`, { hint: 'the project\'s name in the forge configuration (lowercase a-z, 0-9, ".", "_", "-")' });
  }
}

/** The repository's git folder, if it is a bare repository (and not a folder inside one). */
async function bareRepository(dir: string): Promise<string> {
  const absolute = path.resolve(dir);
  if (!(await stat(absolute).catch(() => undefined))?.isDirectory()) {
    throw new AnvilError('hook.not-a-repository', `${dir} is not a folder`, { hint: 'give the path of a bare repository (e.g. /srv/git/prompts.git)' });
  }
  const answer = await gitIn(absolute, ['rev-parse', '--is-bare-repository', '--absolute-git-dir']).catch(() => undefined);
  const [isBare, gitDir] = (answer ?? '').trim().split('\n');
  if (isBare === 'false') {
    throw new AnvilError('hook.not-bare', `${dir} is not a bare repository`, {
      hint: 'install the hook in the repository people push to (created with `git init --bare`); a clone with a working tree runs no post-receive for its own commits',
    });
  }
  // A folder inside a bare repository (its refs/, say) is not the repository.
  if (isBare !== 'true' || gitDir === undefined || (await realpath(gitDir)) !== (await realpath(absolute))) {
    throw new AnvilError('hook.not-a-repository', `${dir} is not a git repository`, { hint: 'give the path of a bare repository (e.g. /srv/git/prompts.git)' });
  }
  return absolute;
}

async function gitIn(dir: string, args: string[]): Promise<string> {
  // Inside a hook GIT_DIR and friends would point git at another repository.
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('GIT_')) env[key] = value;
  const { stdout } = await execFileAsync('git', ['-C', dir, ...args], { env, encoding: 'utf8' });
  return stdout;
}

async function freeName(base: string): Promise<string> {
  for (let i = 0; ; i++) {
    const candidate = i === 0 ? base : `${base}.${i}`;
    if (!(await stat(candidate).catch(() => undefined))) return candidate;
  }
}

// Plain JavaScript for Node ≥ 18, valid both as CommonJS and as an ES module: a bare
// repository may sit below a package.json with "type": "module", which would make Node load
// this extension-less file as ESM. Hence dynamic import() and no require/top-level await.
const HOOK_TEMPLATE = `#!/usr/bin/env node
// ${HOOK_MARKER} — written by \`anvil hook install\`; reinstall rather than edit.
// Tells the Anvil forge about the branches and tags this push updated (POST /webhooks/git,
// HMAC-SHA256 signed). It never fails or blocks the push: when the forge cannot be reached it
// prints one warning and exits 0. The secret comes from the environment variable named below,
// else from \`git config ${SECRET_CONFIG_KEY}\` in this repository.
'use strict';
const CONFIG = __CONFIG__;

function warn(message) {
  process.stderr.write('anvil: warning: ' + message + ' (the push itself succeeded)\\n');
}

function readStdin() {
  return new Promise(function (resolve) {
    let data = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', function (chunk) { data += chunk; });
    process.stdin.on('end', function () { resolve(data); });
    process.stdin.on('error', function () { resolve(data); });
  });
}

function isZero(id) { return /^0+$/.test(id); }

function readSecret(execFileSync) {
  const fromEnv = CONFIG.secretEnv ? process.env[CONFIG.secretEnv] : '';
  if (fromEnv) return fromEnv;
  try {
    return execFileSync('git', ['config', '--get', '${SECRET_CONFIG_KEY}'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch (err) {
    return '';
  }
}

function isForced(execFileSync, before, after) {
  try {
    execFileSync('git', ['merge-base', '--is-ancestor', before, after], { stdio: 'ignore' });
    return false;
  } catch (err) {
    // Exit status 1: not an ancestor. Anything else: cannot tell, so not called forced.
    return Boolean(err) && err.status === 1;
  }
}

function post(http, url, body, headers) {
  return new Promise(function (resolve, reject) {
    const req = http.request(url, { method: 'POST', headers: headers }, function (res) {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', function (chunk) { if (text.length < 8192) text += chunk; });
      res.on('end', function () { resolve({ status: res.statusCode || 0, text: text }); });
      res.on('error', reject);
    });
    const timer = setTimeout(function () {
      req.destroy(new Error('no answer within ' + CONFIG.timeoutMs + ' ms'));
    }, CONFIG.timeoutMs);
    req.on('close', function () { clearTimeout(timer); });
    req.on('error', reject);
    req.end(body);
  });
}

async function main() {
  const crypto = await import('node:crypto');
  const childProcess = await import('node:child_process');
  const updates = [];
  for (const line of (await readStdin()).split('\\n')) {
    const parts = line.trim().split(/\\s+/);
    if (parts.length !== 3) continue;
    const update = { ref: parts[2], before: parts[0], after: parts[1] };
    if (update.ref.indexOf('refs/heads/') === 0 && !isZero(update.before) && !isZero(update.after)) {
      update.forced = isForced(childProcess.execFileSync, update.before, update.after);
    }
    updates.push(update);
  }
  if (updates.length === 0) return;

  const url = CONFIG.forge + '/webhooks/git';
  const secret = readSecret(childProcess.execFileSync);
  if (!secret) {
    warn('no webhook secret (set $' + CONFIG.secretEnv + ', or git config ${SECRET_CONFIG_KEY} in this repository), so the forge was not told');
    return;
  }
  const delivery = crypto.randomUUID();
  const body = JSON.stringify({ project: CONFIG.project, delivery: delivery, updates: updates });
  const signature = 'sha256=' + crypto.createHmac('sha256', secret).update(body).digest('hex');
  const http = await import(url.indexOf('https:') === 0 ? 'node:https' : 'node:http');
  let answer;
  try {
    answer = await post(http, url, body, {
      'Content-Type': 'application/json',
      'Content-Length': String(Buffer.byteLength(body)),
      'User-Agent': '${HOOK_MARKER}/1',
      'X-Anvil-Delivery': delivery,
      'X-Anvil-Signature-256': signature,
    });
  } catch (err) {
    warn('could not reach the forge at ' + url + ': ' + (err && err.message ? err.message : String(err)));
    return;
  }
  if (answer.status >= 200 && answer.status < 300) {
    process.stderr.write('anvil: forge notified (' + updates.length + ' ref update' + (updates.length === 1 ? '' : 's') + ')\\n');
    return;
  }
  let reason = answer.text.slice(0, 200);
  try {
    const json = JSON.parse(answer.text);
    if (json && json.code) reason = json.code + ': ' + json.reason;
  } catch (err) { /* not JSON: keep the text */ }
  warn('the forge at ' + url + ' answered ' + answer.status + ' ' + reason.replace(/\\s+/g, ' '));
}

// The hook must end even if something keeps the event loop alive.
setTimeout(function () { warn('gave up waiting for the forge'); process.exit(0); }, CONFIG.timeoutMs + 2000).unref();
main().then(function () { process.exit(0); }, function (err) {
  warn('the hook failed: ' + (err && err.message ? err.message : String(err)));
  process.exit(0);
});
`;
