import { expect } from 'chai';
import { AnvilError } from '@anvil/content-schema';
import { createBlobReader } from '../../src/repo/git-blob-reader.ts';
import { createGitCache } from '../../src/repo/git-cache.ts';
import { openGitSnapshot } from '../../src/repo/git-snapshot.ts';
import type { RepoSnapshot } from '../../src/repo/snapshot.ts';
import { cleanupGitdirs, gitdir, type GitDir } from '../support/gitdir.ts';

// Bigger than a pipe's buffer and than one 'data' chunk, with every byte value.
const BIG = Uint8Array.from({ length: 1024 * 1024 + 7 }, (_, i) => (i * 31 + (i >> 8)) & 0xff);
const FILES = {
  'prompts/core/set.yaml': 'name: core\n',
  'prompts/core/hello.md': 'Hello {{name}} ✨\n',
  'prompts/core/empty.md': '',
  'assets/big.bin': BIG,
};

async function contents(snapshot: RepoSnapshot): Promise<Record<string, string | undefined>> {
  const files = await snapshot.listFiles('');
  return Object.fromEntries(await Promise.all(files.map(async (f) => [f, await snapshot.readText(f)] as const)));
}

describe('createBlobReader (git cat-file --batch)', () => {
  let repo: GitDir;
  let gitDir: string;
  const oidOf = (spec: string) => repo.revParse(spec);

  before(async () => {
    repo = await gitdir({ files: FILES, tags: ['core@1.0.0'] });
    gitDir = repo.path('.git');
  });
  after(cleanupGitdirs);

  it('reads blobs byte for byte, empty and large ones included, and other objects with their type', async () => {
    const reader = createBlobReader(gitDir);
    try {
      const hello = await reader.read(await oidOf('HEAD:prompts/core/hello.md'));
      expect(hello?.type).to.equal('blob');
      expect(hello?.content.toString('utf8')).to.equal('Hello {{name}} ✨\n');
      expect((await reader.read(await oidOf('HEAD:prompts/core/empty.md')))?.content.length).to.equal(0);
      const big = await reader.read(await oidOf('HEAD:assets/big.bin'));
      expect(big?.content.equals(Buffer.from(BIG))).to.equal(true);
      expect((await reader.read(await oidOf('HEAD^{tree}')))?.type).to.equal('tree');
      expect((await reader.read(await oidOf('HEAD')))?.type).to.equal('commit');
      expect((await reader.read(await oidOf('refs/tags/core@1.0.0')))?.type).to.equal('tag');
    } finally {
      reader.close();
    }
  });

  it('answers many reads in flight at once, each with its own object', async () => {
    const reader = createBlobReader(gitDir);
    try {
      const paths = ['prompts/core/hello.md', 'assets/big.bin', 'prompts/core/set.yaml', 'prompts/core/empty.md'];
      const oids = await Promise.all(paths.map((p) => oidOf(`HEAD:${p}`)));
      const requests = Array.from({ length: 200 }, (_, i) => oids[i % oids.length]!);
      const objects = await Promise.all(requests.map((oid) => reader.read(oid)));
      objects.forEach((object, i) => {
        const expected = FILES[paths[i % paths.length] as keyof typeof FILES];
        expect(object?.content.equals(Buffer.from(expected))).to.equal(true);
      });
    } finally {
      reader.close();
    }
  });

  it('says undefined for an object the repository does not have, and goes on reading', async () => {
    const reader = createBlobReader(gitDir);
    try {
      const [missing, hello] = await Promise.all([
        reader.read('0123456789abcdef0123456789abcdef01234567'),
        reader.read(await oidOf('HEAD:prompts/core/hello.md')),
      ]);
      expect(missing).to.equal(undefined);
      expect(hello?.type).to.equal('blob');
    } finally {
      reader.close();
    }
  });

  it('refuses what is not a full object id before git sees it (a newline would be a second request)', async () => {
    const reader = createBlobReader(gitDir);
    for (const oid of ['HEAD', 'abc123', `${'a'.repeat(40)}\n${'b'.repeat(40)}`, 'A'.repeat(40)]) {
      const err = await reader.read(oid).catch((e: unknown) => e);
      expect(err, oid).to.be.instanceOf(Error);
    }
    reader.close();
  });

  it('ends git when idle and starts it again on the next read', async () => {
    const reader = createBlobReader(gitDir, { idleMs: 10 });
    const oid = await oidOf('HEAD:prompts/core/hello.md');
    expect((await reader.read(oid))?.type).to.equal('blob');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await reader.read(oid))?.type).to.equal('blob');
    reader.close();
    expect((await reader.read(oid))?.type).to.equal('blob');
    reader.close();
  });

  it('fails with git.failed, carrying git\'s message, outside a repository or without git', async () => {
    const outside = createBlobReader(repo.path('prompts'));
    const err = await outside.read('a'.repeat(40)).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(AnvilError).with.property('code', 'git.failed');
    expect((err as AnvilError).message).to.match(/not a git repository/i);

    const noGit = createBlobReader(gitDir, { gitBinary: 'git-that-does-not-exist' });
    const missing = await noGit.read('a'.repeat(40)).catch((e: unknown) => e);
    expect(missing).to.be.instanceOf(AnvilError).with.property('code', 'git.failed');
  });

  it('gives a snapshot the same contents as isomorphic-git, loose and packed', async () => {
    const packed = await repo.bare();
    await packed.git('gc', '--quiet');
    for (const dir of [repo.dir, packed.dir]) {
      const viaGit = createGitCache();
      const viaIso = createGitCache({ blobs: 'isomorphic-git' });
      expect(viaIso.blobReader(dir)).to.equal(undefined);
      const a = await contents(await openGitSnapshot(dir, 'core@1.0.0', { cache: viaGit }));
      const b = await contents(await openGitSnapshot(dir, 'core@1.0.0', { cache: viaIso }));
      expect(a).to.deep.equal(b);
      expect(a['prompts/core/hello.md']).to.equal('Hello {{name}} ✨\n');
      viaGit.clear();
    }
  });

  it('reads a folder\'s files ahead without mixing them up, in any order, twice, or a few only', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 100; i++) files[`prompts/many/p${String(i).padStart(3, '0')}.${i % 3 === 0 ? 'yaml' : 'md'}`] = `file ${i}\n`;
    files['prompts/many/same-a.md'] = 'same\n';
    files['prompts/many/same-b.md'] = 'same\n';
    const many = await gitdir({ files });
    const cache = createGitCache();
    const names = Object.keys(files).sort();
    const inOrder = await openGitSnapshot(many.dir, 'HEAD', { cache });
    for (const name of names) expect(await inOrder.readText(name), name).to.equal(files[name]);
    for (const name of names) expect(await inOrder.readText(name), name).to.equal(files[name]);
    const reversed = await openGitSnapshot(many.dir, 'HEAD', { cache });
    for (const name of [...names].reverse()) expect(await reversed.readText(name), name).to.equal(files[name]);
    const some = await openGitSnapshot(many.dir, 'HEAD', { cache });
    expect(await some.readText('prompts/many/p050.md')).to.equal('file 50\n');
    expect(await some.readText('prompts/many/p010.md')).to.equal('file 10\n');
    expect(await Promise.all(names.map((n) => some.readText(n)))).to.deep.equal(names.map((n) => files[n]));
    cache.clear();
  });
});
