/**
 * Attention-shaped batched products on wasm: tf.matMul (tfjs-wasm's scalar batched loop) against
 * wasmSlicedMatMul (one XNNPACK product per batch entry), at the update's and the decode step's
 * shapes of the shipped model (micro-batch 32 or 128 rows, 2 kv heads, head dim 32).
 *
 *   npx tsx bench/attention-matmul.ts
 */
import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from '../src/cli/node-webgpu';
import { wasmSlicedMatMul } from '../src/core/kernels/wasm-sliced-matmul';

async function time(f: () => tf.Tensor, reps: number): Promise<number> {
  const warm = f();
  await warm.data();
  warm.dispose();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) {
    const y = f();
    await y.data();
    y.dispose();
  }
  return (performance.now() - t0) / reps;
}

async function main(): Promise<void> {
  await initNodeBackend('wasm');
  const shapes: [string, number, number, number, number][] = [
    ['update scores q·kᵀ', 64, 312, 32, 156],
    ['update probs·v', 64, 312, 156, 32],
    ['update grad dS·k', 64, 312, 156, 32],
    ['update grad qᵀ·dS', 64, 32, 312, 156],
    ['decode scores (128 rows)', 256, 2, 32, 156],
    ['decode probs·v (128 rows)', 256, 2, 156, 32],
  ];
  for (const [name, N, M, K, P] of shapes) {
    const a = tf.randomNormal([N, M, K]) as tf.Tensor3D;
    const b = tf.randomNormal([N, K, P]) as tf.Tensor3D;
    const d = tf.tidy(() => tf.max(tf.abs(tf.sub(tf.matMul(a, b), wasmSlicedMatMul(a, b))))).dataSync()[0]!;
    const reps = 5;
    const batched = await time(() => tf.matMul(a, b), reps);
    const sliced = await time(() => wasmSlicedMatMul(a, b), reps);
    const flop = 2 * N * M * K * P;
    console.log(JSON.stringify({ name, shape: `[${N},${M},${K}]x[${N},${K},${P}]`, batched_ms: +batched.toFixed(2), sliced_ms: +sliced.toFixed(2), speedup: +(batched / sliced).toFixed(2), sliced_gflop_s: +(flop / sliced / 1e6).toFixed(1), max_abs_diff: d }));
    a.dispose();
    b.dispose();
  }
}

void main();
