/**
 * The forward-only decode kernels on WebGPU (Node: Dawn on llvmpipe) against the unfused tf ops
 * they replace, and a whole decode step through them against the full forward's logits.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
// Gradients of the core ops (Sum, Mul) are registered by the umbrella package.
import '@tensorflow/tfjs';
import { initNodeBackend } from '../../src/cli/node-webgpu';
import { APPEND_HEADS, DECODE_ATTENTION, GATED_PROJECTION, appendHeads, decodeAttention, gatedProjection, linearPlusResidual, projectAppendHeads, projectedDecodeAttention } from '../../src/core/kernels/webgpu-decode';
import { fusedRopeHeads } from '../../src/core/kernels/webgpu-fused';
import { MASKED, attentionMask, ropeTables } from '../../src/core/model/layers';
import { parseConfig } from '../../src/core/model/config';
import { CausalLM } from '../../src/core/model/causal-lm';
import { generate, generateNaive } from '../../src/core/model/generate';
import { Rng } from '../../src/core/rng';
import { tinyConfig } from '../fixtures/tiny-configs';
import { randomWeights } from '../fixtures/random-weights';
import { dispatchesDuring } from '../helpers/webgpu-dispatches';

function rand(shape: number[], rng: Rng, scale = 1): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, () => (rng.next() * 2 - 1) * scale), shape);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Float64 softmax(q·kᵀ/√D + mask)·v with grouped-query heads; mask [B, T, S]. */
function refAttention(q: Float32Array, k: Float32Array, v: Float32Array, mask: Float32Array, B: number, H: number, Hkv: number, T: number, S: number, D: number): Float64Array {
  const out = new Float64Array(B * H * T * D);
  const rep = H / Hkv;
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let t = 0; t < T; t++) {
        const kv = (b * Hkv + Math.floor(h / rep)) * S;
        const qRow = ((b * H + h) * T + t) * D;
        const s = new Float64Array(S);
        for (let j = 0; j < S; j++) {
          let acc = 0;
          for (let d = 0; d < D; d++) acc += q[qRow + d]! * k[(kv + j) * D + d]!;
          s[j] = acc / Math.sqrt(D) + mask[(b * T + t) * S + j]!;
        }
        const m = Math.max(...s);
        const e = s.map((x) => Math.exp(x - m));
        const z = e.reduce((a, x) => a + x, 0);
        for (let d = 0; d < D; d++) {
          let acc = 0;
          for (let j = 0; j < S; j++) acc += (e[j]! / z) * v[(kv + j) * D + d]!;
          out[qRow + d] = acc;
        }
      }
  return out;
}

async function kernelsRun(f: () => Promise<void>): Promise<string[]> {
  const info = await tf.profile(f);
  return info.kernelNames;
}

