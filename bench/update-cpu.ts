/**
 * Wall and process CPU seconds of the RL test's update (shipped model, 16 × 8 rows, 60 + 96
 * tokens, micro-batch 32) on wasm, repeated: for A/B comparisons between two checkouts on a shared
 * machine, where CPU time moves far less with the load than wall time does. Run it in each
 * checkout, interleaved; the loss must match between them.
 *
 *   npx tsx bench/update-cpu.ts [repetitions] [--recompute]
 */
import { resolve } from 'node:path';
import { initNodeBackend } from '../src/cli/node-webgpu';
import { loadShipped, RL_SHAPE, syntheticRows, updateRunner } from './rl-shape';

await initNodeBackend('wasm');
const model = loadShipped(resolve('public/models/tabzero-tiny'));
model.recomputeLayers = process.argv.includes('--recompute');
const upd = updateRunner(model, RL_SHAPE, syntheticRows(model.config, RL_SHAPE));
await upd.run();
const reps = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 2);
for (let i = 0; i < reps; i++) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const loss = await upd.run();
  const c = process.cpuUsage(c0);
  console.log(JSON.stringify({ recomputeLayers: model.recomputeLayers, wall_s: +((performance.now() - t0) / 1000).toFixed(2), cpu_s: +((c.user + c.system) / 1e6).toFixed(2), loss }));
}
