/**
 * The dashboard's stored versions (issue 15, the compare's first paint): each version read and
 * parsed once, each prompt compiled once, errors remembered as they were, bounded by size.
 */
import { expect } from 'chai';
import { AnvilError } from '@anvil/content-schema';
import type { ForgeContext } from '../../src/forge/forge-context.ts';
import { saveBundle } from '../../src/publish/bundle-store.ts';
import { storedVersions } from '../../src/dashboard/stored-versions.ts';
import { renderedDiff } from '../../src/diff/rendered-diff.ts';
import { openStore, type Store } from '../../src/store/open-store.ts';
import { makeBundle } from '../support/delivery-fixtures.ts';

describe('dashboard stored versions', () => {
  let db: Store;
  beforeEach(async () => {
    db = await openStore({ file: ':memory:' });
    const ctx = { db } as ForgeContext;
    await saveBundle(ctx, makeBundle('core', '1.0.0', { greet: 'Hello {{name}}', broken: 'Hi {{> missing}}' }, { project: 'acme' }));
    await saveBundle(ctx, makeBundle('core', '1.1.0', { greet: 'Hello {{name}}!', broken: 'Hi {{> missing}}' }, { project: 'acme' }));
  });
  afterEach(async () => db.destroy());

  it('reads a version once, compiles each prompt once, and fails a broken prompt the same way each time', async () => {
    const versions = storedVersions(db);
    const [a, b] = await Promise.all([versions.read('acme', 'core', '1.0.0'), versions.read('acme', 'core', '1.0.0')]);
    expect(a).to.equal(b);
    expect(await versions.read('acme', 'core', '1.0.0')).to.equal(a);
    const greet = a!.compile('greet');
    expect(a!.compile('greet')).to.equal(greet);
    expect(greet.renderText({ name: 'Ada' })).to.equal('Hello Ada');
    let first: unknown;
    try { a!.compile('broken'); } catch (err) { first = err; }
    expect(first).to.be.instanceOf(AnvilError).with.property('code', 'template.unknown-partial');
    expect(() => a!.compile('broken')).to.throw(AnvilError).that.equals(first);
    expect(() => a!.compile('nope')).to.throw(AnvilError, /no prompt "nope"/);
  });

  it('does not remember a version the store does not have yet', async () => {
    const versions = storedVersions(db);
    expect(await versions.read('acme', 'core', '2.0.0')).to.equal(undefined);
    await saveBundle({ db } as ForgeContext, makeBundle('core', '2.0.0', { greet: 'Hey {{name}}' }, { project: 'acme' }));
    expect((await versions.read('acme', 'core', '2.0.0'))?.bundle.version).to.equal('2.0.0');
  });

  it('keeps at most its size in bundle text, dropping the least recently read', async () => {
    const one = (await storedVersions(db).read('acme', 'core', '1.0.0'))!;
    // Room for one version only: reading the second drops the first.
    const versions = storedVersions(db, one.size + 1);
    const first = await versions.read('acme', 'core', '1.0.0');
    await versions.read('acme', 'core', '1.1.0');
    expect(await versions.read('acme', 'core', '1.0.0')).to.not.equal(first);
  });

  it('a compare with the remembered compilers gives the same diff as without', async () => {
    const versions = storedVersions(db);
    const before = (await versions.read('acme', 'core', '1.0.0'))!;
    const after = (await versions.read('acme', 'core', '1.1.0'))!;
    const plain = renderedDiff({ label: '1.0.0', bundle: before.bundle, dependencyPartials: {} }, { label: '1.1.0', bundle: after.bundle, dependencyPartials: {} }, { unchangedText: false });
    const cached = renderedDiff({ label: '1.0.0', ...before }, { label: '1.1.0', ...after }, { unchangedText: false });
    expect(cached).to.deep.equal(plain);
    expect(cached.map((d) => [d.id, d.status])).to.deep.equal([['broken', 'unchanged'], ['greet', 'changed']]);
  });
});