describe('decode kernels on webgpu', () => {
  it.each([
    // GQA, two query rows, keys over two tiles of 64, some masked.
    { B: 2, H: 4, Hkv: 2, T: 2, S: 70, D: 32 },
    // Head dim over one workgroup's 64 threads, one key.
    { B: 1, H: 2, Hkv: 2, T: 1, S: 1, D: 80 },
    // A tile boundary exactly, rep 3.
    { B: 3, H: 3, Hkv: 1, T: 1, S: 64, D: 8 },
  ])('attention equals a float64 reference ($B×$H heads/$Hkv kv, T $T, S $S, D $D)', async ({ B, H, Hkv, T, S, D }) => {
    const report = await initNodeBackend('webgpu');
    expect(report.name).toBe('webgpu');
    const rng = new Rng(B * 100 + S);
    const before = tf.memory().numTensors;
    const q = rand([B, H, T, D], rng, 2);
    const k = rand([B, Hkv, S, D], rng, 2);
    const v = rand([B, Hkv, S, D], rng);
    const maskData = Float32Array.from({ length: B * T * S }, (_, i) => (i % 7 === 3 && S > 1 ? MASKED : 0));
    const mask = tf.tensor(maskData, [B, 1, 1, T, S]);
    let got: Float32Array = new Float32Array();
    const names = await kernelsRun(async () => {
      const y = decodeAttention(q as tf.Tensor4D, k as tf.Tensor4D, v as tf.Tensor4D, mask);
      expect(y.shape).toEqual([B, H, T, D]);
      got = (await y.data()) as Float32Array;
      y.dispose();
    });
    expect(names).toContain(DECODE_ATTENTION);
    const want = refAttention((await q.data()) as Float32Array, (await k.data()) as Float32Array, (await v.data()) as Float32Array, maskData, B, H, Hkv, T, S, D);
    expect(maxAbsDiff(got, want)).toBeLessThan(1e-5);
    // Outputs vary (a constant answer would not pass by accident).
    expect(Math.max(...got) - Math.min(...got)).toBeGreaterThan(0.1);
    [q, k, v, mask].forEach((t) => t.dispose());
    expect(tf.memory().numTensors).toBe(before);
  });

  it.each([
    { inOut: false, T: 1 },
    { inOut: true, T: 2 },
  ])('attention with the query projected and RoPE\'d inside equals projection, RoPE-into-heads and the float64 attention (inOut $inOut, T $T)', async ({ inOut, T }) => {
    await initNodeBackend('webgpu');
    const rng = new Rng(T * 7 + (inOut ? 1 : 0));
    const [B, H, Hkv, S, D, K] = [2, 4, 2, 67, 16, 24];
    const before = tf.memory().numTensors;
    const x = rand([B, T, K], rng);
    const wOutIn = rand([H * D, K], rng) as tf.Tensor2D;
    const wInOut = tf.transpose(wOutIn) as tf.Tensor2D;
    const k = rand([B, Hkv, S, D], rng, 2) as tf.Tensor4D;
    const v = rand([B, Hkv, S, D], rng) as tf.Tensor4D;
    const maskData = Float32Array.from({ length: B * T * S }, (_, i) => (i % 5 === 1 ? MASKED : 0));
    const mask = tf.tensor(maskData, [B, 1, 1, T, S]);
    const positions = Int32Array.from({ length: B * T }, (_, i) => 40 + 9 * i);
    const invFreq = Float64Array.from({ length: D / 2 }, (_, i) => 1 / 10000 ** ((2 * i) / D));
    const { cos, sin } = ropeTables(invFreq, positions, B, T);
    let got: Float32Array = new Float32Array();
    const names = await kernelsRun(async () => {
      const y = projectedDecodeAttention(x, { w: inOut ? wInOut : wOutIn, inOut }, H, { cos, sin }, k, v, mask);
      expect(y.shape).toEqual([B, H, T, D]);
      got = (await y.data()) as Float32Array;
      y.dispose();
    });
    expect(names).toContain(DECODE_ATTENTION);
    expect(names).not.toContain('BatchMatMul');
    const q = tf.tidy(() => fusedRopeHeads(tf.matMul(tf.reshape(x, [B * T, K]), wOutIn, false, true), cos, sin, B, T, H, D));
    const want = refAttention((await q.data()) as Float32Array, (await k.data()) as Float32Array, (await v.data()) as Float32Array, maskData, B, H, Hkv, T, S, D);
    expect(maxAbsDiff(got, want)).toBeLessThan(1e-5);
    expect(Math.max(...got) - Math.min(...got)).toBeGreaterThan(0.1);
    [x, wOutIn, wInOut, k, v, mask, cos, sin, q].forEach((t) => t.dispose());
    expect(tf.memory().numTensors).toBe(before);
  });

  it('appending to the cache (from a projection\'s output, or projecting here) equals concat of the cache with RoPE-into-heads (keys) or split heads (values)', async () => {
    await initNodeBackend('webgpu');
    const rng = new Rng(4);
    const [B, T, S, heads, D] = [2, 1, 5, 2, 8];
    const before = tf.memory().numTensors;
    const cache = rand([B, heads, S, D], rng) as tf.Tensor4D;
    const p = rand([B, T, heads * D], rng);
    const positions = Int32Array.from({ length: B * T }, (_, i) => 3 + i);
    const invFreq = Float64Array.from({ length: D / 2 }, (_, i) => 1 / 10000 ** ((2 * i) / D));
    const { cos, sin } = ropeTables(invFreq, positions, B, T);
    const check = async (rope: boolean) => {
      let got: Float32Array = new Float32Array();
      const names = await kernelsRun(async () => {
        const y = appendHeads(p, cache, B, T, rope ? { cos, sin } : undefined);
        expect(y.shape).toEqual([B, heads, S + T, D]);
        got = (await y.data()) as Float32Array;
        y.dispose();
      });
      expect(names).toContain(APPEND_HEADS);
      const want = tf.tidy(() => {
        const fresh = rope ? fusedRopeHeads(p, cos, sin, B, T, heads, D) : tf.transpose(tf.reshape(p, [B, T, heads, D]), [0, 2, 1, 3]);
        return tf.concat([cache, fresh], 2);
      });
      expect(maxAbsDiff(got, await want.data())).toBeLessThan(1e-6);
      want.dispose();
    };
    await check(true);
    await check(false);
    // Projected here: x [B, T, K] by a weight in either layout, with and without a bias.
    const K = 12;
    const x = rand([B, T, K], rng);
    const wOutIn = rand([heads * D, K], rng) as tf.Tensor2D;
    const wInOut = tf.transpose(wOutIn) as tf.Tensor2D;
    const bias = rand([heads * D], rng) as tf.Tensor1D;
    for (const [inOut, b, rope] of [[false, null, true], [true, bias, true], [false, bias, false]] as const) {
      const y = projectAppendHeads(x, { w: inOut ? wInOut : wOutIn, bias: b, inOut }, cache, B, T, rope ? { cos, sin } : undefined);
      const want = tf.tidy(() => {
        let proj = tf.matMul(tf.reshape(x, [B * T, K]), wOutIn, false, true);
        if (b) proj = tf.add(proj, b);
        const fresh = rope ? fusedRopeHeads(proj, cos, sin, B, T, heads, D) : tf.transpose(tf.reshape(proj, [B, T, heads, D]), [0, 2, 1, 3]);
        return tf.concat([cache, fresh], 2);
      });
      expect(y.shape).toEqual([B, heads, S + T, D]);
      expect(maxAbsDiff(await y.data(), await want.data())).toBeLessThan(1e-5);
      [y, want].forEach((t) => t.dispose());
    }
    [cache, p, cos, sin, x, wOutIn, wInOut, bias].forEach((t) => t.dispose());
    expect(tf.memory().numTensors).toBe(before);
  });

  it.each([false, true])('gate/up/SwiGLU in one kernel and a matmul with the residual fused equal the unfused ops (weights [in, out]: %s)', async (inOut) => {
    await initNodeBackend('webgpu');
    const rng = new Rng(inOut ? 8 : 9);
    const [B, T, K, N] = [3, 1, 16, 24];
    const before = tf.memory().numTensors;
    const x = rand([B, T, K], rng, 2);
    const wShape = inOut ? [K, N] : [N, K];
    const wg = rand(wShape, rng) as tf.Tensor2D;
    const wu = rand(wShape, rng) as tf.Tensor2D;
    const res = rand([B, T, N], rng);
    const y = rand([B, T, N], rng);
    let got: Float32Array = new Float32Array();
    const names = await kernelsRun(async () => {
      const g = gatedProjection(x, wg, wu, inOut);
      expect(g.shape).toEqual([B, T, N]);
      got = (await g.data()) as Float32Array;
      g.dispose();
    });
    expect(names).toContain(GATED_PROJECTION);
    const want = tf.tidy(() => {
      const x2 = tf.reshape(x, [-1, K]);
      const gate = tf.matMul(x2, wg, false, !inOut);
      return tf.mul(tf.mul(gate, tf.sigmoid(gate)), tf.matMul(x2, wu, false, !inOut));
    });
    expect(maxAbsDiff(got, await want.data())).toBeLessThan(1e-5);
    expect(Math.max(...got) - Math.min(...got)).toBeGreaterThan(0.1);
    // The residual path, N → K: the gate weight read as the other layout.
    const r2 = rand([B, T, K], rng);
    const sum = linearPlusResidual(y, wg, r2, !inOut);
    const wantSum = tf.tidy(() => tf.add(r2, tf.reshape(tf.matMul(tf.reshape(y, [-1, N]), wg, false, inOut), [B, T, K])));
    expect(sum.shape).toEqual([B, T, K]);
    expect(maxAbsDiff(await sum.data(), await wantSum.data())).toBeLessThan(1e-5);
    [x, wg, wu, res, y, want, r2, sum, wantSum].forEach((t) => t.dispose());
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe.each(['llama', 'qwen2', 'gpt2'] as const)('%s decoding on webgpu through the decode kernels', (arch) => {
  it('a decode step gives the full forward\'s last logits, and greedy generate equals recomputation', async () => {
    await initNodeBackend('webgpu');
    const config = parseConfig(tinyConfig(arch));
    const before = tf.memory().numTensors;
    const model = new CausalLM(config, randomWeights(config, 9));
    const B = 2;
    const S = 9;
    const ids = Int32Array.from({ length: B * S }, (_, i) => 1 + ((i * 13) % (config.vocabSize - 1)));
    // Row 1 is left-padded by two, as batched generation pads.
    const keyMask = Int32Array.from({ length: B * S }, (_, i) => (i >= S && i < S + 2 ? 0 : 1));
    const positions = Int32Array.from({ length: B * S }, (_, i) => (i < S ? i : Math.max(0, i - S - 2)));
    const full = model.forward({ ids, batch: B, length: S, positions, attentionMask: keyMask });
    const want = (await full.logits.array()).map((row) => row[S - 1]!);
    full.logits.dispose();
    const rows = (from: number, len: number, src: Int32Array) => Int32Array.from({ length: B * len }, (_, i) => src[Math.floor(i / len) * S + from + (i % len)]!);
    const pre = model.forward({ ids: rows(0, S - 1, ids), batch: B, length: S - 1, positions: rows(0, S - 1, positions), attentionMask: rows(0, S - 1, keyMask), returnCache: true });
    pre.logits.dispose();
    let got: number[][] = [];
    const names = await kernelsRun(async () => {
      const step = model.forward({ ids: rows(S - 1, 1, ids), batch: B, length: 1, positions: rows(S - 1, 1, positions), attentionMask: keyMask, cache: pre.cache, returnCache: true, lastOnly: true });
      got = (await step.logits.array()).map((row) => row[0]!);
      step.logits.dispose();
      for (const t of [...step.cache!.keys, ...step.cache!.values]) t.dispose();
    });
    expect(names).toContain(DECODE_ATTENTION);
    if (arch !== 'gpt2') {
      expect(names).toContain(APPEND_HEADS);
      expect(names).toContain(GATED_PROJECTION);
    }
    let err = 0;
    for (let b = 0; b < B; b++) err = Math.max(err, maxAbsDiff(got[b]!, want[b]!));
    expect(err).toBeLessThan(1e-5);
    expect(Math.max(...want[0]!) - Math.min(...want[0]!)).toBeGreaterThan(0.1);
    for (const t of [...pre.cache!.keys, ...pre.cache!.values]) t.dispose();

    const prompts = [[1, 5, 9, 13], [1, 20], [1, 7, 7]];
    const opts = { maxNewTokens: 6, temperature: 0, seed: 1, eosTokenIds: [], padTokenId: 0 };
    const cached = await generate(model, prompts, opts);
    const naive = await generateNaive(model, prompts, opts);
    expect(cached.tokens).toEqual(naive.tokens);
    cached.logprobs.forEach((row, i) => row.forEach((lp, j) => expect(lp).toBeCloseTo(naive.logprobs[i]![j]!, 4)));
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('dispatches per decode token on webgpu', () => {
  it('the shipped model\'s shape (4 layers, GQA 4/2, silu) takes 8 per layer + embedding, final norm and head: 35, within the 60 target', async () => {
    await initNodeBackend('webgpu');
    const { randomInit } = await import('../../src/core/model/causal-lm');
    // public/models/tabzero-tiny/config.json; the count does not depend on the weights.
    const config = parseConfig({ model_type: 'llama', vocab_size: 384, hidden_size: 128, intermediate_size: 384, num_hidden_layers: 4, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 32, max_position_embeddings: 512, hidden_act: 'silu', rms_norm_eps: 1e-5, rope_theta: 10000, tie_word_embeddings: true });
    const model = randomInit(config, 1);
    const B = 4;
    const P = 6;
    const ones = (n: number) => new Int32Array(n).fill(1);
    const pre = model.forward({ ids: Int32Array.from({ length: B * P }, (_, i) => 3 + i), batch: B, length: P, positions: Int32Array.from({ length: B * P }, (_, i) => i % P), attentionMask: ones(B * P), returnCache: true, lastOnly: true });
    pre.logits.dispose();
    let cache = pre.cache!;
    const step = async (t: number) => {
      const out = model.forward({ ids: Int32Array.from({ length: B }, (_, i) => 5 + i), batch: B, length: 1, positions: new Int32Array(B).fill(P + t), attentionMask: ones(B * (P + t + 1)), cache, returnCache: true, lastOnly: true });
      await out.logits.data();
      out.logits.dispose();
      for (const x of [...cache.keys, ...cache.values]) x.dispose();
      cache = out.cache!;
    };
    // The first step compiles the shaders; counts are the same either way.
    await step(0);
    const n = await dispatchesDuring(() => step(1));
    expect(n).toBe(8 * config.numLayers + 3);
    expect(n).toBeLessThanOrEqual(60);
    // The RL test's rollout decodes 128 rows: every projection still folds (k/v, q with its RoPE partner, gate/up).
    const { smallFoldedProjection } = await import('../../src/core/kernels/webgpu-decode');
    for (const outputs of [2 * 2 * 32, 2 * 4 * 32, 2 * 384]) expect(smallFoldedProjection(128, outputs, 128)).toBe(true);
    for (const x of [...cache.keys, ...cache.values]) x.dispose();
    model.dispose();
  });
});

describe('decoding on webgpu past the folded-projection budget', () => {
  it('takes tfjs matmuls for the projections, the attention and append kernels without them, and gives the full forward\'s last logits', async () => {
    await initNodeBackend('webgpu');
    const { FOLDED_PROJECTION_MACS } = await import('../../src/core/kernels/webgpu-decode');
    // 64 rows × 2·1024 gate/up outputs × 160 inputs = 21 M multiply-adds; q: 64 × 2·160 × 160 = 3.3 M.
    const config = parseConfig({ ...tinyConfig('llama'), hidden_size: 160, intermediate_size: 1024, num_attention_heads: 5, num_key_value_heads: 1, num_hidden_layers: 1 });
    expect(64 * 2 * 1024 * 160).toBeGreaterThan(FOLDED_PROJECTION_MACS);
    expect(64 * 2 * 160 * 160).toBeLessThanOrEqual(FOLDED_PROJECTION_MACS);
    const before = tf.memory().numTensors;
    const model = new CausalLM(config, randomWeights(config, 2));
    const [B, S] = [64, 5];
    const ids = Int32Array.from({ length: B * S }, (_, i) => 1 + ((i * 7) % (config.vocabSize - 1)));
    const positions = Int32Array.from({ length: B * S }, (_, i) => i % S);
    const ones = (n: number) => new Int32Array(n).fill(1);
    const full = model.forward({ ids, batch: B, length: S, positions, attentionMask: ones(B * S), lastOnly: true });
    const want = (await full.logits.array()).map((row) => row[0]!);
    full.logits.dispose();
    const rows = (from: number, len: number, src: Int32Array) => Int32Array.from({ length: B * len }, (_, i) => src[Math.floor(i / len) * S + from + (i % len)]!);
    const pre = model.forward({ ids: rows(0, S - 1, ids), batch: B, length: S - 1, positions: rows(0, S - 1, positions), attentionMask: ones(B * (S - 1)), returnCache: true, lastOnly: true });
    pre.logits.dispose();
    let got: number[][] = [];
    const names = await kernelsRun(async () => {
      const step = model.forward({ ids: rows(S - 1, 1, ids), batch: B, length: 1, positions: rows(S - 1, 1, positions), attentionMask: ones(B * S), cache: pre.cache, lastOnly: true });
      got = (await step.logits.array()).map((row) => row[0]!);
      step.logits.dispose();
    });
    expect(names).toContain(DECODE_ATTENTION);
    expect(names).toContain(APPEND_HEADS);
    expect(names).not.toContain(GATED_PROJECTION);
    expect(names).toContain('TabZeroSwiGLU');
    let err = 0;
    for (let b = 0; b < B; b++) err = Math.max(err, maxAbsDiff(got[b]!, want[b]!));
    expect(err).toBeLessThan(1e-5);
    for (const t of [...pre.cache!.keys, ...pre.cache!.values]) t.dispose();
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('decode kernels stay out of training', () => {
  it('a forward under a gradient tape on webgpu runs none of them', async () => {
    await initNodeBackend('webgpu');
    const config = parseConfig(tinyConfig('llama'));
    const model = new CausalLM(config, randomWeights(config, 3));
    const mask = attentionMask(new Int32Array(4).fill(1), 2, 1, 1);
    mask.dispose();
    const names = await kernelsRun(async () => {
      const { value, grads } = tf.variableGrads(() => {
        const { logits } = model.forward({ ids: Int32Array.from([3, 4]), batch: 2, length: 1, positions: new Int32Array(2), attentionMask: new Int32Array(2).fill(1) });
        return tf.sum(logits) as tf.Scalar;
      });
      await value.data();
      value.dispose();
      Object.values(grads).forEach((g) => g.dispose());
    });
    expect(names).not.toContain(DECODE_ATTENTION);
    expect(names).not.toContain(GATED_PROJECTION);
    model.dispose();
  });
});
