/**
 * End-to-end plumbing: build the app with vite into a temp dir, serve it on 127.0.0.1, and drive
 * Debian's Chromium with playwright-core on a software WebGPU adapter (see docs/ARCHITECTURE.md).
 */
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, statSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import { chromium, type BrowserContext } from 'playwright-core';

export const ROOT = resolve(import.meta.dirname, '../..');
export const ARTIFACTS = join(ROOT, 'test-artifacts');

export async function buildApp(): Promise<string> {
  const { build } = await import('vite');
  const outDir = mkdtempSync(join(tmpdir(), 'tabzero-e2e-build-'));
  // vitest sets NODE_ENV=test, which would make vite bundle React's development build.
  const env = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({ root: ROOT, configFile: join(ROOT, 'vite.config.ts'), mode: 'production', logLevel: 'error', build: { outDir, emptyOutDir: true } });
  } finally {
    process.env.NODE_ENV = env;
  }
  return outDir;
}

/**
 * tfjs asks for the adapter itself, so the harness (never the product) adds featureLevel
 * 'compatibility' to get the fast GLES adapter. It runs in the page and, prepended by the
 * server, in the training worker.
 */
export const ADAPTER_WRAPPER = `(() => {
  const gpu = self.navigator && self.navigator.gpu;
  if (!gpu || gpu.__tabzeroWrapped) return;
  const orig = gpu.requestAdapter.bind(gpu);
  gpu.requestAdapter = (opts) => orig({ ...(opts || {}), featureLevel: 'compatibility' });
  gpu.__tabzeroWrapped = true;
})();
`;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.txt': 'text/plain; charset=utf-8',
};

export interface StaticServer {
  url: string;
  close(): Promise<void>;
}

export async function serveStatic(dir: string): Promise<StaticServer> {
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    let file = normalize(join(dir, path));
    if (!file.startsWith(dir)) {
      res.writeHead(403).end();
      return;
    }
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    if (!existsSync(file)) {
      res.writeHead(404).end('not found');
      return;
    }
    let body: Buffer = readFileSync(file);
    if (/training-worker[^/]*\.js$/.test(file)) body = Buffer.concat([Buffer.from(ADAPTER_WRAPPER), body]);
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
    res.end(body);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

export interface Browser {
  context: BrowserContext;
  downloadsDir: string;
  close(): Promise<void>;
}

/** A fresh profile each time, so checkpoints from earlier runs can't leak into a test. */
export async function launchChromium(): Promise<Browser> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'tabzero-e2e-profile-'));
  const downloadsDir = mkdtempSync(join(tmpdir(), 'tabzero-e2e-downloads-'));
  const xdg = mkdtempSync(join(tmpdir(), 'tabzero-xdg-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    acceptDownloads: true,
    downloadsPath: downloadsDir,
    viewport: { width: 1280, height: 720 },
    env: { ...process.env, XDG_RUNTIME_DIR: xdg },
    args: [
      '--headless',
      '--no-sandbox',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
      '--enable-unsafe-webgpu',
      '--use-webgpu-adapter=opengles',
      '--use-gl=angle',
      '--use-angle=gl-egl',
    ],
  });
  await context.addInitScript({ content: ADAPTER_WRAPPER });
  await context.addInitScript({
    content: `(() => {
      self.__longtasks = [];
      try {
        new PerformanceObserver((list) => { for (const e of list.getEntries()) self.__longtasks.push({ start: e.startTime, duration: e.duration }); })
          .observe({ type: 'longtask', buffered: true });
      } catch (e) {}
    })();`,
  });
  return {
    context,
    downloadsDir,
    async close() {
      await context.close();
      for (const d of [userDataDir, xdg]) rmSync(d, { recursive: true, force: true });
    },
  };
}

export function artifactPath(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, name);
}
