/**
 * The backend-specific fast paths (wasm: per-entry XNNPACK batched products and a buffer-sharing
 * Identity; webgpu: transposes read in place) against float64 references: products and their
 * gradients by central finite differences of a float64 function, and the model's logits against
 * the float64 reference forward, on cpu, wasm and webgpu (Node: Dawn on llvmpipe).
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
// Gradients of the core ops (Sum, Mul) are registered by the umbrella package.
import '@tensorflow/tfjs';
import { initNodeBackend } from '../../src/cli/node-webgpu';
import { matMulPlain } from '../../src/core/model/matmul';
import { SLICED_MATMUL, wasmSlicedMatMul } from '../../src/core/kernels/wasm-sliced-matmul';
import { FEW_ROWS_MATMUL, wasmFewRowsMatMul } from '../../src/core/kernels/wasm-few-rows-matmul';
import { GEMM, setWasmGemmEnabled } from '../../src/core/kernels/wasm-gemm';
import { installWasmSharedIdentity } from '../../src/core/kernels/wasm-identity';
import { parseConfig } from '../../src/core/model/config';
import { CausalLM } from '../../src/core/model/causal-lm';
import { Rng } from '../../src/core/rng';
import { tinyConfig } from '../fixtures/tiny-configs';
import { randomWeights } from '../fixtures/random-weights';
import { referenceLogits } from './reference';
import { centralDiff as centralDiffH, maxAbsDiff, randomArray } from '../helpers/numeric';
import type { BackendName } from '../../src/worker/protocol';

/** This file's finite-difference step. */
const centralDiff = (f: (x: Float64Array) => number, x: Float64Array) => centralDiffH(f, x, 1e-4);

/** Σ w ⊙ (a·b) in float64, a [N, M, K], b [N, K, P] (or [N, P, K] when transposed). */
function refLoss(a: Float64Array, b: Float64Array, w: Float64Array, N: number, M: number, K: number, P: number, tb: boolean): number {
  let s = 0;
  for (let n = 0; n < N; n++)
    for (let i = 0; i < M; i++)
      for (let j = 0; j < P; j++) {
        let acc = 0;
        for (let k = 0; k < K; k++) acc += a[(n * M + i) * K + k]! * (tb ? b[(n * P + j) * K + k]! : b[(n * K + k) * P + j]!);
        s += w[(n * M + i) * P + j]! * acc;
      }
  return s;
}

const BACKENDS: BackendName[] = ['cpu', 'wasm', 'webgpu'];

