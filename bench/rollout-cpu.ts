/**
 * Wall and process CPU seconds of the RL test's rollout (shipped model, 16 × 8 rows, 60-token
 * prompts, 96 new tokens with the KV cache) on wasm, repeated: for A/B comparisons between two
 * checkouts on a shared machine. The token checksum must match between them.
 *
 *   npx tsx bench/rollout-cpu.ts [repetitions] [--profile]
 */
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from '../src/cli/node-webgpu';
import { generate } from '../src/core/model/generate';
import { loadShipped, RL_SHAPE, syntheticRows } from './rl-shape';

await initNodeBackend('wasm');
const model = loadShipped(resolve('public/models/tabzero-tiny'));
const rows = syntheticRows(model.config, RL_SHAPE).prompts;
const gen = () => generate(model, rows, { maxNewTokens: RL_SHAPE.newTokens, temperature: 1, seed: 1, eosTokenIds: [-1], padTokenId: 0 });
const checksum = (tokens: number[][]) => tokens.flat().reduce((h, t) => (Math.imul(h, 31) + t) >>> 0, 7);
await gen();
if (process.argv.includes('--profile')) {
  const info = await tf.profile(async () => void (await gen()));
  const by = new Map<string, { ms: number; n: number }>();
  for (const k of info.kernels) {
    const e = by.get(k.name) ?? { ms: 0, n: 0 };
    e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    e.n++;
    by.set(k.name, e);
  }
  const sorted = [...by.entries()].sort((a, b) => b[1].ms - a[1].ms);
  const total = sorted.reduce((a, [, e]) => a + e.ms, 0);
  console.log(JSON.stringify({ kernel_ms_total: +total.toFixed(0), kernels: info.kernels.length }));
  for (const [name, e] of sorted.slice(0, 20)) console.log(`${name.padEnd(24)} ${e.ms.toFixed(0).padStart(7)} ms  ${String(e.n).padStart(6)} calls`);
}
const reps = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 2);
for (let i = 0; i < reps; i++) {
  const before = tf.memory().numTensors;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const out = await gen();
  const c = process.cpuUsage(c0);
  console.log(JSON.stringify({ wall_s: +((performance.now() - t0) / 1000).toFixed(2), cpu_s: +((c.user + c.system) / 1e6).toFixed(2), tokens_checksum: checksum(out.tokens), leaked_tensors: tf.memory().numTensors - before }));
}
