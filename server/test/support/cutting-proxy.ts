/**
 * An HTTP proxy on loopback in front of a forge, for the streaming tests (issue 16): it can cut
 * every connection through it at once (as a forge restart, a load balancer or the network does),
 * refuse connections for a while, record what was asked, and change the events of a
 * `text/event-stream` answer on their way (a man in the middle).
 */
import http, { type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface CuttingProxy {
  url: string;
  /** Requests seen: method, path and headers. */
  requests: { method: string; path: string; headers: IncomingMessage['headers'] }[];
  /** Each whole event of an event stream goes through this on its way to the client. */
  tamper: ((event: string) => string) | undefined;
  /** Destroys every connection now open through the proxy. */
  cut(): void;
  /** While down, connections are destroyed as they come. */
  down: boolean;
  close(): Promise<void>;
}

export async function startCuttingProxy(target: string): Promise<CuttingProxy> {
  const upstream = new URL(target);
  const sockets = new Set<Socket>();
  const proxy: CuttingProxy = {
    url: '',
    requests: [],
    tamper: undefined,
    down: false,
    cut() {
      for (const s of sockets) s.destroy();
    },
    close: () => new Promise((resolve) => {
      proxy.cut();
      server.close(() => resolve());
    }),
  };
  const server: Server = http.createServer((req, res) => {
    if (proxy.down) {
      req.socket.destroy();
      return;
    }
    proxy.requests.push({ method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers });
    const up = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      if (!String(answer.headers['content-type'] ?? '').startsWith('text/event-stream')) {
        answer.pipe(res);
        return;
      }
      res.flushHeaders();
      let pending = '';
      answer.setEncoding('utf8');
      answer.on('data', (text: string) => {
        pending += text;
        let cut: number;
        while ((cut = pending.indexOf('\n\n')) >= 0) {
          const event = pending.slice(0, cut + 2);
          pending = pending.slice(cut + 2);
          res.write(proxy.tamper ? proxy.tamper(event) : event);
        }
      });
      answer.on('end', () => res.end(pending));
    });
    up.on('socket', (s) => {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}
