/**
 * The GRPO update of the shipped model on tfjs-wasm in Chromium, in the production build: vite
 * builds bench/browser/grpo-update.html with this repository's vite.config.ts (minified, with its
 * plugins), vite's preview server serves it cross-origin isolated, and a module Web Worker times
 * one update (4 prompts × 8 generations, 60 + 96 tokens, micro-batch 16) with the single-threaded
 * SIMD build, the threaded build on 1 thread, and the threaded build at the app's thread count,
 * each also with this project's wasm kernels turned off (a variant ending in "-tf": tfjs-wasm's
 * kernels only), interleaved over rounds (the machine is shared: read the ranges).
 *
 *   npx tsx bench/browser-wasm-threads-update.ts [--rounds 3] [--reps 3] [--variants single,1,] [--heap]
 */
import { build, preview } from 'vite';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { launchChromium } from '../test/helpers/chromium';

const arg = (name: string, dflt: number) => (process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : dflt);
const rounds = arg('--rounds', 3);
const reps = arg('--reps', 3);
// --heap: instead of timing, how far each build's heap grows (MiB malloc'd before malloc fails).
const heap = process.argv.includes('--heap');

const root = resolve(import.meta.dirname, '..');
const outDir = mkdtempSync(join(tmpdir(), 'tabzero-threads-bench-'));
await build({
  root,
  configFile: resolve(root, 'vite.config.ts'),
  logLevel: 'error',
  build: { outDir, emptyOutDir: true, rolldownOptions: { input: resolve(root, 'bench/browser/grpo-update.html') } },
});
const server = await preview({ root, configFile: resolve(root, 'vite.config.ts'), logLevel: 'error', build: { outDir }, preview: { port: 0, host: '127.0.0.1' } });
const url = server.resolvedUrls!.local[0]!.replace(/\/$/, '');
const chromium = await launchChromium({ webgpu: false });
console.log(`load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
// '' is the app's own choice (configureWasmThreads); a number pins the pool; 'single' the other
// build; a '-tf' suffix turns this project's kernels off.
const variants = process.argv.includes('--variants') ? process.argv[process.argv.indexOf('--variants') + 1]!.split(',') : ['single', 'single-tf', '1', '1-tf', ''];
const results: Record<string, number[]> = {};
try {
  for (let r = 0; r < rounds; r++) {
    for (const v of variants) {
      const ctx = await chromium.newContext();
      const page = await ctx.newPage();
      const wasmFiles: string[] = [];
      page.on('request', (q) => void (q.url().endsWith('.wasm') && wasmFiles.push(q.url().split('/').pop()!)));
      page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
      page.on('console', (m) => void (m.type() === 'error' && console.log(`console error: ${m.text()}`)));
      const off = v.endsWith('-tf');
      const threads = off ? v.slice(0, -3) : v;
      await page.goto(`${url}/bench/browser/grpo-update.html?reps=${reps}${threads ? `&threads=${threads}` : ''}${off ? '&kernels=off' : ''}${heap ? '&heap=1' : ''}`);
      const result = (await page.evaluate(() => (window as unknown as { result: Promise<unknown> }).result)) as { update_s?: number[]; threads?: number };
      const build = threads === 'single' ? 'single-threaded build' : threads ? `threaded build, pinned to ${threads}, runs ${result.threads}` : `threaded build, app's count (${result.threads})`;
      const key = `${build}${off ? ', tfjs-wasm kernels only' : ''}`;
      (results[key] ??= []).push(...(result.update_s ?? []));
      console.log(JSON.stringify({ round: r + 1, variant: key, ...result, fetched: wasmFiles }));
      await ctx.close();
    }
  }
} finally {
  await chromium.close();
  await new Promise<void>((ok) => server.httpServer.close(() => ok()));
  rmSync(outDir, { recursive: true, force: true });
}
const single = results['single-threaded build'] ?? [];
for (const [k, t] of Object.entries(results)) {
  if (t.length === 0) continue;
  const min = Math.min(...t);
  const max = Math.max(...t);
  const median = [...t].sort((a, b) => a - b)[Math.floor(t.length / 2)]!;
  const medSingle = [...single].sort((a, b) => a - b)[Math.floor(single.length / 2)]!;
  console.log(`${k}: update ${min.toFixed(2)}–${max.toFixed(2)} s (median ${median.toFixed(2)} s; single-threaded median / this median = ${(medSingle / median).toFixed(2)}×)`);
}
console.log(`load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
