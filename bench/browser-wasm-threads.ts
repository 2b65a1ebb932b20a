/**
 * Multi-threaded tfjs-wasm in Chromium: vite's dev server (this repository's vite.config.ts, with
 * its cross-origin isolation headers) serves bench/browser/wasm-threads.html; the page reports
 * whether it is isolated, which .wasm it fetched, the threads tfjs-wasm runs, and 2-D product
 * GFLOP/s with the single-threaded build, the threaded build pinned to 1 thread and at the app's
 * thread count (src/core/backend.ts's startWasm), in the same run.
 *
 *   npx tsx bench/browser-wasm-threads.ts
 */
import { createServer } from 'vite';
import { resolve } from 'node:path';
import { loadavg } from 'node:os';
import { launchChromium } from '../test/helpers/chromium';

async function main(): Promise<void> {
  const root = resolve(import.meta.dirname, '..');
  const server = await createServer({ root, configFile: resolve(root, 'vite.config.ts'), logLevel: 'error', server: { port: 0, host: '127.0.0.1' } });
  await server.listen();
  const addr = server.httpServer!.address() as { port: number };
  const base = `http://127.0.0.1:${addr.port}/bench/browser/wasm-threads.html`;
  const chromium = await launchChromium({ webgpu: false });
  console.log(`load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  try {
    for (const q of ['?threads=single', '?threads=1', '']) {
      const ctx = await chromium.newContext();
      const page = await ctx.newPage();
      const wasmFiles: string[] = [];
      page.on('request', (r) => void (r.url().endsWith('.wasm') && wasmFiles.push(r.url().split('/').pop()!)));
      page.on('console', (m) => void (m.type() === 'error' && console.log(`page error: ${m.text()}`)));
      page.on('worker', (w) => wasmFiles.push(`worker:${w.url().slice(0, 60)}`));
      await page.goto(base + q);
      const result = await page.evaluate(() => (window as unknown as { result: Promise<unknown> }).result);
      console.log(JSON.stringify({ query: q || "(the app's thread count)", ...(result as object), fetched: wasmFiles }));
      await ctx.close();
    }
  } finally {
    await chromium.close();
    await server.close();
  }
}

void main();
