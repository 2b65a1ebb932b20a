/**
 * Backward passes written out by hand for the Llama decoder layer's pieces, so that a training
 * forward keeps only what these need (as PyTorch's autograd does) instead of every intermediate
 * tfjs's ops save for their own gradients: softmax internals, raw and masked scores, the rsqrt
 * chain of RMSNorm, sigmoid(gate) and gate·sigmoid(gate), RoPE's slices and concat.
 * Each function frees its own intermediates as it goes (a backward pass's tidy would otherwise
 * hold them all at once) and records nothing on the gradient tape.
 */
import * as tf from '@tensorflow/tfjs-core';
import { matMulPlain, matMulTransposeA as matMulTA, preferTransposedProduct } from './matmul';
import { wasmFusedAvailable, wasmRmsNormGrad, wasmSoftmaxGrad, wasmSwiGLUGrad } from '../kernels/wasm-fused';
import { wasmCausalGemm, wasmGemmAvailable } from '../kernels/wasm-gemm';

/**
 * Attention here is a decoder's, always causal: with no cached past (S = T) every key after a
 * query is masked to probability 0, so on wasm the products skip those blocks (about 40% of
 * attention's arithmetic at 156 positions). Only where no tape records these products (they
 * carry no gradient of their own). Exact for every query with a real key at or before it; a
 * left-padding query, whose every key is masked, gets its uniform average over fewer keys: its
 * position is never a key anyone attends to, its logits are sliced off or masked, and its
 * gradient is 0, so nothing read changes (test/model/wasm-gemm.test.ts trains through both).
 */
function causalSkip(T: number, S: number, taped: boolean): boolean {
  return S === T && !taped && wasmGemmAvailable();
}

/**
 * Gradients of y = x·W (W stored [in, out]) or y = x·Wᵀ (W stored [out, in], `outIn`), x [N, in],
 * dy [N, out]: [dx, dW].
 */
export function linearGrad(x: tf.Tensor, w: tf.Tensor, dy: tf.Tensor, outIn: boolean): [tf.Tensor, tf.Tensor] {
  if (outIn) return [tf.tidy(() => matMulPlain(dy, w)), tf.tidy(() => matMulTA(dy, x))];
  return [tf.tidy(() => matMulPlain(dy, w, true)), tf.tidy(() => matMulTA(x, dy))];
}

/**
 * y = x · rstd · w with rstd = 1/sqrt(mean(x²) + eps) over the last axis: [dx, dw], rstd
 * recomputed from x (one reduction) rather than kept from the forward pass.
 */
export function rmsNormGrad(x: tf.Tensor, w: tf.Tensor, eps: number, dy: tf.Tensor): [tf.Tensor, tf.Tensor] {
  if (wasmFusedAvailable()) return wasmRmsNormGrad(x, w, eps, dy);
  return tf.tidy(() => rmsNormGradKept(x, w, eps, dy));
}

function rmsNormGradKept(x: tf.Tensor, w: tf.Tensor, eps: number, dy: tf.Tensor): [tf.Tensor, tf.Tensor] {
  const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps));
  const xhat = tf.mul(x, rstd);
  const H = x.shape[x.rank - 1]!;
  const dw = tf.sum(tf.reshape(tf.mul(dy, xhat), [-1, H]), 0);
  const g = tf.mul(dy, w);
  const dx = tf.mul(rstd, tf.sub(g, tf.mul(xhat, tf.mean(tf.mul(g, xhat), -1, true))));
  return [dx, dw];
}

/**
 * rotate_half(x) = [-x2, x1] over the last axis of a [B, heads, T, D] tensor as one product with
 * a signed permutation matrix (or its transpose, u ↦ [u2, -u1]): every output is one ±x term plus
 * zeros, so exact, and one fast 2-D product instead of two slices, a neg and a concat (tfjs-wasm's
 * Slice copies and its Reverse is slower still).
 */
function rotateHalf(x: tf.Tensor4D, transposed: boolean): tf.Tensor4D {
  const D = x.shape[3];
  const half = D / 2;
  const r = new Float32Array(D * D);
  for (let i = 0; i < half; i++) {
    // (x·R)_i = -x_{i+half} for i < half, x_{i-half} for i ≥ half; Rᵀ swaps the roles.
    r[transposed ? i * D + (i + half) : (i + half) * D + i] = -1;
    r[transposed ? (i + half) * D + i : i * D + (i + half)] = 1;
  }
  return tf.tidy(() => tf.reshape(matMulPlain(tf.reshape(x, [-1, D]), tf.tensor2d(r, [D, D])), x.shape) as tf.Tensor4D);
}

/** RoPE, y = x·cos + rotate_half(x)·sin: the products and sum of layers.ts's applyRope, bit for bit. */
export function ropeForward(x: tf.Tensor4D, cos: tf.Tensor4D, sin: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.add(tf.mul(x, cos), tf.mul(rotateHalf(x, false), sin)) as tf.Tensor4D);
}

/** RoPE's gradient: dx = dy·cos + rotate_halfᵀ(dy·sin). */
export function ropeGrad(dy: tf.Tensor4D, cos: tf.Tensor4D, sin: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.add(tf.mul(dy, cos), rotateHalf(tf.mul(dy, sin) as tf.Tensor4D, true)) as tf.Tensor4D);
}