describe.each(BACKENDS)('fast products on %s', (backend) => {
  // On wasm with this project's product kernel, and without it (as on threads): XNNPACK per entry.
  it.each([[false, true], [true, true], [false, false], [true, false]])('batched matMulPlain (transposeB %s, wasm product kernel %s) and its gradients equal float64 finite differences', async (tb, gemm) => {
    const report = await initNodeBackend(backend);
    expect(report.name).toBe(backend);
    setWasmGemmEnabled(gemm);
    // [2, 3] leading dims, 9 rows: over the wasm kernel's row threshold, so the sliced path runs there.
    const lead = [2, 3];
    const N = 6;
    const [M, K, P] = [9, 5, 7];
    const rng = new Rng(11);
    const a = randomArray(N * M * K, rng);
    const b = randomArray(N * K * P, rng);
    const w = randomArray(N * M * P, rng);
    const bShape = tb ? [...lead, P, K] : [...lead, K, P];
    const before = tf.memory().numTensors;
    const at = tf.tensor(Float32Array.from(a), [...lead, M, K]);
    const bt = tf.tensor(Float32Array.from(b), bShape);
    const wt = tf.tensor(Float32Array.from(w), [...lead, M, P]);
    let run: { value: tf.Tensor; grads: tf.Tensor[] };
    try {
      run = tf.valueAndGrads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(wt, matMulPlain(x, y, tb))))([at, bt]);
    } finally {
      setWasmGemmEnabled(true);
    }
    const { value, grads } = run;
    const v = (await value.data())[0]!;
    const ga = await grads[0]!.data();
    const gb = await grads[1]!.data();
    // Loss values are sums of ~400 products: float32 relative error, not absolute.
    const want = refLoss(a, b, w, N, M, K, P, tb);
    expect(Math.abs(v - want)).toBeLessThan(1e-5 * Math.max(1, Math.abs(want)) * 10);
    const fa = centralDiff((x) => refLoss(x, b, w, N, M, K, P, tb), a);
    const fb = centralDiff((y) => refLoss(a, y, w, N, M, K, P, tb), b);
    expect(maxAbsDiff(ga, fa)).toBeLessThan(1e-5);
    expect(maxAbsDiff(gb, fb)).toBeLessThan(1e-5);
    // The gradients are not all zero (a vacuous comparison would pass above).
    expect(Math.max(...Array.from(ga, Math.abs))).toBeGreaterThan(0.1);
    [at, bt, wt, value, ...grads].forEach((t) => t.dispose());
    expect(tf.memory().numTensors).toBe(before);
  });

  it('gives the float64 reference logits on a batch whose attention products take the fast path', async () => {
    await initNodeBackend(backend);
    const config = parseConfig(tinyConfig('llama'));
    const weights = randomWeights(config, 7);
    const rows = [
      [0, 0, 5, 9, 3, 17, 4, 8, 2, 11],
      [1, 30, 2, 8, 44, 12, 6, 7, 7, 9],
    ];
    const mask = [
      [0, 0, 1, 1, 1, 1, 1, 1, 1, 1],
      [1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
    ];
    const B = 2;
    const T = rows[0]!.length;
    const positions = new Int32Array(B * T);
    mask.forEach((m, r) => {
      let c = 0;
      m.forEach((x, t) => (positions[r * T + t] = x ? c++ : 0));
    });
    const want = referenceLogits(config, weights, rows, mask);
    // wasm: this project's product kernel, then (as with several threads) XNNPACK per batch entry.
    for (const kernel of backend === 'wasm' ? [GEMM, SLICED_MATMUL] : [null]) {
      setWasmGemmEnabled(kernel !== SLICED_MATMUL);
      const before = tf.memory().numTensors;
      const model = new CausalLM(config, weights);
      let got: number[][][] = [];
      const info = await tf
        .profile(async () => {
          const { logits } = model.forward({ ids: Int32Array.from(rows.flat()), batch: B, length: T, positions, attentionMask: Int32Array.from(mask.flat()) });
          got = await logits.array();
          logits.dispose();
        })
        .finally(() => setWasmGemmEnabled(true));
      if (kernel) expect(info.kernelNames).toContain(kernel);
      let err = 0;
      for (let r = 0; r < B; r++) for (let t = 0; t < T; t++) if (mask[r]![t]) err = Math.max(err, maxAbsDiff(got[r]![t]!, want[r]![t]!));
      expect(err).toBeLessThan(1e-4);
      model.dispose();
      expect(tf.memory().numTensors).toBe(before);
    }
  });
});

