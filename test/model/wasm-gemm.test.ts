/**
 * This project's WebAssembly product kernel (src/core/kernels/wasm-gemm.wat) on tfjs-wasm: products against a float64 reference over every edge of
 * its blocking (odd rows, partial 16-column panels, shared dims across 256-wide blocks, B packed
 * whole or panel by panel, row chunks), transposed operands, batches and broadcasts; gradients
 * through matmul.ts against float64 finite differences; non-finite values propagate.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';
import { initNodeBackend } from '../../src/cli/node-webgpu';
import { GEMM, setWasmGemmEnabled, wasmCausalGemm, wasmGemm, wasmGemmAvailable } from '../../src/core/kernels/wasm-gemm';
import { matMulPlain, matMulTransposeA } from '../../src/core/model/matmul';
import { Rng } from '../../src/core/rng';
import { parseConfig } from '../../src/core/model/config';
import { CausalLM } from '../../src/core/model/causal-lm';
import { packBatch, tokenLogProbs } from '../../src/core/model/logprobs';
import { tinyConfig } from '../fixtures/tiny-configs';
import { randomWeights } from '../fixtures/random-weights';

function randomArray(n: number, rng: Rng): Float32Array {
  return Float32Array.from({ length: n }, () => rng.next() * 2 - 1);
}

/** op(a)·op(b) in float64 for a [batch, …] row-major, b likewise (batch 1 broadcasts). */
function reference(a: Float32Array, b: Float32Array, batchA: number, batchB: number, M: number, K: number, N: number, ta: boolean, tb: boolean): Float64Array {
  const batch = Math.max(batchA, batchB);
  const out = new Float64Array(batch * M * N);
  for (let n = 0; n < batch; n++) {
    const oa = batchA === 1 ? 0 : n * M * K;
    const ob = batchB === 1 ? 0 : n * K * N;
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += a[oa + (ta ? k * M + i : i * K + k)]! * b[ob + (tb ? j * K + k : k * N + j)]!;
        out[(n * M + i) * N + j] = s;
      }
  }
  return out;
}

