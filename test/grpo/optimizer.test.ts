import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { AdamW, NonFiniteError, learningRateAt } from '../../src/core/grpo/optimizer';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const OPTS = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01, maxGradNorm: 0 };

function setup(init: number[], opts = OPTS) {
  const w = tf.variable(tf.tensor1d(init));
  const opt = new AdamW(new Map([['w', w]]), opts);
  const step = async (g: number[], lr: number) => {
    const gt = tf.tensor1d(g);
    try {
      return await opt.step({ w: gt }, lr);
    } finally {
      gt.dispose();
    }
  };
  const dispose = () => {
    opt.dispose();
    w.dispose();
  };
  return { w, opt, step, dispose };
}

describe('AdamW', () => {
  it('two steps equal a hand computation (decoupled decay, bias correction)', async () => {
    const s = setup([1, -2]);
    await s.step([0.5, -0.1], 0.1);
    // Step 1: m̂ = g, v̂ = g², update = g/|g| = ±1; p ← p·(1 − 0.1·0.01) − 0.1·update.
    const p1 = [1 * 0.999 - 0.1, -2 * 0.999 + 0.1];
    expect(Array.from(s.w.dataSync())[0]).toBeCloseTo(p1[0]!, 6);
    expect(Array.from(s.w.dataSync())[1]).toBeCloseTo(p1[1]!, 6);
    await s.step([0.5, 0.3], 0.1);
    // Step 2: m = 0.9·m1 + 0.1·g2, v = 0.999·v1 + 0.001·g2².
    const m = [0.9 * 0.05 + 0.05, 0.9 * -0.01 + 0.03];
    const v = [0.999 * 0.00025 + 0.001 * 0.25, 0.999 * 0.00001 + 0.001 * 0.09];
    const bc1 = 1 - 0.9 ** 2;
    const bc2 = 1 - 0.999 ** 2;
    const p2 = p1.map((p, i) => p * 0.999 - (0.1 * (m[i]! / bc1)) / (Math.sqrt(v[i]! / bc2) + 1e-8));
    const got = Array.from(s.w.dataSync());
    expect(got[0]).toBeCloseTo(p2[0]!, 5);
    expect(got[1]).toBeCloseTo(p2[1]!, 5);
    expect(s.opt.stepCount).toBe(2);
    s.dispose();
  });

  it('clips to max_grad_norm and reports the pre-clip norm', async () => {
    const s = setup([0, 0], { ...OPTS, weightDecay: 0, maxGradNorm: 0.1 });
    // |(3, 4)| = 5 → scaled by 0.1/5; step 2's gradient is unclipped (|(0.06, 0)| < 0.1).
    expect((await s.step([3, 4], 1)).gradNorm).toBeCloseTo(5, 5);
    expect((await s.step([0.06, 0], 1)).gradNorm).toBeCloseTo(0.06, 6);
    const c = 0.1 / (5 + 1e-6);
    const g1 = [3 * c, 4 * c];
    const g2 = [0.06, 0];
    const p1 = [-1, -1];
    const m = g1.map((g, i) => 0.9 * 0.1 * g + 0.1 * g2[i]!);
    const v = g1.map((g, i) => 0.999 * 0.001 * g * g + 0.001 * g2[i]! ** 2);
    const p2 = p1.map((p, i) => p - m[i]! / (1 - 0.81) / (Math.sqrt(v[i]! / (1 - 0.999 ** 2)) + 1e-8));
    const got = Array.from(s.w.dataSync());
    expect(got[0]).toBeCloseTo(p2[0]!, 4);
    expect(got[1]).toBeCloseTo(p2[1]!, 4);
    s.dispose();
  });

  it('refuses a NaN or Inf gradient before touching weights or moments', async () => {
    const s = setup([1, 2]);
    await expect(s.step([Number.NaN, 1], 0.1)).rejects.toThrow(NonFiniteError);
    await expect(s.step([Number.POSITIVE_INFINITY, 1], 0.1)).rejects.toThrow(/not finite/);
    expect(Array.from(s.w.dataSync())).toEqual([1, 2]);
    expect(s.opt.stepCount).toBe(0);
    // A later finite step behaves as a first step (moments untouched).
    await s.step([0.5, -0.1], 0.1);
    expect(Array.from(s.w.dataSync())[0]).toBeCloseTo(0.899, 6);
    s.dispose();
  });

  it('holds exactly two moment tensors per variable', () => {
    const w = tf.variable(tf.zeros([100, 10]));
    const before = tf.memory();
    const opt = new AdamW(new Map([['w', w]]), OPTS);
    expect(tf.memory().numTensors - before.numTensors).toBe(2);
    expect(tf.memory().numBytes - before.numBytes).toBe(2 * 100 * 10 * 4);
    opt.dispose();
    expect(tf.memory().numTensors).toBe(before.numTensors);
    w.dispose();
  });

  it('leaks no tensors across steps', async () => {
    const s = setup([1, 2, 3]);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) await s.step([0.1, -0.2, 0.3], 0.01);
    expect(tf.memory().numTensors).toBe(before);
    s.dispose();
  });
});

describe('learningRateAt', () => {
  it('follows transformers schedules with warmup', async () => {
    // 10 steps, warmup ratio 0.2 → 2 warmup steps.
    expect(learningRateAt(0, 1, 'linear', 10, 0.2)).toBe(0);
    expect(learningRateAt(1, 1, 'linear', 10, 0.2)).toBe(0.5);
    expect(learningRateAt(2, 1, 'linear', 10, 0.2)).toBe(1);
    expect(learningRateAt(6, 1, 'linear', 10, 0.2)).toBe(0.5);
    expect(learningRateAt(10, 1, 'linear', 10, 0.2)).toBe(0);
    expect(learningRateAt(6, 1, 'cosine', 10, 0.2)).toBeCloseTo(0.5, 12);
    expect(learningRateAt(4, 1, 'cosine', 10, 0.2)).toBeCloseTo(0.5 * (1 + Math.cos(Math.PI / 4)), 12);
    expect(learningRateAt(1, 1, 'constant', 10, 0.2)).toBe(0.5);
    expect(learningRateAt(7, 2e-3, 'constant', 10, 0)).toBe(2e-3);
  });
});
