/** The one-dispatch gradient of RoPE-into-heads on WebGPU (Node: Dawn on llvmpipe) against the gradient of the unfused tf ops. */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
// Gradients of the core ops (Sum, Mul, Slice, Concat) are registered by the umbrella package.
import '@tensorflow/tfjs';
import { initNodeBackend } from '../../src/cli/node-webgpu';
import { fusedRopeHeads } from '../../src/core/kernels/webgpu-fused';
import { ROPE_HEADS_GRAD } from '../../src/core/kernels/webgpu-rope-grad';
import { applyRope, ropeTables } from '../../src/core/model/layers';
import { Rng } from '../../src/core/rng';

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
