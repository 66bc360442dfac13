/**
 * The dashboard over plain HTTP, for tests that need no browser (issue 15): sign in through the
 * sign-in form as a browser would, and keep the session cookie.
 */
import { expect } from 'chai';

/** Signs in with `token` through the sign-in form; returns the session cookie (`anvil_session=…`). */
export async function signInOverHttp(url: string, token: string): Promise<string> {
  const form = await fetch(`${url}/ui/sign-in`);
  const formCookie = form.headers.getSetCookie().map((c) => c.split(';')[0]!).join('; ');
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1];
  const res = await fetch(`${url}/ui/sign-in`, {
    method: 'POST', redirect: 'manual',
    headers: { cookie: formCookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: csrf ?? '', token }),
  });
  expect(res.status, 'signed in').to.equal(303);
  const session = res.headers.getSetCookie().map((c) => c.split(';')[0]!).find((c) => c.startsWith('anvil_session='));
  expect(session, 'session cookie').to.be.a('string');
  return session!;
}
