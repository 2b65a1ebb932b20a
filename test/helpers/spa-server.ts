/**
 * A static server that behaves like Vite's dev server and many SPA hosts: a path it has no file
 * for is answered with the app's index.html and status 200. `contentType` sets what such an
 * answer claims to be (text/html as Vite sends, or something less honest).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export const INDEX_HTML = '<!doctype html>\n<html lang="en">\n  <head><meta charset="UTF-8" /><title>TabZero</title></head>\n  <body><div id="root"></div><script type="module" src="/src/ui/main.tsx"></script></body>\n</html>\n';

export interface SpaServer {
  baseUrl: string;
  /** Paths requested, in order. */
  requests: string[];
  close(): Promise<void>;
}

export async function startSpaServer(files: Map<string, Uint8Array>, opts: { prefix?: string; contentType?: string } = {}): Promise<SpaServer> {
  const prefix = opts.prefix ?? '/models/m/';
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push(path);
    const file = path.startsWith(prefix) ? files.get(path.slice(prefix.length)) : undefined;
    if (file) {
      res.writeHead(200, { 'content-type': path.endsWith('.json') ? 'application/json' : 'application/octet-stream', 'content-length': file.byteLength });
      res.end(file);
      return;
    }
    res.writeHead(200, { 'content-type': opts.contentType ?? 'text/html' });
    res.end(INDEX_HTML);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}${prefix}`,
    requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