/** silu(gate)·up: [d gate, d up]. */
export function swigluGrad(gate: tf.Tensor, up: tf.Tensor, dy: tf.Tensor): [tf.Tensor, tf.Tensor] {
  if (wasmFusedAvailable()) return wasmSwiGLUGrad(gate, up, dy);
  return tf.tidy(() => swigluGradKept(gate, up, dy));
}

function swigluGradKept(gate: tf.Tensor, up: tf.Tensor, dy: tf.Tensor): [tf.Tensor, tf.Tensor] {
  // d silu/dg = s + silu·(1 − s); temporaries freed one by one, each is MLP-sized.
  const s = tf.sigmoid(gate);
  const silu = tf.mul(gate, s);
  const dup = tf.mul(dy, silu);
  const oneMinus = tf.sub(1, s);
  const t = tf.mul(silu, oneMinus);
  tf.dispose([silu, oneMinus]);
  const dsilu = tf.add(s, t);
  tf.dispose([s, t]);
  const dyUp = tf.mul(dy, up);
  const dgate = tf.mul(dyUp, dsilu);
  tf.dispose([dyUp, dsilu]);
  return [dgate, dup];
}

/**
 * Softmax attention probabilities [B, Hkv, rep·T, S] and output [B, H, T, D] for q [B, H, T, D],
 * k, v [B, Hkv, S, D] and an additive mask [B, 1, 1, T, S]. Query heads h·rep … h·rep+rep−1
 * share key head h (HF's repeat_kv), so q is viewed as [B, Hkv, rep·T, D] instead of copying k
 * and v rep times. Also the forward of every other attention (layers.ts's attend).
 *
 * With few query rows (decoding) on wasm the scores are taken transposed, scoresᵀ = k·qᵀ, so
 * that the S keys are the row side XNNPACK runs fast and the key cache is read in place instead
 * of transposed every token (measured 8 vs 15 ms at 128 rows × 2 kv heads × 120 keys). probs·v
 * stays as it is: its transposed form needs vᵀ, and transposing v costs what it saves.
 * `taped`: a gradient tape records these ops (false inside an op with its own backward pass).
 */
export function attentionForward(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, mask: tf.Tensor, taped = true): { out: tf.Tensor4D; probs: tf.Tensor4D } {
  const [B, H, T, D] = q.shape;
  const [, Hkv, S] = k.shape;
  const rep = H / Hkv;
  const causal = causalSkip(T, S, taped);
  const qg = tf.reshape(tf.mul(q, 1 / Math.sqrt(D)), [B, Hkv, rep * T, D]);
  let raw: tf.Tensor;
  if (causal) raw = wasmCausalGemm(qg, k, false, true, 'cols', T, rep);
  else raw = preferTransposedProduct(rep * T, S) ? tf.transpose(matMulPlain(k, qg, true), [0, 1, 3, 2]) : matMulPlain(qg, k, true);
  const scores = tf.add(tf.reshape(raw, [B, Hkv, rep, T, S]), mask);
  const probs = tf.reshape(tf.softmax(scores), [B, Hkv, rep * T, S]) as tf.Tensor4D;
  const out = causal ? wasmCausalGemm(probs, v, false, false, 'k', T, rep) : matMulPlain(probs, v);
  return { out: tf.reshape(out, [B, H, T, D]) as tf.Tensor4D, probs };
}

/**
 * Gradients of attentionForward's output from the saved probabilities P:
 * dV = Pᵀ·dO, dP = dO·Vᵀ, dS = P ⊙ (dP − rowsum(dP ⊙ P)), dQ = dS·K·scale, dK = dSᵀ·Q·scale.
 * Masked keys have P = 0 exactly, so they get no gradient.
 */
export function attentionGrad(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, probs: tf.Tensor4D, dOut: tf.Tensor4D): [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D] {
  const [B, H, T, D] = q.shape;
  const Hkv = k.shape[1];
  const rep = H / Hkv;
  const scale = 1 / Math.sqrt(D);
  // Probability-sized tensors ([B, Hkv, rep·T, S], the largest here) are freed as soon as used:
  // a tidy around the whole would hold a dozen of them at once.
  const dO = tf.reshape(dOut, [B, Hkv, rep * T, D]);
  const causal = causalSkip(T, k.shape[2], false);
  const dV = tf.tidy(() => (causal ? wasmCausalGemm(probs, dO, true, false, 'kT', T, rep) : matMulTA(probs, dO)));
  const dS = tf.tidy(() => {
    const dP = causal ? wasmCausalGemm(dO, v, false, true, 'cols', T, rep) : matMulPlain(dO, v, true);
    if (wasmFusedAvailable()) return wasmSoftmaxGrad(probs, dP);
    const rowDot = tf.tidy(() => tf.sum(tf.mul(dP, probs), -1, true));
    const centered = tf.sub(dP, rowDot);
    dP.dispose();
    return tf.mul(probs, centered);
  });
  const dQ = tf.tidy(() => tf.reshape(tf.mul(causal ? wasmCausalGemm(dS, k, false, false, 'k', T, rep) : matMulPlain(dS, k), scale), [B, H, T, D]));
  const dK = tf.tidy(() => {
    const qs = tf.reshape(tf.mul(q, scale), [B, Hkv, rep * T, D]);
    return causal ? wasmCausalGemm(dS, qs, true, false, 'kT', T, rep) : matMulTA(dS, qs);
  });
  dS.dispose();
  dO.dispose();
  return [dQ as tf.Tensor4D, dK as tf.Tensor4D, dV as tf.Tensor4D];
}
