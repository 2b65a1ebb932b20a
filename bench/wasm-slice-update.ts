/**
 * The shipped model's update on wasm in Node with tfjs-wasm's own Slice (which copies its whole
 * input for every slice) and with src/core/kernels/wasm-slice.ts's (contiguous slices copy only
 * themselves), swapped in one process and interleaved (each run is one update with an AdamW step, so later runs start from other weights;
 * the kernels' results are equal, test/model/wasm-slice.test.ts).
 *
 *   npx tsx bench/wasm-slice-update.ts [--rounds 3]
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { loadavg } from 'node:os';
import { initNodeBackend } from '../src/cli/node-webgpu';
import { loadShipped, syntheticRows, updateRunner, type Shape } from './rl-shape';

const rounds = process.argv.includes('--rounds') ? Number(process.argv[process.argv.indexOf('--rounds') + 1]) : 3;
// tfjs-wasm registers its kernels on import; this is its own Slice, before startWasm replaces it.
const own = tf.getKernel('Slice', 'wasm')!;
await initNodeBackend('wasm');
const contiguous = tf.getKernel('Slice', 'wasm')!;
if (contiguous.kernelFunc === own.kernelFunc) throw new Error('the contiguous Slice was not installed');
const use = (k: tf.KernelConfig) => {
  tf.unregisterKernel('Slice', 'wasm');
  tf.registerKernel(k);
};

const shape: Shape = { prompts: 4, generations: 8, promptLen: 60, newTokens: 96, microBatch: 16 };
const model = loadShipped('public/models/tabzero-tiny');
const data = syntheticRows(model.config, shape);
const runs: Record<string, number[]> = { 'tfjs-wasm Slice': [], 'contiguous Slice': [] };
const upd = updateRunner(model, shape, data);
await upd.run();
console.log(`load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
for (let r = 0; r < rounds; r++) {
  for (const [name, k] of [['tfjs-wasm Slice', own], ['contiguous Slice', contiguous]] as const) {
    use(k);
    const t0 = performance.now();
    await upd.run();
    runs[name]!.push((performance.now() - t0) / 1000);
  }
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (const [name, t] of Object.entries(runs)) console.log(`${name}: update ${Math.min(...t).toFixed(2)}–${Math.max(...t).toFixed(2)} s (median ${med(t).toFixed(2)} s)`);
console.log(`tfjs-wasm Slice median / contiguous Slice median = ${(med(runs['tfjs-wasm Slice']!) / med(runs['contiguous Slice']!)).toFixed(2)}×`);
console.log(`load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
