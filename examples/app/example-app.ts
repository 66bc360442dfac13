/**
 * The example app: an ordinary Express app that embeds a LIVE receiver (@anvil/client). It
 * renders prompts in-process on every request — no network call to the forge at render time —
 * and takes pushes at `/anvil`. The page polls `/api/prompts` once a second, so an edit that
 * reaches the receiver shows up without a reload.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createClient, type AnvilClient } from '@anvil/client';

export interface ExampleAppOptions {
  forge: string;
  project: string;
  token: string;
  cacheDir: string;
  port?: number;
  host?: string;
  channel?: 'production' | 'staging' | 'development';
}

export interface ExampleApp {
  url: string;
  anvil: AnvilClient;
  close(): Promise<void>;
}

/** What the page shows: each prompt rendered with sample inputs, and which version served it. */
export function renderedPrompts(anvil: AnvilClient): Record<string, unknown> {
  const render = (id: string, vars: Record<string, unknown>, opts: { variant?: string } = {}) => {
    try {
      return { text: anvil.prompt(id, vars, opts), served: anvil.track(id, opts) };
    } catch (err) {
      return { error: (err as Error).message };
    }
  };
  return {
    status: anvil.status(),
    prompts: {
      'onboarding welcome.message': render('welcome.message', { name: 'Ada', company: 'Acme', plan: 'pro' }),
      'onboarding welcome.message (fr)': render('welcome.message', { name: 'Ada', company: 'Acme', plan: 'pro' }, { variant: 'fr' }),
      'support answer': render('answer', {}),
    },
  };
}

const PAGE = `<!doctype html><meta charset="utf-8"><title>Anvil example app</title>
<style>body{font:15px/1.5 system-ui;margin:2rem;max-width:60rem}pre{background:#f4f4f4;padding:1rem;white-space:pre-wrap}small{color:#666}</style>
<h1>Anvil example app</h1><p>Prompts rendered in-process by <code>@anvil/client</code>; this page refreshes every second.</p>
<div id="out">loading…</div>
<script>
async function tick(){const r=await fetch('api/prompts');const d=await r.json();const o=document.getElementById('out');o.textContent='';
for(const [name,p] of Object.entries(d.prompts)){const h=document.createElement('h2');h.textContent=name;o.append(h);
const s=document.createElement('small');s.textContent=p.served?p.served.set+'@'+p.served.version+(p.served.variant?' ('+p.served.variant+')':''):'';o.append(s);
const pre=document.createElement('pre');pre.textContent=p.text??p.error;o.append(pre);}}
tick();setInterval(tick,1000);
</script>`;

export async function startExampleApp(options: ExampleAppOptions): Promise<ExampleApp> {
  const app = express();
  const server: Server = createServer(app);
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const url = `http://${options.host ?? '127.0.0.1'}:${(server.address() as AddressInfo).port}`;
  const anvil = await createClient({
    forge: options.forge, project: options.project, token: options.token, channel: options.channel ?? 'development',
    cacheDir: options.cacheDir, pushUrl: `${url}/anvil`, readyTimeoutMs: 10_000,
  });
  anvil.on('error', (err) => console.error(`example app: ${(err as Error).message}`));
  app.use('/anvil', anvil.receiver());
  app.get('/api/prompts', (_req, res) => void res.json(renderedPrompts(anvil)));
  app.get('/', (_req, res) => void res.type('html').send(PAGE));
  await anvil.ready;
  return {
    url, anvil,
    async close() {
      await anvil.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
