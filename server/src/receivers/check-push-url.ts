/**
 * At registration (and every heartbeat), the push URL is refused when the URL alone shows it is
 * a target the forge will not push to: an IP address in a refused range, `localhost`, a metadata
 * name, the forge's own URL (issue 14). It is a courtesy, so that a misconfigured receiver hears
 * why at once; names are not resolved here, because the answer can change: the check that counts
 * is the one on the resolved address at each push (deliver/resolve-push-target.ts).
 */
import { AnvilError } from '@anvil/content-schema';
import { screenUrl, type TargetContext } from '../deliver/resolve-push-target.ts';

/** Throws `receiver.url-blocked` (422) for a push URL the forge would refuse to push to. */
export function refuseBlockedPushUrl(ctx: TargetContext, url: string): void {
  const screened = screenUrl(ctx, new URL(url));
  if (screened.kind !== 'blocked') return;
  throw new AnvilError('receiver.url-blocked', `the forge does not push to ${url}: ${screened.reason}`, {
    hint: screened.forgeItself
      ? 'register the receiver\'s own URL, not the forge\'s'
      : ctx.pushTargets?.allowPrivateNetworks
        ? 'register an address the forge can reach; link-local and cloud metadata addresses are refused even with pushTargets.allowPrivateNetworks'
        : 'register a public address; for local development, or receivers on the forge\'s private network, set `pushTargets: {allowPrivateNetworks: true}` in anvil-forge.yaml (`anvil dev` does)',
  });
}
