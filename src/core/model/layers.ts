/** Differentiable building blocks of the forward pass. Every function here runs inside a caller's tidy. */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from './types';
import { UnsupportedModelError } from './errors';
import { matMulPlain } from './matmul';
import { attentionForward } from './attention-grad';
import { decodeAttention, decodeAttentionFits, decodeKernelsUsable } from '../kernels/webgpu-decode';
import { wasmFusedAvailable, wasmGatherRows, wasmRmsNorm, wasmSwiGLU } from '../kernels/wasm-fused';

/** Large negative instead of -Infinity: a row with every key masked (a pad query) stays finite. */
export const MASKED = -1e9;

/**
 * Row lookup with its own gradient. tf.gather's gradient needs UnsortedSegmentSum, which the
 * wasm backend lacks; ScatterNd sums duplicate indices and exists on cpu, wasm and webgpu.
 */
export function embed(table: tf.Tensor2D, ids: tf.Tensor1D): tf.Tensor2D {
  const shape = table.shape;
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const t = args[0] as tf.Tensor;
    const save = args[1] as tf.GradSaveFunc;
    // ids belongs to the caller's tidy: saving it keeps it alive until the backward pass.
    save([ids]);
    return {
      value: wasmFusedAvailable() && t.dtype === 'float32' ? wasmGatherRows(t as tf.Tensor2D, ids) : tf.gather(t, ids),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.scatterND(tf.expandDims(saved[0]!, 1), dy, shape),
    };
  });
  return f(table) as tf.Tensor2D;
}

/** x [..., in] times a weight stored [out, in] (nn.Linear) or [in, out] (GPT-2 Conv1D). */
export function linear(x: tf.Tensor, w: tf.Tensor2D, bias: tf.Tensor1D | null, transposed: boolean): tf.Tensor {
  const shape = x.shape;
  const inDim = shape[shape.length - 1]!;
  const outDim = transposed ? w.shape[0] : w.shape[1];
  let y: tf.Tensor = matMulPlain(tf.reshape(x, [-1, inDim]), w, transposed);
  if (bias) y = tf.add(y, bias);
  return tf.reshape(y, [...shape.slice(0, -1), outDim]);
}

/** RMSNorm over the last axis (one fused pass on wasm, wasm-fused.ts). */
export function rmsNorm(x: tf.Tensor, w: tf.Tensor1D, eps: number): tf.Tensor {
  if (x.dtype === 'float32' && w.dtype === 'float32' && wasmFusedAvailable()) return wasmRmsNorm(x, w, eps);
  const ms = tf.mean(tf.square(x), -1, true);
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, eps))), w);
}

/** silu(gate)·up, SwiGLU's gate (one fused pass on wasm, wasm-fused.ts). */
export function swiGLU(gate: tf.Tensor, up: tf.Tensor): tf.Tensor {
  if (gate.dtype === 'float32' && up.dtype === 'float32' && tf.util.arraysEqual(gate.shape, up.shape) && wasmFusedAvailable()) return wasmSwiGLU(gate, up);
  return tf.mul(tf.mul(gate, tf.sigmoid(gate)), up);
}

export function layerNorm(x: tf.Tensor, w: tf.Tensor1D, b: tf.Tensor1D, eps: number): tf.Tensor {
  const mean = tf.mean(x, -1, true);
  const centered = tf.sub(x, mean);
  const variance = tf.mean(tf.square(centered), -1, true);
  return tf.add(tf.mul(tf.mul(centered, tf.rsqrt(tf.add(variance, eps))), w), b);
}

export function activation(name: string, x: tf.Tensor): tf.Tensor {
  switch (name) {
    case 'silu':
    case 'swish':
      return tf.mul(x, tf.sigmoid(x));
    case 'gelu_new':
    case 'gelu_pytorch_tanh':
    case 'gelu_fast': {
      const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI));
      return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
    }
    case 'gelu':
      return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
    case 'relu':
      return tf.relu(x);
    default:
      throw new UnsupportedModelError(`Activation "${name}" is not supported (supported: silu, gelu_new, gelu_pytorch_tanh, gelu, relu).`);
  }
}

