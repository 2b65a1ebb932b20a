/**
 * Headless Chromium for tests, with WebGPU on machines without a GPU (see docs/ARCHITECTURE.md, "Testing WebGPU without a GPU"): Debian's
 * /usr/bin/chromium driven by playwright-core, ANGLE on EGL so WebGPU runs on Mesa llvmpipe
 * through the GLES compatibility adapter. Also a static file server on 127.0.0.1 (a secure context).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

const BASE_FLAGS = ['--headless', '--no-sandbox', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'];
const WEBGPU_FLAGS = ['--enable-unsafe-webgpu', '--use-webgpu-adapter=opengles', '--use-gl=angle', '--use-angle=gl-egl'];

/**
 * tfjs requests its adapter itself; llvmpipe's GLES adapter only exists at featureLevel
 * 'compatibility', so the test page asks for that on tfjs's behalf. Product code never relies on it.
 */
export const COMPAT_ADAPTER_SCRIPT = `(() => {
  const gpu = navigator.gpu;
  if (!gpu) return;
  const request = gpu.requestAdapter.bind(gpu);
  gpu.requestAdapter = (opts) => request({ ...(opts || {}), featureLevel: 'compatibility' });
})();`;

export interface LaunchedChromium {
  browser: Browser;
  /** A fresh context whose pages (and dedicated workers' navigator.gpu, via the page) use the compat adapter. */
  newContext(): Promise<BrowserContext>;
  close(): Promise<void>;
}

export async function launchChromium(opts: { webgpu?: boolean } = {}): Promise<LaunchedChromium> {
  const webgpu = opts.webgpu ?? true;
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    // Playwright gives each launch a fresh temporary profile (it refuses an explicit --user-data-dir here).
    args: [...BASE_FLAGS, ...(webgpu ? WEBGPU_FLAGS : [])],
  });
  return {
    browser,
    async newContext() {
      const ctx = await browser.newContext();
      if (webgpu) await ctx.addInitScript(COMPAT_ADAPTER_SCRIPT);
      return ctx;
    },
    async close() {
      await browser.close();
    },
  };
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
};

export interface StaticServer {
  url: string;
  close(): Promise<void>;
}

/** Serve an in-memory file map (path without leading slash → content) on 127.0.0.1 at a free port. */
export async function serveFiles(files: Map<string, Uint8Array | string>): Promise<StaticServer> {
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname.slice(1)) || 'index.html';
    const body = files.get(path);
    if (body === undefined) {
      res.writeHead(404).end('not found');
      return;
    }
    const ext = path.slice(path.lastIndexOf('.'));
    res.writeHead(200, { 'content-type': TYPES[ext] ?? 'application/octet-stream', 'cache-control': 'no-store' });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
