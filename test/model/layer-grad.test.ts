/**
 * The hand-written backward passes of the Llama decoder layer (src/core/model/attention-grad.ts,
 * llama-layer-grad.ts) against central finite differences of float64 references, on cpu, wasm
 * and webgpu (Node: Dawn on llvmpipe): the attention core with grouped-query heads and a padding
 * mask, RMSNorm, RoPE and SwiGLU one by one, then whole models (llama; qwen2 with q/k/v biases;
 * qwen3 with q/k norms), every layer weight's gradient against the float64 reference forward.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';
import { initNodeBackend } from '../../src/cli/node-webgpu';
import { attentionForward, attentionGrad, rmsNormGrad, ropeForward, ropeGrad, swigluGrad } from '../../src/core/model/attention-grad';
import { applyRope, attentionMask, ropeInvFreq, ropeTables } from '../../src/core/model/layers';
import { llamaLayerWithGrad } from '../../src/core/model/llama-layer-grad';
import { webgpuFusedAvailable } from '../../src/core/kernels/webgpu-fused';
import { parseConfig } from '../../src/core/model/config';
import { CausalLM } from '../../src/core/model/causal-lm';
import { Rng } from '../../src/core/rng';
import { tinyConfig } from '../fixtures/tiny-configs';
import { randomWeights } from '../fixtures/random-weights';
import { referenceLogits } from './reference';
import { centralDiff as centralDiffH, randomArray } from '../helpers/numeric';
import type { BackendName } from '../../src/worker/protocol';

/** This file's finite-difference step. */
const centralDiff = (f: (x: Float64Array) => number, x: Float64Array) => centralDiffH(f, x, 1e-5);

const BACKENDS: BackendName[] = ['cpu', 'wasm', 'webgpu'];

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** max |a − b| / max(1, max |b|). */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    m = Math.max(m, Math.abs(a[i]! - b[i]!));
    s = Math.max(s, Math.abs(b[i]!));
  }
  return m / Math.max(1, s);
}

/** Float64 attention: q [B,H,T,D], k, v [B,Hkv,S,D], additive mask [B,T,S] → [B,H,T,D]. */
function refAttention(q: Float64Array, k: Float64Array, v: Float64Array, mask: Float64Array, B: number, H: number, Hkv: number, T: number, S: number, D: number): Float64Array {
  const out = new Float64Array(B * H * T * D);
  const rep = H / Hkv;
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / rep);
      for (let t = 0; t < T; t++) {
        const sc = new Float64Array(S);
        let mx = -Infinity;
        for (let s = 0; s < S; s++) {
          let acc = 0;
          for (let d = 0; d < D; d++) acc += q[((b * H + h) * T + t) * D + d]! * k[((b * Hkv + g) * S + s) * D + d]!;
          sc[s] = acc / Math.sqrt(D) + mask[(b * T + t) * S + s]!;
          mx = Math.max(mx, sc[s]!);
        }
        let z = 0;
        for (let s = 0; s < S; s++) z += (sc[s] = Math.exp(sc[s]! - mx));
        for (let d = 0; d < D; d++) {
          let acc = 0;
          for (let s = 0; s < S; s++) acc += (sc[s]! / z) * v[((b * Hkv + g) * S + s) * D + d]!;
          out[((b * H + h) * T + t) * D + d] = acc;
        }
      }
    }
  return out;
}

function refRmsRows(x: Float64Array, w: Float64Array, H: number, eps: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let r = 0; r < x.length / H; r++) {
    let ss = 0;
    for (let c = 0; c < H; c++) ss += x[r * H + c]! ** 2;
    const s = 1 / Math.sqrt(ss / H + eps);
    for (let c = 0; c < H; c++) y[r * H + c] = x[r * H + c]! * s * w[c]!;
  }
  return y;
}

/** RoPE on x [R, D] rows with per-row cos/sin [R, D] (halves repeated). */
function refRopeRows(x: Float64Array, cos: Float64Array, sin: Float64Array, D: number): Float64Array {
  const y = new Float64Array(x.length);
  const half = D / 2;
  for (let r = 0; r < x.length / D; r++)
    for (let d = 0; d < D; d++) {
      const rot = d < half ? -x[r * D + d + half]! : x[r * D + d - half]!;
      y[r * D + d] = x[r * D + d]! * cos[r * D + d]! + rot * sin[r * D + d]!;
    }
  return y;
}