/** RoPE inverse frequencies as Hugging Face computes them (float32 steps), with Llama 3 scaling if configured. */
export function ropeInvFreq(config: ModelConfig): Float64Array {
  const d = config.headDim;
  const f = Math.fround;
  const inv = new Float64Array(d / 2);
  for (let i = 0; i < d / 2; i++) inv[i] = f(1 / f(f(config.ropeTheta) ** f((2 * i) / d)));
  const rs = config.ropeScaling;
  if (rs && rs.type === 'llama3') {
    const lowWavelen = rs.originalMaxPositionEmbeddings / rs.lowFreqFactor;
    const highWavelen = rs.originalMaxPositionEmbeddings / rs.highFreqFactor;
    for (let i = 0; i < inv.length; i++) {
      const wavelen = (2 * Math.PI) / inv[i]!;
      if (wavelen > lowWavelen) inv[i] = inv[i]! / rs.factor;
      else if (wavelen >= highWavelen) {
        const smooth = (rs.originalMaxPositionEmbeddings / wavelen - rs.lowFreqFactor) / (rs.highFreqFactor - rs.lowFreqFactor);
        inv[i] = (1 - smooth) * (inv[i]! / rs.factor) + smooth * inv[i]!;
      }
    }
  }
  return inv;
}

/** cos and sin tables [B, 1, T, headDim] for the given positions, in HF's rotate_half layout (halves repeated). */
export function ropeTables(invFreq: Float64Array, positions: Int32Array, batch: number, length: number): { cos: tf.Tensor4D; sin: tf.Tensor4D } {
  const half = invFreq.length;
  const d = half * 2;
  const cos = new Float32Array(batch * length * d);
  const sin = new Float32Array(batch * length * d);
  for (let r = 0; r < batch * length; r++) {
    const p = positions[r]!;
    for (let i = 0; i < half; i++) {
      const a = Math.fround(p * invFreq[i]!);
      const c = Math.cos(a);
      const s = Math.sin(a);
      cos[r * d + i] = c;
      cos[r * d + i + half] = c;
      sin[r * d + i] = s;
      sin[r * d + i + half] = s;
    }
  }
  return { cos: tf.tensor4d(cos, [batch, 1, length, d]), sin: tf.tensor4d(sin, [batch, 1, length, d]) };
}

/** x [B, heads, T, D]: x·cos + rotate_half(x)·sin, rotate_half(x) = [-x2, x1]. */
export function applyRope(x: tf.Tensor4D, cos: tf.Tensor4D, sin: tf.Tensor4D): tf.Tensor4D {
  const half = x.shape[3] / 2;
  const x1 = tf.slice(x, [0, 0, 0, 0], [-1, -1, -1, half]);
  const x2 = tf.slice(x, [0, 0, 0, half], [-1, -1, -1, half]);
  const rotated = tf.concat([tf.neg(x2), x1], 3);
  return tf.add(tf.mul(x, cos), tf.mul(rotated, sin)) as tf.Tensor4D;
}

/**
 * Additive attention mask [B, 1, 1, T, S] for T queries that follow `past` cached keys:
 * query i (slot past+i) sees key j iff j <= past+i and key j is a real token.
 */
export function attentionMask(keyMask: Int32Array, batch: number, length: number, past: number): tf.Tensor {
  const S = past + length;
  if (keyMask.length !== batch * S) throw new RangeError(`attention mask has ${keyMask.length} entries, expected ${batch}×${S}`);
  const m = new Float32Array(batch * length * S);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < length; i++) {
      const row = (b * length + i) * S;
      for (let j = 0; j < S; j++) m[row + j] = j <= past + i && keyMask[b * S + j] ? 0 : MASKED;
    }
  }
  return tf.tensor(m, [batch, 1, 1, length, S]);
}

/** A projection's output [B, T, heads·D] (or [B·T, heads·D]) split into heads, [B, heads, T, D]. */
export function splitHeads(x: tf.Tensor, B: number, T: number, heads: number, D: number): tf.Tensor4D {
  return tf.transpose(tf.reshape(x, [B, T, heads, D]), [0, 2, 1, 3]) as tf.Tensor4D;
}

/** Heads [B, heads, T, D] merged back, [B, T, heads·D]. */
export function mergeHeads(x: tf.Tensor, B: number, T: number): tf.Tensor {
  // One position: [B, heads, 1, D] already has [B, 1, heads·D]'s memory order.
  if (T === 1) return tf.reshape(x, [B, T, -1]);
  return tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [B, T, -1]);
}

/**
 * Scaled dot-product attention with grouped-query heads. q [B, H, T, D]; k, v [B, Hkv, S, D]:
 * attention-grad.ts's attentionForward (the training layer's forward runs the same ops), except
 * that decoding on webgpu, with no gradient recorded, takes the whole chain as one dispatch.
 */
export function attend(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, mask: tf.Tensor): tf.Tensor4D {
  if (decodeKernelsUsable() && decodeAttentionFits(q)) return decodeAttention(q, k, v, mask);
  return attentionForward(q, k, v, mask, recordingGradients()).out;
}

/** Whether a gradient tape is recording (tf.variableGrads, tf.grads and their kin). */
export function recordingGradients(): boolean {
  return (tf.engine() as unknown as { state: { gradientDepth: number } }).state.gradientDepth > 0;
}