describe.each(BACKENDS)('decoding on %s', (backend) => {
  it.each(backend === 'wasm' ? [GEMM, SLICED_MATMUL] : [null])('a decode step through the cache (%s on wasm; with XNNPACK, scores taken transposed) gives the full forward\'s last logits', async (kernel) => {
    await initNodeBackend(backend);
    setWasmGemmEnabled(kernel !== SLICED_MATMUL);
    const config = parseConfig(tinyConfig('llama'));
    const before = tf.memory().numTensors;
    const model = new CausalLM(config, randomWeights(config, 9));
    const B = 2;
    const S = 12;
    const ids = Int32Array.from({ length: B * S }, (_, i) => 1 + ((i * 13) % (config.vocabSize - 1)));
    const positions = Int32Array.from({ length: B * S }, (_, i) => i % S);
    const ones = (n: number) => new Int32Array(n).fill(1);
    const full = model.forward({ ids, batch: B, length: S, positions, attentionMask: ones(B * S) });
    const want = (await full.logits.array()).map((row) => row[S - 1]!);
    full.logits.dispose();
    const pick = (from: number, len: number) => Int32Array.from({ length: B * len }, (_, i) => ids[Math.floor(i / len) * S + from + (i % len)]!);
    const pos = (from: number, len: number) => Int32Array.from({ length: B * len }, (_, i) => from + (i % len));
    const pre = model.forward({ ids: pick(0, S - 1), batch: B, length: S - 1, positions: pos(0, S - 1), attentionMask: ones(B * (S - 1)), returnCache: true });
    pre.logits.dispose();
    let got: number[][] = [];
    const info = await tf
      .profile(async () => {
        const step = model.forward({ ids: pick(S - 1, 1), batch: B, length: 1, positions: pos(S - 1, 1), attentionMask: ones(B * S), cache: pre.cache, returnCache: false, lastOnly: true });
        got = (await step.logits.array()).map((row) => row[0]!);
        step.logits.dispose();
      })
      .finally(() => setWasmGemmEnabled(true));
    if (kernel) expect(info.kernelNames).toContain(kernel);
    let err = 0;
    for (let b = 0; b < B; b++) err = Math.max(err, maxAbsDiff(got[b]!, want[b]!));
    expect(err).toBeLessThan(1e-5);
    expect(Math.max(...want[0]!) - Math.min(...want[0]!)).toBeGreaterThan(0.1);
    for (const t of [...pre.cache!.keys, ...pre.cache!.values]) t.dispose();
    // After dispose: the model keeps a transposed head for decoding on wasm and cpu.
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('wasm kernels', () => {
  it('wasmSlicedMatMul equals a float64 product entry by entry, zero-sized batches included', async () => {
    await initNodeBackend('wasm');
    const rng = new Rng(3);
    const [N, M, K, P] = [5, 9, 7, 11];
    const a = randomArray(N * M * K, rng);
    const b = randomArray(N * K * P, rng);
    const at = tf.tensor3d(Float32Array.from(a), [N, M, K]);
    const bt = tf.tensor3d(Float32Array.from(b), [N, K, P]);
    const y = wasmSlicedMatMul(at, bt);
    const got = await y.data();
    let err = 0;
    for (let n = 0; n < N; n++)
      for (let i = 0; i < M; i++)
        for (let j = 0; j < P; j++) {
          let acc = 0;
          for (let k = 0; k < K; k++) acc += a[(n * M + i) * K + k]! * b[(n * K + k) * P + j]!;
          err = Math.max(err, Math.abs(got[(n * M + i) * P + j]! - acc));
        }
    expect(err).toBeLessThan(1e-5);
    const empty = wasmSlicedMatMul(tf.zeros([0, 3, 4]) as tf.Tensor3D, tf.zeros([0, 4, 2]) as tf.Tensor3D);
    expect(empty.shape).toEqual([0, 3, 2]);
    [at, bt, y, empty].forEach((t) => t.dispose());
  });

  it('wasmFewRowsMatMul equals tfjs-wasm\'s own batched product bit for bit, and matMulPlain takes it for few rows', async () => {
    await initNodeBackend('wasm');
    const rng = new Rng(5);
    // Shared dims below, at and across tfjs-wasm's 48-wide blocks; widths of one and several 16-column groups.
    for (const [N, M, K, P] of [[3, 2, 7, 16], [4, 1, 48, 32], [2, 5, 97, 48], [256, 2, 156, 32]] as const) {
      const a = Float32Array.from(randomArray(N * M * K, rng), (v) => v * 3);
      const b = Float32Array.from(randomArray(N * K * P, rng));
      // Rounding-sensitive entries: huge and tiny magnitudes, signed zeros, a NaN and an infinity.
      a[0] = 1e30;
      a[1] = -0;
      b[0] = 1e-30;
      b[P] = -0;
      if (N > 3) {
        a[M * K] = NaN;
        b[2 * K * P] = Infinity;
      }
      const at = tf.tensor3d(a, [N, M, K]);
      const bt = tf.tensor3d(b, [N, K, P]);
      const before = tf.memory().numTensors;
      const want = tf.matMul(at, bt);
      const got = wasmFewRowsMatMul(at, bt);
      // matMulPlain takes it where this project's product kernel is off (tfjs-wasm on threads).
      setWasmGemmEnabled(false);
      let viaPlain: tf.Tensor;
      try {
        viaPlain = tf.tidy(() => matMulPlain(at, bt));
      } finally {
        setWasmGemmEnabled(true);
      }
      const [w, g, v] = [await want.data(), await got.data(), await viaPlain.data()];
      expect(got.shape).toEqual([N, M, P]);
      let mismatches = 0;
      for (let e = 0; e < w.length; e++) if (!Object.is(w[e], g[e]) || !Object.is(w[e], v[e])) mismatches++;
      expect(mismatches).toBe(0);
      [want, got, viaPlain].forEach((t) => t.dispose());
      expect(tf.memory().numTensors).toBe(before);
      [at, bt].forEach((t) => t.dispose());
    }
    setWasmGemmEnabled(false);
    const profile = await tf.profile(() => tf.tidy(() => void matMulPlain(tf.ones([8, 2, 30]), tf.ones([8, 30, 32])))).finally(() => setWasmGemmEnabled(true));
    expect(profile.kernels.map((k) => k.name)).toContain(FEW_ROWS_MATMUL);
    expect(() => tf.tidy(() => void wasmFewRowsMatMul(tf.ones([2, 2, 3]) as tf.Tensor3D, tf.ones([2, 3, 8]) as tf.Tensor3D))).toThrow(RangeError);
  });

  it('Identity shares the buffer: a clone allocates no data buffer and outlives its source', async () => {
    await initNodeBackend('wasm');
    installWasmSharedIdentity();
    const x = tf.tensor1d([1, 2, 3, 4]);
    const buffers = tf.memory().numDataBuffers;
    const y = tf.clone(x);
    expect(tf.memory().numDataBuffers).toBe(buffers);
    x.dispose();
    expect(Array.from(await y.data())).toEqual([1, 2, 3, 4]);
    y.dispose();
    expect(tf.memory().numDataBuffers).toBe(buffers - 1);
  });
});

/** Float64 references of the fused chains (on flat arrays), for values and finite differences. */
function refRms(x: Float64Array, w: Float64Array, R: number, H: number, eps: number): Float64Array {
  const y = new Float64Array(R * H);
  for (let r = 0; r < R; r++) {
    let ss = 0;
    for (let c = 0; c < H; c++) ss += x[r * H + c]! ** 2;
    const s = 1 / Math.sqrt(ss / H + eps);
    for (let c = 0; c < H; c++) y[r * H + c] = x[r * H + c]! * s * w[c]!;
  }
  return y;
}

function refRope(p: Float64Array, cos: Float64Array, sin: Float64Array, B: number, T: number, heads: number, D: number): Float64Array {
  const y = new Float64Array(B * heads * T * D);
  const half = D / 2;
  for (let b = 0; b < B; b++)
    for (let h = 0; h < heads; h++)
      for (let t = 0; t < T; t++)
        for (let d = 0; d < D; d++) {
          const row = b * T + t;
          const at = (dd: number) => p[row * heads * D + h * D + dd]!;
          const rot = d < half ? -at(d + half) : at(d - half);
          y[((b * heads + h) * T + t) * D + d] = at(d) * cos[row * D + d]! + rot * sin[row * D + d]!;
        }
  return y;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

// The fused kernels exist on webgpu only; the model takes the unfused ops elsewhere (tested above).
describe.each(['webgpu'] as BackendName[])('fused chains on %s', (backend) => {
  it('RMSNorm, RoPE-into-heads and SwiGLU equal float64 references, with gradients equal to finite differences', async () => {
    await initNodeBackend(backend);
    const { fusedRmsNorm, fusedRopeHeads, fusedSwiGLU } = await import('../../src/core/kernels/webgpu-fused');
    const rng = new Rng(21);
    const before = tf.memory().numTensors;
    // RMSNorm: x [2, 3, 8].
    const [R, H, eps] = [6, 8, 1e-5];
    const x = randomArray(R * H, rng);
    const w = Float64Array.from({ length: H }, () => 0.5 + rng.next());
    const wy = randomArray(R * H, rng);
    const rms = tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.tensor(Float32Array.from(wy), [2, 3, H]), fusedRmsNorm(a, b as tf.Tensor1D, eps))));
    const r1 = rms([tf.tensor(Float32Array.from(x), [2, 3, H]), tf.tensor1d(Float32Array.from(w))]);
    expect(Math.abs((await r1.value.data())[0]! - dot(wy, refRms(x, w, R, H, eps)))).toBeLessThan(1e-4);
    expect(maxAbsDiff(await r1.grads[0]!.data(), centralDiff((xx) => dot(wy, refRms(xx, w, R, H, eps)), x))).toBeLessThan(1e-4);
    expect(maxAbsDiff(await r1.grads[1]!.data(), centralDiff((ww) => dot(wy, refRms(x, ww, R, H, eps)), w))).toBeLessThan(1e-4);
    // RoPE into heads: p [B, T, heads·D] → [B, heads, T, D].
    const [B, T, heads, D] = [2, 3, 2, 4];
    const p = randomArray(B * T * heads * D, rng);
    const ang = Array.from({ length: B * T }, () => Array.from({ length: D / 2 }, () => rng.next() * 6));
    const cos = Float64Array.from({ length: B * T * D }, (_, i) => Math.cos(ang[Math.floor(i / D)]![(i % D) % (D / 2)]!));
    const sin = Float64Array.from({ length: B * T * D }, (_, i) => Math.sin(ang[Math.floor(i / D)]![(i % D) % (D / 2)]!));
    const wr = randomArray(B * heads * T * D, rng);
    const cosT = tf.tensor4d(Float32Array.from(cos), [B, 1, T, D]);
    const sinT = tf.tensor4d(Float32Array.from(sin), [B, 1, T, D]);
    const rope = tf.valueAndGrads((a: tf.Tensor) => tf.sum(tf.mul(tf.tensor(Float32Array.from(wr), [B, heads, T, D]), fusedRopeHeads(a, cosT, sinT, B, T, heads, D))));
    const r2 = rope([tf.tensor(Float32Array.from(p), [B, T, heads * D])]);
    expect(Math.abs((await r2.value.data())[0]! - dot(wr, refRope(p, cos, sin, B, T, heads, D)))).toBeLessThan(1e-4);
    expect(maxAbsDiff(await r2.grads[0]!.data(), centralDiff((pp) => dot(wr, refRope(pp, cos, sin, B, T, heads, D)), p))).toBeLessThan(1e-4);
    // SwiGLU.
    const g = randomArray(12, rng).map((v) => v * 3);
    const u = randomArray(12, rng);
    const ws = randomArray(12, rng);
    const refSw = (gg: Float64Array, uu: Float64Array) => dot(ws, gg.map((v, i) => (v / (1 + Math.exp(-v))) * uu[i]!));
    const sw = tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.tensor(Float32Array.from(ws), [3, 4]), fusedSwiGLU(a, b))));
    const r3 = sw([tf.tensor(Float32Array.from(g), [3, 4]), tf.tensor(Float32Array.from(u), [3, 4])]);
    expect(Math.abs((await r3.value.data())[0]! - refSw(g, u))).toBeLessThan(1e-5);
    expect(maxAbsDiff(await r3.grads[0]!.data(), centralDiff((gg) => refSw(gg, u), g))).toBeLessThan(1e-4);
    expect(maxAbsDiff(await r3.grads[1]!.data(), centralDiff((uu) => refSw(g, uu), u))).toBeLessThan(1e-4);
    for (const r of [r1, r2, r3]) [r.value, ...r.grads].forEach((t) => t.dispose());
    cosT.dispose();
    sinT.dispose();
    // Inputs made inline above are owned by no tidy: count what is left beyond them.
    expect(tf.memory().numTensors - before).toBeLessThanOrEqual(10);
  });
});

