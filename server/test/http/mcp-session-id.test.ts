/**
 * Self-contained MCP session ids (issue 17): sealed with the forge's key, so that any replica
 * reads them and nobody else makes one; held to the token, project and channel that opened them.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { servedState } from '../../src/deliver/mcp-served-state.ts';
import { secretBox } from '../../src/forge/secret-box.ts';
import { checkMcpSession, mintMcpSessionId, readMcpSessionId, type McpSession, type McpSessionHolder } from '../../src/http/mcp-session-id.ts';

describe('MCP session ids', () => {
  const key = randomBytes(32);
  const box = secretBox(key);
  const session: McpSession = { tokenId: 'tok_1', project: 'acme', channel: 'production', served: 'srv-abc', openedAt: 1_700_000_000_000 };
  const id = mintMcpSessionId(box, session);

  it('are read back by any box with the same key, and are visible ASCII that does not show what they hold', () => {
    expect(readMcpSessionId(secretBox(Buffer.from(key)), id)).to.deep.equal(session);
    expect(id).to.match(/^[\x21-\x7e]+$/).and.not.include('tok_1').and.not.include('acme');
    expect(mintMcpSessionId(box, session), 'two sessions of the same holder differ').to.not.equal(id);
  });

  it('are checked against who presents them', () => {
    const holder: McpSessionHolder = { tokenId: 'tok_1', project: 'acme', channel: 'production' };
    const table: [Partial<McpSessionHolder>, string | undefined, string][] = [
      [{}, undefined, ''],
      [{ tokenId: 'tok_2' }, 'mcp.session-mismatch', 'another access token'],
      [{ tokenId: null }, 'mcp.session-mismatch', 'another access token'],
      [{ project: 'hello' }, 'mcp.session-mismatch', 'another project'],
      [{ channel: 'staging' }, 'mcp.session-mismatch', 'channel production, not staging'],
    ];
    for (const [change, code, reason] of table) {
      const check = checkMcpSession(box, id, { ...holder, ...change });
      if (code === undefined) {
        expect(check).to.deep.equal({ ok: true, session });
        continue;
      }
      expect(check, JSON.stringify(change)).to.include({ ok: false, code });
      expect(check.ok === false && check.reason).to.include(reason);
    }
    const admin = mintMcpSessionId(box, { ...session, tokenId: null });
    expect(checkMcpSession(box, admin, holder)).to.deep.include({ ok: false, code: 'mcp.session-mismatch', reason: 'this MCP session was opened with the admin token, not this access token' });
  });

  it('refuse what this forge did not make: another key, a changed byte, something else sealed, garbage', () => {
    const raw = Buffer.from(id.replace(/^v1\./, ''), 'base64');
    raw[raw.length - 1]! ^= 1;
    const forged = [
      mintMcpSessionId(secretBox(randomBytes(32)), session),
      `v1.${raw.toString('base64')}`,
      box.seal('anvil_a-receiver-push-token'),
      box.seal(JSON.stringify({ k: 'anvil-mcp-session/2', t: 'tok_1', p: 'acme', c: 'production', s: 'srv-abc', at: 1 })),
      'v1.', '', 'not base64 at all', `${id} `, id.repeat(8),
    ];
    for (const f of forged) {
      expect(readMcpSessionId(box, f), f.slice(0, 40)).to.equal(undefined);
      expect(checkMcpSession(box, f, session)).to.include({ ok: false, code: 'mcp.session-unknown' });
    }
  });

  it('carry what the channel served, as an id of its heads in any order', () => {
    const heads = [{ set_name: 'core', integrity: 'sha256-a' }, { set_name: 'support', integrity: 'sha256-b' }];
    expect(servedState(heads)).to.equal(servedState([...heads].reverse())).and.match(/^srv-[A-Za-z0-9_-]{32}$/);
    expect(servedState(heads)).to.not.equal(servedState([heads[0]!, { set_name: 'support', integrity: 'sha256-c' }]));
    expect(servedState([])).to.not.equal(servedState(heads));
  });
});
