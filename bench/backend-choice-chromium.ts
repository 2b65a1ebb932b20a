/**
 * The backend choice's measurement in headless Chromium: with no flags, with --enable-unsafe-webgpu
 * only (SwiftShader), and with the llvmpipe (GLES compatibility) flags the tests use.
 *   npx tsx bench/backend-choice-chromium.ts
 * Prints one JSON line per launch. Figures only.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { nodeWasmDir } from '../src/cli/node-webgpu';
import { CHROMIUM_PATH, COMPAT_ADAPTER_SCRIPT, serveFiles } from '../test/helpers/chromium';

const BASE = ['--headless', '--no-sandbox', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'];
const out = await build({ entryPoints: [fileURLToPath(new URL('./backend-choice-entry.ts', import.meta.url))], bundle: true, format: 'esm', platform: 'browser', write: false, logLevel: 'silent' });
const served = new Map<string, Uint8Array | string>([
  ['index.html', '<!doctype html><meta charset="utf-8"><script type="module" src="bundle.js"></script>'],
  ['bundle.js', out.outputFiles[0]!.text],
]);
for (const w of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']) {
  try {
    served.set(`wasm/${w}`, readFileSync(nodeWasmDir() + w));
  } catch {
    // not every build ships every variant
  }
}
const server = await serveFiles(served);
const launches: { name: string; args: string[]; compat?: boolean }[] = [
  { name: 'no flags', args: [] },
  { name: '--enable-unsafe-webgpu', args: ['--enable-unsafe-webgpu'] },
  { name: 'llvmpipe (GLES compat)', args: ['--enable-unsafe-webgpu', '--use-webgpu-adapter=opengles', '--use-gl=angle', '--use-angle=gl-egl'], compat: true },
];
for (const l of launches) {
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: [...BASE, ...l.args] });
  try {
    const ctx = await browser.newContext();
    if (l.compat) await ctx.addInitScript(COMPAT_ADAPTER_SCRIPT);
    const page = await ctx.newPage();
    await page.goto(server.url);
    await page.waitForFunction(() => (window as unknown as { result?: unknown }).result !== undefined, undefined, { timeout: 120_000 });
    const result = await page.evaluate(() => (window as unknown as { result?: unknown }).result);
    console.log(JSON.stringify({ launch: l.name, result }));
  } finally {
    await browser.close();
  }
}
await server.close();
