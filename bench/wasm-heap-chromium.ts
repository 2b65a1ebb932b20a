/**
 * How far the wasm backend's heap grows in headless Chromium (blocks malloc'd until malloc fails;
 * untouched, so cheap). Node's figure: `npx tsx bench/wasm-heap.ts`.
 *   npx tsx bench/wasm-heap-chromium.ts
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { nodeWasmDir } from '../src/cli/node-webgpu';
import { CHROMIUM_PATH, serveFiles } from '../test/helpers/chromium';

const out = await build({ entryPoints: [fileURLToPath(new URL('./wasm-heap-entry.ts', import.meta.url))], bundle: true, format: 'esm', platform: 'browser', write: false, logLevel: 'silent' });
const served = new Map<string, Uint8Array | string>([
  ['index.html', '<!doctype html><meta charset="utf-8"><script type="module" src="bundle.js"></script>'],
  ['bundle.js', out.outputFiles[0]!.text],
]);
for (const w of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm']) served.set(`wasm/${w}`, readFileSync(nodeWasmDir() + w));
const server = await serveFiles(served);
const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ['--headless', '--no-sandbox', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'] });
try {
  const page = await (await browser.newContext()).newPage();
  await page.goto(server.url);
  await page.waitForFunction(() => (window as unknown as { result?: unknown }).result !== undefined, undefined, { timeout: 120_000 });
  console.log(JSON.stringify({ chromium: await page.evaluate(() => (window as unknown as { result?: unknown }).result) }));
} finally {
  await browser.close();
  await server.close();
}
