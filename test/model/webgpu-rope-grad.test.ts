/**
 * The one-dispatch gradient of RoPE-into-heads on WebGPU (Node: Dawn on llvmpipe) against the
 * gradient of the unfused tf ops, and the GPU dispatches of a training step of a small Llama model,
 * whose hand-written layer backward (src/core/model/llama-layer-grad.ts) is to take that kernel.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
// Gradients of the core ops (Sum, Mul, Slice, Concat) are registered by the umbrella package.
import '@tensorflow/tfjs';
import { initNodeBackend } from '../../src/cli/node-webgpu';
import { fusedRopeHeads } from '../../src/core/kernels/webgpu-fused';
import { ROPE_HEADS_GRAD } from '../../src/core/kernels/webgpu-rope-grad';
import { applyRope, ropeTables } from '../../src/core/model/layers';
import { parseConfig } from '../../src/core/model/config';
import { CausalLM } from '../../src/core/model/causal-lm';
import { tinyConfig } from '../fixtures/tiny-configs';
import { randomWeights } from '../fixtures/random-weights';
import { Rng } from '../../src/core/rng';
import { dispatchesDuring } from '../helpers/webgpu-dispatches';

describe('RoPE-into-heads gradient on webgpu', () => {
  it.each([
    { B: 2, T: 3, heads: 2, D: 8 },
    { B: 1, T: 5, heads: 3, D: 32 },
  ])('equals the unfused ops\' gradient (B $B, T $T, heads $heads, D $D)', async ({ B, T, heads, D }) => {
    const report = await initNodeBackend('webgpu');
    expect(report.name).toBe('webgpu');
    const rng = new Rng(B * 10 + D);
    const before = tf.memory().numTensors;
    const n = B * T * heads * D;
    const p = tf.tensor(Float32Array.from({ length: n }, () => rng.next() * 2 - 1), [B, T, heads * D]);
    const w = tf.tensor(Float32Array.from({ length: n }, () => rng.next() * 2 - 1), [B, heads, T, D]);
    const positions = Int32Array.from({ length: B * T }, (_, i) => 2 + 3 * i);
    const invFreq = Float64Array.from({ length: D / 2 }, (_, i) => 1 / 10000 ** ((2 * i) / D));
    const { cos, sin } = ropeTables(invFreq, positions, B, T);
    const fused = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(w, fusedRopeHeads(x, cos, sin, B, T, heads, D))));
    const plain = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(w, applyRope(tf.transpose(tf.reshape(x, [B, T, heads, D]), [0, 2, 1, 3]) as tf.Tensor4D, cos, sin))));
    let got: Float32Array = new Float32Array();
    const info = await tf.profile(async () => {
      const g = fused(p);
      expect(g.shape).toEqual([B, T, heads * D]);
      got = (await g.data()) as Float32Array;
      g.dispose();
    });
    expect(info.kernelNames).toContain(ROPE_HEADS_GRAD);
    const wantT = plain(p);
    const want = await wantT.data();
    let err = 0;
    for (let i = 0; i < n; i++) err = Math.max(err, Math.abs(got[i]! - want[i]!));
    expect(err).toBeLessThan(1e-6);
    expect(Math.max(...Array.from(want, Math.abs))).toBeGreaterThan(0.1);
    [p, w, cos, sin, wantT].forEach((t) => t.dispose());
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('a training step of a Llama model on webgpu', () => {
  it('takes the one-dispatch RoPE gradient for q and k in every layer, within a dispatch budget', async () => {
    const report = await initNodeBackend('webgpu');
    expect(report.name).toBe('webgpu');
    const config = parseConfig(tinyConfig('llama'));
    expect(config.qkNorm).toBeFalsy();
    const model = new CausalLM(config, randomWeights(config, 5));
    const [B, T, V] = [2, 6, config.vocabSize];
    const ids = Int32Array.from({ length: B * T }, (_, i) => 3 + ((i * 7) % (V - 3)));
    const positions = Int32Array.from({ length: B * T }, (_, i) => i % T);
    const attentionMask = new Int32Array(B * T).fill(1);
    const rng = new Rng(6);
    const lw = tf.tensor3d(Float32Array.from({ length: B * T * V }, () => rng.next() * 2 - 1), [B, T, V]);
    const step = async () => {
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(model.forward({ ids, batch: B, length: T, positions, attentionMask }).logits, lw)) as tf.Scalar);
      await value.data();
      value.dispose();
      Object.values(grads).forEach((g) => g.dispose());
    };
    // Once first: shaders compile and kernels register on first use.
    await step();
    const before = tf.memory().numTensors;
    let dispatches = 0;
    const info = await tf.profile(async () => void (dispatches = await dispatchesDuring(step)));
    // Measured 211 with the kernel; 227 with RoPE's gradient as tf ops in the layer's backward
    // (two products, a rotate-half product, a sum and the heads' transpose, for q and for k).
    expect(dispatches).toBeLessThanOrEqual(211);
    expect(info.kernels.filter((k) => k.name === ROPE_HEADS_GRAD)).toHaveLength(2 * config.numLayers);
    expect(tf.memory().numTensors).toBe(before);
    lw.dispose();
    model.dispose();
  });
});
