/**
 * AdamW's fused WebGPU update (Node: Dawn on llvmpipe) against the unfused ops on cpu: weights,
 * moments and gradient norms over steps with clipping on and off, decayed and undecayed variables.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from '../../src/cli/node-webgpu';
import { AdamW } from '../../src/core/grpo/optimizer';
import { ADAMW_MOMENT, ADAMW_WEIGHT } from '../../src/core/kernels/webgpu-adamw';
import { Rng } from '../../src/core/rng';

// A norm weight (no decay), a small matrix, and a 2.2M-entry one (34k workgroups of 64).
const SHAPES: Record<string, number[]> = { 'model.norm.weight': [40], 'layer.weight': [7, 9], 'big.weight': [1100, 2000] };

function hostData(seed: number, scale: number): Map<string, Float32Array> {
  const rng = new Rng(seed);
  const out = new Map<string, Float32Array>();
  for (const [name, shape] of Object.entries(SHAPES)) {
    const n = shape.reduce((a, b) => a * b, 1);
    out.set(name, Float32Array.from({ length: n }, () => (rng.next() * 2 - 1) * scale));
  }
  return out;
}

interface Run {
  norms: number[];
  state: Map<string, Float32Array>;
  kernels: string[];
}

async function run(backend: 'cpu' | 'webgpu'): Promise<Run> {
  const report = await initNodeBackend(backend);
  expect(report.name).toBe(backend);
  const init = hostData(1, 1);
  const vars = new Map([...init].map(([name, d]) => [name, tf.tidy(() => tf.variable(tf.tensor(d, SHAPES[name]!)))]));
  // Clipping bites on the first two steps (norm ≈ 10 and 5 against 2), not on the third (0.05).
  const opt = new AdamW(vars, { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.1, maxGradNorm: 2 });
  const norms: number[] = [];
  const kernels = new Set<string>();
  for (const [step, scale] of [[0, 0.015], [1, 0.0075], [2, 0.000075]] as const) {
    const g = hostData(10 + step, scale);
    const grads = Object.fromEntries([...g].map(([name, d]) => [name, tf.tensor(d, SHAPES[name]!)]));
    const info = await tf.profile(async () => {
      norms.push((await opt.step(grads, 0.05)).gradNorm);
    });
    info.kernelNames.forEach((k) => kernels.add(k));
    Object.values(grads).forEach((t) => t.dispose());
  }
  const state = new Map<string, Float32Array>();
  for (const [name, v] of vars) state.set(`p.${name}`, Float32Array.from(await v.data()));
  for (const [name, t] of (await opt.exportState()).tensors) state.set(name, t.data);
  opt.dispose();
  vars.forEach((v) => v.dispose());
  return { norms, state, kernels: [...kernels] };
}

describe('AdamW on webgpu', () => {
  it('the fused update equals the unfused ops on cpu: weights, moments and gradient norms over three steps', async () => {
    const cpu = await run('cpu');
    const before = tf.memory().numTensors;
    const gpu = await run('webgpu');
    expect(tf.memory().numTensors).toBe(before);
    expect(gpu.kernels).toContain(ADAMW_MOMENT);
    expect(gpu.kernels).toContain(ADAMW_WEIGHT);
    expect(cpu.kernels).not.toContain(ADAMW_WEIGHT);
    expect(gpu.norms[0]).toBeGreaterThan(2);
    expect(gpu.norms[2]).toBeLessThan(2);
    gpu.norms.forEach((n, i) => expect(Math.abs(n - cpu.norms[i]!) / cpu.norms[i]!).toBeLessThan(1e-5));
    for (const [name, want] of cpu.state) {
      const got = gpu.state.get(name)!;
      let err = 0;
      let scale = 0;
      for (let i = 0; i < want.length; i++) {
        err = Math.max(err, Math.abs(got[i]! - want[i]!));
        scale = Math.max(scale, Math.abs(want[i]!));
      }
      expect(scale, name).toBeGreaterThan(0);
      expect(err / scale, name).toBeLessThan(1e-5);
    }
    // The weights moved (a step that did nothing would compare equal too).
    const p0 = hostData(1, 1).get('layer.weight')!;
    expect(Math.max(...Array.from(gpu.state.get('p.layer.weight')!, (x, i) => Math.abs(x - p0[i]!)))).toBeGreaterThan(0.01);
  });
});
