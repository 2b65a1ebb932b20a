/**
 * Time to score 128 completions with a 20-line user reward: the QuickJS sandbox (the product)
 * against the worker sandbox it replaced (the user's source eval'd in a worker_threads Worker, the
 * batch posted in, one message back per completion, as src/core/rewards/sandbox.ts did before).
 * Cold = first batch, including starting the engine or worker and evaluating the source; warm =
 * the median of the next batches. Both run in this process, one after the other, same inputs.
 * Run: npx tsx bench/reward-sandbox.ts [--rounds N]
 */
import { Worker } from 'node:worker_threads';
import { createSandboxedReward } from '../src/core/rewards/sandbox';

import { COMPLETIONS as completions, N, PROBLEMS as problems, REWARD, median } from './reward-fixture';

const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1]) || 10;

async function timeQuickJs(): Promise<{ cold: number; warm: number; sum: number }> {
  const t0 = performance.now();
  const f = await createSandboxedReward({ name: 'bench', source: REWARD });
  let out = await f.score(completions, problems);
  const cold = performance.now() - t0;
  const warm: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t = performance.now();
    out = await f.score(completions, problems);
    warm.push(performance.now() - t);
  }
  f.dispose();
  return { cold, warm: median(warm), sum: out.reduce<number>((a, b) => a + Number(b ?? 0), 0) };
}

/** The replaced design: one eval'd worker per function, items posted in, one reply per item. */
async function timeWorker(): Promise<{ cold: number; warm: number; sum: number }> {
  const script =
    "const pp = require('node:worker_threads').parentPort;\nconst fn = (\n" +
    REWARD +
    "\n);\npp.on('message', (msg) => { for (let i = 0; i < msg.items.length; i++) { const it = msg.items[i]; pp.postMessage({ id: msg.id, index: i, value: fn(it.completion, it.problem) }); } });\npp.postMessage({ ready: true });";
  const t0 = performance.now();
  const w = new Worker(script, { eval: true, resourceLimits: { maxOldGenerationSizeMb: 256 } });
  await new Promise<void>((ok) => w.once('message', () => ok()));
  let id = 0;
  const batch = () =>
    new Promise<number[]>((ok) => {
      const my = ++id;
      const out = new Array<number>(N);
      let got = 0;
      const on = (m: { id: number; index: number; value: number }) => {
        if (m.id !== my) return;
        out[m.index] = m.value;
        if (++got === N) {
          w.off('message', on);
          ok(out);
        }
      };
      w.on('message', on);
      w.postMessage({ id: my, items: completions.map((completion, i) => ({ completion, problem: problems[i] })) });
    });
  let out = await batch();
  const cold = performance.now() - t0;
  const warm: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t = performance.now();
    out = await batch();
    warm.push(performance.now() - t);
  }
  await w.terminate();
  return { cold, warm: median(warm), sum: out.reduce((a, b) => a + b, 0) };
}

const q = await timeQuickJs();
const w = await timeWorker();
if (Math.abs(q.sum - w.sum) > 1e-9) throw new Error(`the two sandboxes disagree: ${q.sum} vs ${w.sum}`);
const row = (name: string, r: { cold: number; warm: number }) => `| ${name} | ${r.cold.toFixed(1)} | ${r.warm.toFixed(2)} |`;
console.log(`128 completions, 20-line reward, ${rounds} warm rounds (median)\n`);
console.log('| sandbox | cold ms (start + first batch) | warm ms per batch |\n|---|---|---|');
console.log(row('QuickJS (wasm), this build', q));
console.log(row('worker_threads eval worker (replaced)', w));
console.log(`\nwarm ratio QuickJS / worker: ${(q.warm / w.warm).toFixed(2)}; cold ratio: ${(q.cold / w.cold).toFixed(2)}`);