describe('layer recomputation, auto', () => {
  it('recomputes only above the activation budget: not at the RL test\'s shape (32 × 156), at 256 × 156', async () => {
    await initNodeBackend('cpu');
    const { RECOMPUTE_ABOVE_BYTES } = await import('../../src/core/model/causal-lm');
    const shipped = parseConfig({ model_type: 'llama', vocab_size: 384, hidden_size: 128, intermediate_size: 384, num_hidden_layers: 4, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 32, max_position_embeddings: 512, rms_norm_eps: 1e-5, rope_theta: 10000, tie_word_embeddings: true });
    const model = new CausalLM(shipped, randomWeights(shipped, 1));
    // 4 bytes · 4 layers · 4992 tokens · (1.25 · (2·128 + 2·128 + 2·64 + 2·384) + 1.5 · 4 · 156) = 0.23e9.
    expect(model.activationBytes(32, 156)).toBe(4 * 4 * 32 * 156 * (1.25 * 1408 + 1.5 * 624));
    expect(model.activationBytes(32, 156)).toBeLessThan(RECOMPUTE_ABOVE_BYTES);
    expect(model.activationBytes(256, 156)).toBeGreaterThan(RECOMPUTE_ABOVE_BYTES);
    model.dispose();
  });
});

describe.each(BACKENDS)('layer recomputation on %s', (backend) => {
  it.each(['llama', 'qwen2', 'qwen3'] as const)('%s: recomputing layers in the backward pass gives the same loss and gradients, and leaks nothing', async (arch) => {
    await initNodeBackend(backend);
    const { packBatch, tokenLogProbs } = await import('../../src/core/model/logprobs');
    const config = parseConfig(tinyConfig(arch));
    const model = new CausalLM(config, randomWeights(config, 5));
    const batch = packBatch([[1, 5, 9, 5], [1, 20]], [[3, 4, 4, 7, 8], [6, 7, 2, 2]], 0);
    const run = async (recompute: boolean) => {
      model.recomputeLayers = recompute;
      const before = tf.memory().numTensors;
      const { value, grads } = tf.variableGrads(() => tf.tidy(() => tf.sum(tokenLogProbs(model, batch).logprobs) as tf.Scalar));
      const out = { loss: (await value.data())[0]!, grads: new Map<string, Float32Array>() };
      for (const [name, v] of model.weights) out.grads.set(name, Float32Array.from(await grads[v.name]!.data()));
      value.dispose();
      Object.values(grads).forEach((g) => g.dispose());
      expect(tf.memory().numTensors).toBe(before);
      return out;
    };
    const plain = await run(false);
    const again = await run(true);
    expect(again.loss).toBeCloseTo(plain.loss, 5);
    let err = 0;
    let scale = 0;
    for (const [name, g] of plain.grads) {
      err = Math.max(err, maxAbsDiff(g, again.grads.get(name)!));
      scale = Math.max(scale, ...Array.from(g, Math.abs));
    }
    expect(err).toBeLessThan(1e-6);
    expect(scale).toBeGreaterThan(1e-3);
    model.dispose();
  });
});