describe('wasm product kernel', () => {
  it('equals a float64 product at every edge of its blocking, transposed, batched and broadcast', async () => {
    await initNodeBackend('wasm');
    expect(wasmGemmAvailable()).toBe(true);
    const rng = new Rng(17);
    // [batchA, batchB, M, K, N]: one element; odd rows; partial panels (N < 16, N % 16 ≠ 0);
    // K across one and several 256-wide blocks; B too big to pack whole (K 300 × N 600: one
    // panel at a time); rows beyond one chunk (K 256 → 128-row chunks); batches, broadcast B and A.
    const shapes: [number, number, number, number, number][] = [
      [1, 1, 1, 1, 1], [1, 1, 3, 5, 7], [1, 1, 9, 33, 16], [1, 1, 2, 300, 17], [1, 1, 5, 513, 40],
      [1, 1, 7, 300, 600], [1, 1, 300, 256, 20], [1, 1, 301, 256, 200], [4, 4, 5, 12, 31], [3, 1, 6, 20, 18], [1, 3, 6, 20, 18],
    ];
    const before = tf.memory().numTensors;
    let checked = 0;
    for (const [batchA, batchB, M, K, N] of shapes) {
      for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
        const a = randomArray(batchA * M * K, rng);
        const b = randomArray(batchB * K * N, rng);
        const at = tf.tensor3d(a, [batchA, ta ? K : M, ta ? M : K]);
        const bt = tf.tensor3d(b, [batchB, tb ? N : K, tb ? K : N]);
        const y = wasmGemm(at, bt, ta, tb);
        expect(y.shape).toEqual([Math.max(batchA, batchB), M, N]);
        const got = await y.data();
        const want = reference(a, b, batchA, batchB, M, K, N, ta, tb);
        let err = 0;
        // float32 rounding grows with the K terms summed; one term missing or doubled would be ~0.3.
        for (let e = 0; e < want.length; e++) err = Math.max(err, Math.abs(got[e]! - want[e]!) / K);
        expect(err, `[${batchA}, ${batchB}, ${M}, ${K}, ${N}] ta ${ta} tb ${tb}`).toBeLessThan(1e-7);
        [at, bt, y].forEach((t) => t.dispose());
        checked++;
      }
    }
    expect(checked).toBe(44);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('handles empty shapes: no rows, no columns, no shared dimension (zeros)', async () => {
    await initNodeBackend('wasm');
    const noShared = wasmGemm(tf.zeros([3, 0]), tf.zeros([0, 5]));
    expect(noShared.shape).toEqual([3, 5]);
    expect(Array.from(await noShared.data())).toEqual(new Array(15).fill(0));
    expect(wasmGemm(tf.zeros([0, 4]), tf.zeros([4, 5])).shape).toEqual([0, 5]);
    expect(wasmGemm(tf.zeros([2, 4]), tf.zeros([4, 0])).shape).toEqual([2, 0]);
    expect(() => wasmGemm(tf.zeros([2, 4]), tf.zeros([5, 3]))).toThrow(RangeError);
  });

  it('propagates NaN and infinity like a product does', async () => {
    await initNodeBackend('wasm');
    const a = tf.tensor2d([1, NaN, 2, 3, Infinity, 0, 1, 1], [4, 2]);
    const b = tf.tensor2d([1, 2, 3, 4], [2, 2]);
    const got = Array.from(await wasmGemm(a, b).data());
    expect(got.slice(0, 2).every(Number.isNaN)).toBe(true);
    expect(got.slice(2, 4)).toEqual([11, 16]);
    // ∞·1 + 0·3 and ∞·2 + 0·4.
    expect(got.slice(4, 6)).toEqual([Infinity, Infinity]);
    expect(got.slice(6, 8)).toEqual([4, 6]);
  });

  it('matMulPlain and matMulTransposeA run it, and their gradients equal float64 finite differences', async () => {
    await initNodeBackend('wasm');
    const rng = new Rng(23);
    const [M, K, N] = [5, 7, 18];
    for (const kind of ['plain', 'transposeB', 'transposeA'] as const) {
      const a = randomArray(M * K, rng);
      const b = randomArray(K * N, rng);
      const w = randomArray(M * N, rng);
      const aShape = kind === 'transposeA' ? [K, M] : [M, K];
      const bShape = kind === 'transposeB' ? [N, K] : [K, N];
      const loss = (x: Float32Array | Float64Array, y: Float32Array | Float64Array) => {
        const p = reference(Float32Array.from(x), Float32Array.from(y), 1, 1, M, K, N, kind === 'transposeA', kind === 'transposeB');
        return p.reduce((s, v, i) => s + v * w[i]!, 0);
      };
      const before = tf.memory().numTensors;
      const [at, bt, wt] = [tf.tensor2d(a, aShape as [number, number]), tf.tensor2d(b, bShape as [number, number]), tf.tensor2d(w, [M, N])];
      const f = (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(wt, kind === 'transposeA' ? matMulTransposeA(x, y) : matMulPlain(x, y, kind === 'transposeB')));
      const info = await tf.profile(() => tf.tidy(() => void f(at, bt)));
      expect(info.kernelNames).toContain(GEMM);
      const { value, grads } = tf.valueAndGrads(f)([at, bt]);
      expect(Math.abs((await value.data())[0]! - loss(a, b))).toBeLessThan(1e-4);
      // The loss is linear in each operand, so a central difference with a unit step is exact in float64.
      for (const [which, g] of [[0, await grads[0]!.data()], [1, await grads[1]!.data()]] as const) {
        const x = Float64Array.from(which === 0 ? a : b);
        let err = 0;
        let largest = 0;
        for (let e = 0; e < x.length; e++) {
          const v = x[e]!;
          x[e] = v + 0.5;
          const up = which === 0 ? loss(x, b) : loss(a, x);
          x[e] = v - 0.5;
          const down = which === 0 ? loss(x, b) : loss(a, x);
          x[e] = v;
          err = Math.max(err, Math.abs(g[e]! - (up - down)));
          largest = Math.max(largest, Math.abs(g[e]!));
        }
        expect(err, `${kind} d${which === 0 ? 'a' : 'b'}`).toBeLessThan(1e-4);
        expect(largest).toBeGreaterThan(0.1);
      }
      [at, bt, wt, value, ...grads].forEach((t) => t.dispose());
      expect(tf.memory().numTensors).toBe(before);
    }
  });

  it('steps aside when turned off: matMulPlain runs tfjs-wasm\'s own product', async () => {
    await initNodeBackend('wasm');
    setWasmGemmEnabled(false);
    try {
      expect(wasmGemmAvailable()).toBe(false);
      const info = await tf.profile(() => tf.tidy(() => void matMulPlain(tf.ones([4, 8]), tf.ones([8, 16]))));
      expect(info.kernelNames).not.toContain(GEMM);
      expect(info.kernelNames).toContain('BatchMatMul');
    } finally {
      setWasmGemmEnabled(true);
    }
  });

  it('causal attention products equal the full products wherever the causal mask keeps a term (scores above the diagonal: the full value or 0)', async () => {
    await initNodeBackend('wasm');
    const rng = new Rng(29);
    const before = tf.memory().numTensors;
    for (const [n, rep, T, D] of [[3, 2, 45, 8], [2, 1, 70, 40], [1, 2, 33, 16]] as const) {
      // Causal probabilities: row r of head h (position t = r mod T) is 0 at keys after t.
      const p = new Float32Array(n * rep * T * T);
      for (let e = 0; e < p.length; e++) {
        const col = e % T;
        const t = Math.floor(e / T) % T;
        p[e] = col <= t ? rng.next() : 0;
      }
      const probs = tf.tensor3d(p, [n, rep * T, T]);
      const q = tf.tensor3d(randomArray(n * rep * T * D, rng), [n, rep * T, D]);
      const k = tf.tensor3d(randomArray(n * T * D, rng), [n, T, D]);
      const dO = tf.tensor3d(randomArray(n * rep * T * D, rng), [n, rep * T, D]);
      const check = async (got: tf.Tensor, want: tf.Tensor, keep: (row: number, col: number) => boolean, what: string) => {
        expect(got.shape).toEqual(want.shape);
        const [g, w] = [await got.data(), await want.data()];
        const cols = want.shape[2]!;
        const rows = want.shape[1]!;
        let err = 0;
        let skipped = 0;
        for (let e = 0; e < w.length; e++) {
          const row = Math.floor(e / cols) % rows;
          // Where the mask drops the term: the full value (computed within a block) or 0 (skipped).
          if (keep(row, e % cols) || g[e] !== 0) err = Math.max(err, Math.abs(g[e]! - w[e]!));
          else skipped++;
        }
        if (what === 'scores' && T > 32) expect(skipped, 'blocks above the diagonal skipped').toBeGreaterThan(0);
        expect(err, `${what} n ${n} rep ${rep} T ${T} D ${D}`).toBeLessThan(1e-4);
        tf.dispose([got, want]);
      };
      await check(wasmCausalGemm(q, k, false, true, 'cols', T, rep), wasmGemm(q, k, false, true), (r, c) => c <= r % T, 'scores');
      await check(wasmCausalGemm(probs, k, false, false, 'k', T, rep), wasmGemm(probs, k), () => true, 'p·v');
      await check(wasmCausalGemm(probs, dO, true, false, 'kT', T, rep), wasmGemm(probs, dO, true, false), () => true, 'pᵀ·dO');
      tf.dispose([probs, q, k, dO]);
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(() => wasmCausalGemm(tf.zeros([1, 4, 2]), tf.zeros([1, 3, 2]), false, true, 'cols', 4, 1)).toThrow(RangeError);
  });

  it.each(['llama', 'qwen2'] as const)('%s: a training step through the causal products (70 positions, left padding) has the loss and gradients of one without', async (arch) => {
    await initNodeBackend('wasm');
    const config = parseConfig(tinyConfig(arch));
    const weights = randomWeights(config, 5);
    const rng = new Rng(61);
    const tok = (n: number) => Array.from({ length: n }, () => 3 + Math.floor(rng.next() * (config.vocabSize - 3)));
    // Prompts of 30 and 22 tokens (left-padded), completions of 40 and 33: 70 positions, three 32-blocks.
    const batch = packBatch([tok(30), tok(22)], [tok(40), tok(33)], 0);
    const before = tf.memory().numTensors;
    const cm = tf.tensor2d(batch.completionMask, [batch.batch, batch.length]);
    const run = async (gemm: boolean) => {
      setWasmGemmEnabled(gemm);
      try {
        const model = new CausalLM(config, weights);
        const info = await tf.profile(async () => {
          const { value, grads } = tf.variableGrads(() => tf.tidy(() => {
            const { logprobs, entropy } = tokenLogProbs(model, batch, 1, { completionOnly: true });
            return tf.sum(tf.mul(tf.add(logprobs, tf.mul(entropy, 0.2)), cm)) as tf.Scalar;
          }), [...model.weights.values()] as tf.Variable[]);
          // Variable names differ between the two models; the weights come in the same order.
          out = { loss: (await value.data())[0]!, grads: await Promise.all(Object.values(grads).map((g) => g.data())) };
          tf.dispose([value, ...Object.values(grads)]);
        });
        model.dispose();
        return { ...out!, kernels: info.kernelNames };
      } finally {
        setWasmGemmEnabled(true);
      }
    };
    let out: { loss: number; grads: tf.TypedArray[] } | undefined;
    const plain = await run(false);
    const causal = await run(true);
    expect(causal.kernels).toContain('TabZeroCausalGemm');
    expect(plain.kernels).not.toContain('TabZeroCausalGemm');
    expect(Math.abs(causal.loss - plain.loss)).toBeLessThan(1e-3 * Math.max(1, Math.abs(plain.loss)));
    let err = 0;
    let largest = 0;
    expect(causal.grads.length).toBe(plain.grads.length);
    for (const [j, g] of plain.grads.entries()) {
      for (let i = 0; i < g.length; i++) {
        err = Math.max(err, Math.abs(causal.grads[j]![i]! - g[i]!));
        largest = Math.max(largest, Math.abs(g[i]!));
      }
    }
    expect(largest).toBeGreaterThan(0.1);
    expect(err).toBeLessThan(1e-3 * largest);
    cm.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