const f32 = (a: Float64Array, shape: number[]) => tf.tensor(Float32Array.from(a), shape);

describe.each(BACKENDS)('hand-written gradients on %s', (backend) => {
  it('attention (grouped-query heads, padded keys) equals float64 finite differences', async () => {
    await initNodeBackend(backend);
    const [B, H, Hkv, T, D] = [2, 4, 2, 9, 4];
    const rng = new Rng(31);
    const q = randomArray(B * H * T * D, rng, 1.5);
    const k = randomArray(B * Hkv * T * D, rng, 1.5);
    const v = randomArray(B * Hkv * T * D, rng);
    // Row 0 has three left pads. Their queries see no real key: in float32 the -1e9 mask swamps
    // their scores (uniform weights, no gradient), in float64 it does not; the loss leaves them out.
    const w = randomArray(B * H * T * D, rng).map((x, i) => (Math.floor(i / (H * T * D)) === 0 && Math.floor(i / D) % T < 3 ? 0 : x));
    const keyMask = Int32Array.from({ length: B * T }, (_, i) => (i < 3 ? 0 : 1));
    const before = tf.memory().numTensors;
    const maskT = attentionMask(keyMask, B, T, 0);
    const mask = Float64Array.from(await maskT.data());
    const [qt, kt, vt, wt] = [f32(q, [B, H, T, D]), f32(k, [B, Hkv, T, D]), f32(v, [B, Hkv, T, D]), f32(w, [B, H, T, D])];
    // The forward runs inside a caller's tidy; the backward frees its own intermediates.
    const { out, probs } = tf.tidy(() => attentionForward(qt as tf.Tensor4D, kt as tf.Tensor4D, vt as tf.Tensor4D, maskT));
    const held = tf.memory().numTensors;
    const grads = attentionGrad(qt as tf.Tensor4D, kt as tf.Tensor4D, vt as tf.Tensor4D, probs, wt as tf.Tensor4D);
    expect(tf.memory().numTensors - held).toBe(3);
    const loss = (qq: Float64Array, kk: Float64Array, vv: Float64Array) => dot(w, refAttention(qq, kk, vv, mask, B, H, Hkv, T, T, D));
    expect(Math.abs(dot(w, await out.data()) - loss(q, k, v))).toBeLessThan(1e-4);
    const want = [centralDiff((x) => loss(x, k, v), q), centralDiff((x) => loss(q, x, v), k), centralDiff((x) => loss(q, k, x), v)];
    for (let i = 0; i < 3; i++) {
      const got = await grads[i]!.data();
      expect(relErr(got, want[i]!), ['dq', 'dk', 'dv'][i]).toBeLessThan(1e-4);
      expect(Math.max(...Array.from(got, Math.abs))).toBeGreaterThan(0.05);
    }
    tf.dispose([qt, kt, vt, wt, out, probs, maskT, ...grads]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('RMSNorm, RoPE and SwiGLU equal float64 finite differences', async () => {
    await initNodeBackend(backend);
    const rng = new Rng(32);
    const before = tf.memory().numTensors;
    // RMSNorm over [2, 3, 8].
    const [R, Hd, eps] = [6, 8, 1e-5];
    const x = randomArray(R * Hd, rng);
    const w = Float64Array.from({ length: Hd }, () => 0.5 + rng.next());
    const wy = randomArray(R * Hd, rng);
    const [dx, dw] = rmsNormGrad(f32(x, [2, 3, Hd]), f32(w, [Hd]), eps, f32(wy, [2, 3, Hd]));
    expect(relErr(await dx.data(), centralDiff((xx) => dot(wy, refRmsRows(xx, w, Hd, eps)), x))).toBeLessThan(1e-4);
    expect(relErr(await dw.data(), centralDiff((ww) => dot(wy, refRmsRows(x, ww, Hd, eps)), w))).toBeLessThan(1e-4);
    // RoPE on [B, heads, T, D] with tables [B, 1, T, D].
    const [B, heads, T, D] = [2, 3, 4, 6];
    const p = randomArray(B * heads * T * D, rng);
    const ang = Array.from({ length: B * T }, () => Array.from({ length: D / 2 }, () => rng.next() * 6));
    const table = (fn: (a: number) => number) => Float64Array.from({ length: B * T * D }, (_, i) => fn(ang[Math.floor(i / D)]![(i % D) % (D / 2)]!));
    const [cos, sin] = [table(Math.cos), table(Math.sin)];
    // Per-(b, head, t) rows of the tables, for the row-wise reference.
    const rows = (tbl: Float64Array) => Float64Array.from({ length: B * heads * T * D }, (_, i) => {
      const b = Math.floor(i / (heads * T * D));
      const t = Math.floor(i / D) % T;
      return tbl[(b * T + t) * D + (i % D)]!;
    });
    const wr = randomArray(B * heads * T * D, rng);
    const [cosT, sinT, pT] = [f32(cos, [B, 1, T, D]) as tf.Tensor4D, f32(sin, [B, 1, T, D]) as tf.Tensor4D, f32(p, [B, heads, T, D]) as tf.Tensor4D];
    const dp = ropeGrad(f32(wr, [B, heads, T, D]) as tf.Tensor4D, cosT, sinT);
    expect(relErr(await dp.data(), centralDiff((pp) => dot(wr, refRopeRows(pp, rows(cos), rows(sin), D)), p))).toBeLessThan(1e-4);
    // The forward equals layers.ts's applyRope bit for bit (rotate_half as an exact product).
    const [viaProduct, viaConcat] = [ropeForward(pT, cosT, sinT), tf.tidy(() => applyRope(pT, cosT, sinT))];
    expect(Array.from(await viaProduct.data())).toEqual(Array.from(await viaConcat.data()));
    expect(relErr(await viaProduct.data(), refRopeRows(p, rows(cos), rows(sin), D))).toBeLessThan(1e-5);
    tf.dispose([viaProduct, viaConcat]);
    // SwiGLU.
    const g = randomArray(12, rng, 3);
    const u = randomArray(12, rng);
    const ws = randomArray(12, rng);
    const sw = (gg: Float64Array, uu: Float64Array) => dot(ws, gg.map((vv, i) => (vv / (1 + Math.exp(-vv))) * uu[i]!));
    const [dg, du] = swigluGrad(f32(g, [3, 4]), f32(u, [3, 4]), f32(ws, [3, 4]));
    expect(relErr(await dg.data(), centralDiff((gg) => sw(gg, u), g))).toBeLessThan(1e-4);
    expect(relErr(await du.data(), centralDiff((uu) => sw(g, uu), u))).toBeLessThan(1e-4);
    tf.dispose([dx, dw, dp, dg, du]);
    // Inputs made inline above belong to no tidy: 10 of them.
    expect(tf.memory().numTensors - before).toBe(10);
  });

  it.each(['llama', 'qwen2', 'qwen3'] as const)('%s: a layer differentiated for its input alone frees the weight gradients it computed', async (arch) => {
    await initNodeBackend(backend);
    const config = parseConfig(tinyConfig(arch));
    const [B, T, Hd] = [2, 5, config.hiddenSize];
    const l = 'model.layers.0.';
    const host = [...randomWeights(config, 21)].filter(([n]) => n.startsWith(l));
    const before = tf.memory().numTensors;
    // HF's [out, in] layout.
    const ws = new Map(host.map(([n, t]) => [n.slice(l.length), tf.tensor(t.data, t.shape)]));
    const rng = new Rng(22);
    const x = tf.tensor3d(Float32Array.from({ length: B * T * Hd }, () => rng.next() * 2 - 1), [B, T, Hd]);
    const { cos, sin } = ropeTables(ropeInvFreq(config), Int32Array.from({ length: B * T }, (_, i) => i % T), B, T);
    const mask = attentionMask(new Int32Array(B * T).fill(1), B, T, 0);
    const inputs = [x, cos, sin, mask, ...ws.values()];
    const dx = tf.grad((xx: tf.Tensor) => tf.sum(llamaLayerWithGrad(config, xx, ws, { B, T, cos, sin, mask, fused: webgpuFusedAvailable(), outIn: true })))(x);
    expect(dx.shape).toEqual([B, T, Hd]);
    expect(Math.max(...Array.from(await dx.data(), Math.abs))).toBeGreaterThan(0.01);
    // Only dx is new: the op's gradFunc computed every weight's gradient too, nobody took them.
    expect(tf.memory().numTensors - before).toBe(inputs.length + 1);
    tf.dispose([dx, ...inputs]);
  });

  it.each(['llama', 'qwen2', 'qwen3'] as const)('%s: every weight\'s gradient through the model equals finite differences of the float64 reference forward, and nothing leaks', async (arch) => {
    await initNodeBackend(backend);
    const config = parseConfig(tinyConfig(arch));
    const weights = randomWeights(config, 13);
    const ids = [
      [0, 0, 5, 9, 3, 17, 4, 8, 2, 11],
      [1, 30, 2, 8, 44, 12, 6, 7, 7, 9],
    ];
    const mask = [
      [0, 0, 1, 1, 1, 1, 1, 1, 1, 1],
      [1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
    ];
    const [B, T, V] = [2, 10, config.vocabSize];
    const positions = new Int32Array(B * T);
    mask.forEach((m, r) => {
      let c = 0;
      m.forEach((x, t) => (positions[r * T + t] = x ? c++ : 0));
    });
    const rng = new Rng(14);
    // Loss Σ w ⊙ logits over real positions.
    const lw = Float64Array.from({ length: B * T * V }, (_, i) => (mask[Math.floor(i / (T * V))]![Math.floor(i / V) % T] ? rng.next() * 2 - 1 : 0));
    const refLoss = () => dot(lw, referenceLogits(config, weights, ids, mask).flat(2));
    const model = new CausalLM(config, weights);
    const before = tf.memory().numTensors;
    const lwT = tf.tensor3d(Float32Array.from(lw), [B, T, V]);
    const { value, grads } = tf.variableGrads(() => {
      const { logits } = model.forward({ ids: Int32Array.from(ids.flat()), batch: B, length: T, positions, attentionMask: Int32Array.from(mask.flat()) });
      return tf.sum(tf.mul(logits, lwT)) as tf.Scalar;
    });
    expect(Math.abs((await value.data())[0]! - refLoss())).toBeLessThan(1e-3);
    let checked = 0;
    const linear = new Set(model.tensorSpecs().filter((sp) => sp.linear).map((sp) => sp.name));
    for (const [name, v] of model.weights) {
      if (!name.startsWith('model.layers.')) continue;
      const got = await grads[v.name]!.data();
      const host = weights.get(name)!;
      // The engine may hold a linear weight transposed; map the HF index to the engine's.
      const [rowsHF, colsHF] = host.shape.length === 2 ? host.shape : [1, host.shape[0]!];
      const flipped = model.transposedLinear && linear.has(name);
      // A few entries per tensor (each costs two float64 forwards).
      for (const j of [0, Math.floor(host.data.length / 2), host.data.length - 1]) {
        const orig = host.data[j]!;
        host.data[j] = Math.fround(orig + 1e-3);
        const up = refLoss();
        const hi = host.data[j]!;
        host.data[j] = Math.fround(orig - 1e-3);
        const down = refLoss();
        const lo = host.data[j]!;
        host.data[j] = orig;
        const fd = (up - down) / (hi - lo);
        const r = Math.floor(j / colsHF);
        const c = j % colsHF;
        const g = got[flipped ? c * rowsHF + r : j]!;
        expect(Math.abs(g - fd), `${name}[${j}]: ${g} vs ${fd}`).toBeLessThan(2e-3 * Math.max(1, Math.abs(fd)));
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(9 * 3 * config.numLayers);
    value.dispose();
    lwT.dispose();
    Object.values(grads).forEach((g) => g.dispose());
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});
