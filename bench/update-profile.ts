/**
 * Kernel-time profile of one micro-batch update (32 rows of the RL test's shape, shipped model) on
 * wasm: each kernel's share of the summed kernel time, and the 2-D products by shape.
 * customGrad wrappers ("unnamed scope") are left out: their kernels are counted inside.
 *
 *   npx tsx bench/update-profile.ts [--no-recompute]
 */
import * as tf from '@tensorflow/tfjs-core';
import { resolve } from 'node:path';
import { initNodeBackend } from '../src/cli/node-webgpu';
import { loadShipped, RL_SHAPE, syntheticRows, updateRunner } from './rl-shape';

async function main(): Promise<void> {
  await initNodeBackend('wasm');
  const model = loadShipped(resolve('public/models/tabzero-tiny'));
  if (process.argv.includes('--no-recompute')) model.recomputeLayers = false;
  const shape = { ...RL_SHAPE, prompts: 4 };
  const upd = updateRunner(model, shape, syntheticRows(model.config, shape));
  await upd.run();
  const t0 = performance.now();
  const info = await tf.profile(async () => void (await upd.run()));
  const wall = performance.now() - t0;
  const byName = new Map<string, number>();
  const byShape = new Map<string, [number, number, number]>();
  let total = 0;
  for (const k of info.kernels) {
    if (k.name === 'unnamed scope') continue;
    const ms = (await k.kernelTimeMs) as number;
    byName.set(k.name, (byName.get(k.name) ?? 0) + ms);
    total += ms;
    if (k.name === 'BatchMatMul' || k.name === 'TabZeroSlicedMatMul' || k.name === 'TabZeroGemm') {
      const key = `${k.name} ${k.inputShapes.map((s) => `[${s}]`).join('×')} → [${k.outputShapes[0]}]`;
      const e = byShape.get(key) ?? [0, 0, 0];
      e[0] += ms;
      e[1]++;
      // Shared dimension: a's elements per batch entry over the output's rows.
      const a = k.inputShapes[0]!;
      const o = k.outputShapes[0]!;
      const rows = o[o.length - 2]!;
      const shared = (a[a.length - 1]! * a[a.length - 2]!) / rows;
      e[2] += 2 * o.reduce((x, y) => x * y, 1) * shared;
      byShape.set(key, e);
    }
  }
  console.log(`one micro-batch update (32 rows × 156 tokens), recomputeLayers ${model.recomputeLayers}: wall ${wall.toFixed(0)} ms, kernels ${total.toFixed(0)} ms`);
  console.log([...byName].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([k, v]) => `${k} ${((100 * v) / total).toFixed(1)}%`).join(', '));
  for (const [k, [ms, n, flop]] of [...byShape].sort((a, b) => b[1][0] - a[1][0]).slice(0, 14)) console.log(`  ${k}: ${n} calls, ${((100 * ms) / total).toFixed(1)}%, ${(flop / ms / 1e6).toFixed(1)} GFLOP/s`);
}

void main();
