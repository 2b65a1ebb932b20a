/**
 * End-to-end plumbing: Debian's Chromium driven by playwright-core, with a fresh profile per launch,
 * in the WebGPU configurations a user's machine without a GPU can have (see docs/ARCHITECTURE.md),
 * plus helpers that read what the page shows. The app itself is served by test/helpers/app-servers.ts.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const ROOT = resolve(import.meta.dirname, '../..');
export const ARTIFACTS = join(ROOT, 'test-artifacts');
export const CHROMIUM = '/usr/bin/chromium';

const BASE_FLAGS = ['--headless', '--no-sandbox', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'];

/**
 * - 'none': no WebGPU flags, as a browser without usable WebGPU (headless Chromium still has
 *   navigator.gpu there, but requestAdapter() answers null).
 * - 'swiftshader': only --enable-unsafe-webgpu, which gives the SwiftShader software adapter: what a
 *   user without a GPU gets when WebGPU is switched on.
 * - 'llvmpipe-compat': the fast Mesa llvmpipe adapter through ANGLE/GLES, which exists only at
 *   featureLevel 'compatibility'; the harness asks for that on tfjs's behalf (ADAPTER_WRAPPER), so it
 *   is for tests that need a fast WebGPU, never for the default user path.
 */
export type WebGpuMode = 'none' | 'swiftshader' | 'llvmpipe-compat';

const WEBGPU_FLAGS: Record<WebGpuMode, string[]> = {
  none: [],
  swiftshader: ['--enable-unsafe-webgpu'],
  'llvmpipe-compat': ['--enable-unsafe-webgpu', '--use-webgpu-adapter=opengles', '--use-gl=angle', '--use-angle=gl-egl'],
};

/** tfjs asks for the adapter itself; this adds featureLevel 'compatibility' in the page and in the worker. */
export const ADAPTER_WRAPPER = `(() => {
  const gpu = self.navigator && self.navigator.gpu;
  if (!gpu || gpu.__tabzeroWrapped) return;
  const orig = gpu.requestAdapter.bind(gpu);
  gpu.requestAdapter = (opts) => orig({ ...(opts || {}), featureLevel: 'compatibility' });
  gpu.__tabzeroWrapped = true;
})();
`;

const LONG_TASKS = `(() => {
  self.__longtasks = [];
  try {
    new PerformanceObserver((list) => { for (const e of list.getEntries()) self.__longtasks.push({ start: e.startTime, duration: e.duration }); })
      .observe({ type: 'longtask', buffered: true });
  } catch (e) {}
})();`;

export interface Browser {
  context: BrowserContext;
  downloadsDir: string;
  close(): Promise<void>;
}

/** A fresh profile each time, so checkpoints from earlier runs can't leak into a test. */
export async function launchChromium(mode: WebGpuMode = 'llvmpipe-compat'): Promise<Browser> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'tabzero-e2e-profile-'));
  const downloadsDir = mkdtempSync(join(tmpdir(), 'tabzero-e2e-downloads-'));
  const xdg = mkdtempSync(join(tmpdir(), 'tabzero-xdg-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    acceptDownloads: true,
    downloadsPath: downloadsDir,
    viewport: { width: 1280, height: 720 },
    env: { ...process.env, XDG_RUNTIME_DIR: xdg },
    args: [...BASE_FLAGS, ...WEBGPU_FLAGS[mode]],
  });
  await context.addInitScript({ content: LONG_TASKS });
  if (mode === 'llvmpipe-compat') {
    await context.addInitScript({ content: ADAPTER_WRAPPER });
    // Init scripts do not run in workers: the wrapper goes in front of the training worker's script
    // as it is served (dev: /src/worker/training-worker.ts?worker_file..., build: assets/training-worker-*.js).
    await context.route(/training-worker[^/]*$|training-worker[^/]*\?/, async (route) => {
      const res = await route.fetch();
      await route.fulfill({ response: res, body: ADAPTER_WRAPPER + (await res.text()) });
    });
  }
  return {
    context,
    downloadsDir,
    async close() {
      await context.close();
      for (const d of [userDataDir, xdg, downloadsDir]) rmSync(d, { recursive: true, force: true });
    },
  };
}

export function artifactPath(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, name);
}

export async function chartPoints(page: Page, id: string): Promise<number> {
  const v = await page.locator(`[data-testid="chart-${id}"]`).getAttribute('data-points', { timeout: 1000 }).catch(() => null);
  return v === null ? 0 : Number(v);
}

export async function probeReports(page: Page): Promise<number> {
  const v = await page.getByTestId('probe-panel').getAttribute('data-reports', { timeout: 1000 }).catch(() => null);
  return v === null ? 0 : Number(v);
}

export async function stepCount(page: Page): Promise<number> {
  const t = await page.getByTestId('step-count').textContent({ timeout: 1000 }).catch(() => null);
  return Number(/(\d+)/.exec(t ?? '')?.[1] ?? 0);
}

export async function runState(page: Page): Promise<string> {
  return (await page.getByTestId('run-state').textContent({ timeout: 1000 }).catch(() => null)) ?? '';
}

export async function textOf(page: Page, testId: string): Promise<string | null> {
  const loc = page.getByTestId(testId);
  if ((await loc.count()) === 0) return null;
  return loc.first().textContent({ timeout: 1000 }).catch(() => null);
}

export async function errorBanners(page: Page): Promise<string[]> {
  return page.getByTestId('error-banner').allTextContents();
}

export async function longTasks(page: Page): Promise<{ start: number; duration: number }[]> {
  return page.evaluate(() => (self as unknown as { __longtasks: { start: number; duration: number }[] }).__longtasks);
}

export async function openTab(page: Page, name: string) {
  await page.getByRole('tab', { name }).click();
}

export function collectConsole(page: Page, into: string[]) {
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') into.push(`${m.type()}: ${m.text()}`);
    if (process.env.E2E_VERBOSE) console.log(`[page] ${m.text()}`);
  });
  page.on('pageerror', (e) => into.push(`pageerror: ${e.message}`));
}

/** The store's run state, logs and errors, for a failure message. */
export async function pageState(page: Page): Promise<unknown> {
  return page
    .evaluate(() => {
      const st = window.tabzero!.getState();
      return { runState: st.runState, logs: st.logs.map((l) => `${l.level}: ${l.message}`), errors: st.errors.map((x) => `${x.code}: ${x.message}`) };
    })
    .catch((e: unknown) => `page state unavailable: ${String(e)}`);
}

/** Runs a flow; on failure prints the page's run state, logs and errors and saves a screenshot. */
export async function reportingFailure(page: Page, name: string, flow: () => Promise<void>): Promise<void> {
  try {
    await flow();
  } catch (e) {
    console.log(`[e2e] ${name}: page state at failure:`, JSON.stringify(await pageState(page), null, 1));
    await page.screenshot({ path: artifactPath(`${name}-failure.png`) }).catch(() => undefined);
    throw e;
  }
}

/**
 * For worker-level tests that swap a fixture model into a build (not a user path: the user-path tests
 * use test/helpers/app-servers.ts): a vite build into a temp dir and a static server that answers 404
 * for missing files and prepends ADAPTER_WRAPPER to the training worker.
 */
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
