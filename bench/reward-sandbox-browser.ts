/**
 * The same figure as bench/reward-sandbox.ts, in Chromium: inside a dedicated Worker (where the
 * training worker runs rewards), the QuickJS sandbox against the Blob-URL Worker sandbox it
 * replaced (the source in a nested worker, the batch posted in, one message back per completion).
 * Run: npx tsx bench/reward-sandbox-browser.ts [--rounds N]
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { launchChromium, ROOT } from '../test/e2e/harness';

const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1]) || 10;

const WORKER = `
import { createSandboxedReward } from './src/core/rewards/sandbox';
import { COMPLETIONS, N, PROBLEMS, REWARD, median } from './bench/reward-fixture';
const rounds = ${rounds};

async function quickjs() {
  const t0 = performance.now();
  const f = await createSandboxedReward({ name: 'bench', source: REWARD });
  let out = await f.score(COMPLETIONS, PROBLEMS);
  const cold = performance.now() - t0;
  const warm = [];
  for (let r = 0; r < rounds; r++) { const t = performance.now(); out = await f.score(COMPLETIONS, PROBLEMS); warm.push(performance.now() - t); }
  f.dispose();
  return { cold, warm: median(warm), sum: out.reduce((a, b) => a + b, 0) };
}

async function blobWorker() {
  const script = 'const fn = (\\n' + REWARD + '\\n);\\nself.onmessage = (e) => { const m = e.data; for (let i = 0; i < m.items.length; i++) { const it = m.items[i]; self.postMessage({ id: m.id, index: i, value: fn(it.completion, it.problem) }); } };\\nself.postMessage({ ready: true });';
  const t0 = performance.now();
  const url = URL.createObjectURL(new Blob([script], { type: 'text/javascript' }));
  const w = new Worker(url);
  await new Promise((ok) => (w.onmessage = () => ok()));
  let id = 0;
  const batch = () => new Promise((ok) => {
    const my = ++id; const out = new Array(N); let got = 0;
    w.onmessage = (e) => { if (e.data.id !== my) return; out[e.data.index] = e.data.value; if (++got === N) ok(out); };
    w.postMessage({ id: my, items: COMPLETIONS.map((completion, i) => ({ completion, problem: PROBLEMS[i] })) });
  });
  let out = await batch();
  const cold = performance.now() - t0;
  const warm = [];
  for (let r = 0; r < rounds; r++) { const t = performance.now(); out = await batch(); warm.push(performance.now() - t); }
  w.terminate();
  return { cold, warm: median(warm), sum: out.reduce((a, b) => a + b, 0) };
}

self.onmessage = async () => self.postMessage({ quickjs: await quickjs(), worker: await blobWorker() });
`;

const dir = mkdtempSync(join(tmpdir(), 'tabzero-bench-'));
await esbuild.build({ stdin: { contents: WORKER, resolveDir: ROOT, loader: 'ts' }, bundle: true, format: 'esm', platform: 'browser', outfile: join(dir, 'worker.js'), logLevel: 'silent' });
writeFileSync(join(dir, 'index.html'), '<!doctype html><script>self.result = new Promise((ok) => { const w = new Worker("worker.js", { type: "module" }); w.onmessage = (e) => ok(e.data); w.postMessage(1); });</script>');
const server = createServer((req, res) => {
  const name = (req.url ?? '/').split('?')[0] === '/' ? 'index.html' : (req.url ?? '').slice(1);
  let body: Buffer;
  try {
    body = readFileSync(join(dir, name));
  } catch {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'content-type': name.endsWith('.html') ? 'text/html' : 'text/javascript' }).end(body);
});
await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
const browser = await launchChromium();
try {
  const page = await browser.context.newPage();
  await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/index.html`);
  const r = (await page.evaluate(() => (self as unknown as { result: Promise<unknown> }).result)) as Record<'quickjs' | 'worker', { cold: number; warm: number; sum: number }>;
  if (Math.abs(r.quickjs.sum - r.worker.sum) > 1e-9) throw new Error(`the two sandboxes disagree: ${r.quickjs.sum} vs ${r.worker.sum}`);
  const row = (name: string, x: { cold: number; warm: number }) => `| ${name} | ${x.cold.toFixed(1)} | ${x.warm.toFixed(2)} |`;
  console.log(`Chromium, inside a dedicated Worker: 128 completions, 20-line reward, ${rounds} warm rounds (median)\n`);
  console.log('| sandbox | cold ms (start + first batch) | warm ms per batch |\n|---|---|---|');
  console.log(row('QuickJS (wasm), this build', r.quickjs));
  console.log(row('Blob-URL Worker (replaced)', r.worker));
  console.log(`\nwarm ratio QuickJS / worker: ${(r.quickjs.warm / r.worker.warm).toFixed(2)}; cold ratio: ${(r.quickjs.cold / r.worker.cold).toFixed(2)}`);
} finally {
  await browser.close();
  server.close();
  rmSync(dir, { recursive: true, force: true });
}
