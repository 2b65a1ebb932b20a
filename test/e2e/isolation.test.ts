/**
 * The dev server (vite.config.ts) serves the app cross-origin isolated, so tfjs-wasm can load its
 * multi-threaded build: the page and the training worker report crossOriginIsolated, the worker
 * fetches the threaded .wasm, and the embedded model still loads on wasm in the worker (Chromium
 * without WebGPU flags, so wasm is the backend).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type ViteDevServer } from 'vite';
import { join } from 'node:path';
import { launchChromium, type LaunchedChromium } from '../helpers/chromium';
import { ROOT } from './harness';

let server: ViteDevServer;
let chromium: LaunchedChromium;
let url = '';

beforeAll(async () => {
  server = await createServer({ root: ROOT, configFile: join(ROOT, 'vite.config.ts'), logLevel: 'error', server: { port: 0, host: '127.0.0.1' } });
  await server.listen();
  url = `http://127.0.0.1:${(server.httpServer!.address() as { port: number }).port}/`;
  chromium = await launchChromium({ webgpu: false });
});

afterAll(async () => {
  await chromium?.close();
  await server?.close();
});

describe('cross-origin isolation', () => {
  it('the page and the worker are isolated, the threaded wasm build loads, and the embedded model loads', async () => {
    const ctx = await chromium.newContext();
    const page = await ctx.newPage();
    const wasmFiles: string[] = [];
    page.on('request', (r) => void (r.url().endsWith('.wasm') && wasmFiles.push(r.url().split('/').pop()!)));
    const response = await page.goto(url);
    expect(response!.headers()['cross-origin-embedder-policy']).toBe('require-corp');
    expect(response!.headers()['cross-origin-opener-policy']).toBe('same-origin');
    expect(await page.evaluate(() => self.crossOriginIsolated)).toBe(true);
    await expect.poll(() => page.getByTestId('backend-badge').textContent().catch(() => ''), { timeout: 240_000, interval: 500 }).toContain('wasm');
    const worker = page.workers().find((w) => !w.url().startsWith('blob:'));
    expect(worker, 'the training worker').toBeDefined();
    expect(await worker!.evaluate(() => self.crossOriginIsolated)).toBe(true);
    expect(wasmFiles).toContain('tfjs-backend-wasm-threaded-simd.wasm');
    await ctx.close();
  }, 600_000);
});
