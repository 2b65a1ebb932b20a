/**
 * A Llama-family decoder layer (RMSNorm, grouped-query attention with RoPE, optional q/k/v/o
 * biases and q/k norms, SwiGLU MLP) as one differentiable op with its backward pass written out.
 *
 * Why: tfjs's tape keeps every tensor each op saves for its own gradient until the backward pass
 * ends, and every gradient it computes on the way too; at the RL test's shape that was ~1.5 GB
 * for a layer stack PyTorch trains in 0.32 GB. As one op the layer keeps only x, q, k, v, the
 * attention probabilities, the attention output, the mid-layer residual and the MLP's gate and
 * up, and its backward pass frees its own intermediates as it goes. The normed inputs and the
 * SwiGLU product are recomputed in the backward pass (elementwise, cheap) instead of kept.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from './types';
import { linear, rmsNorm } from './layers';
import { attentionForward, attentionGrad, linearGrad, rmsNormGrad, ropeForward, ropeGrad, swigluGrad } from './attention-grad';
import { fusedRmsNorm, fusedRopeHeads, fusedSwiGLU } from '../kernels/webgpu-fused';

export interface LayerContext {
  B: number;
  T: number;
  cos: tf.Tensor4D;
  sin: tf.Tensor4D;
  mask: tf.Tensor;
  /** WebGPU's fused forward kernels. */
  fused: boolean;
  /** Linear weights stored [out, in] (HF's layout) rather than [in, out]. */
  outIn: boolean;
}

/** The activations this op's backward pass handles: SwiGLU's silu. */
export function layerGradSupported(config: ModelConfig): boolean {
  const act = config.hiddenAct ?? 'silu';
  return config.arch !== 'gpt2' && (act === 'silu' || act === 'swish');
}

/**
 * Floats per token that one layer holds for the backward pass in a training forward of T
 * positions, as tf.profile counts them: what the op saves (x, the mid residual, q, k, v, the
 * attention output, gate and up; with q/k norms their inputs too) times 1.25, and the attention
 * probabilities (heads × T) times 1.5 — the factors cover the backward pass's own temporaries and
 * the layer-input gradients tfjs keeps until the pass ends. Fitted on wasm to the measured peaks of
 * two model shapes (test/grpo/memory-estimate.test.ts); at the shipped model's 32 × 156 tokens
 * the layers' share is 0.23 GB of the update's 0.45 GB.
 */
export function layerActivationFloats(config: ModelConfig, T: number): number {
  const q = config.numHeads * config.headDim;
  const kv = config.numKvHeads * config.headDim;
  const kept = 2 * config.hiddenSize + 2 * q + 2 * kv + 2 * config.intermediateSize + (config.qkNorm ? q + kv : 0);
  return 1.25 * kept + 1.5 * config.numHeads * T;
}

function splitHeads(x: tf.Tensor, B: number, T: number, heads: number, D: number): tf.Tensor4D {
  return tf.transpose(tf.reshape(x, [B, T, heads, D]), [0, 2, 1, 3]) as tf.Tensor4D;
}

function mergeHeads(x: tf.Tensor, B: number, T: number): tf.Tensor {
  return tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [B * T, -1]);
}

/**
 * One layer, x [B, T, hidden] → [B, T, hidden]; `weights` maps the layer's tensor names (under
 * model.layers.N.) to the tensors, all of which get gradients.
 */
export function llamaLayerWithGrad(config: ModelConfig, x: tf.Tensor, weights: Map<string, tf.Tensor>, ctx: LayerContext): tf.Tensor {
  const c = config;
  const { B, T, fused, outIn } = ctx;
  const D = c.headDim;
  const Hd = c.hiddenSize;
  const names = [...weights.keys()];
  const norm = (h: tf.Tensor, w: tf.Tensor) => (fused ? fusedRmsNorm : rmsNorm)(h, w as tf.Tensor1D, c.normEps);
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const xin = args[0] as tf.Tensor;
    const ws = args.slice(1, 1 + names.length) as tf.Tensor[];
    const save = args[1 + names.length] as tf.GradSaveFunc;
    const w = (n: string) => ws[names.indexOf(n)] ?? null;
    const need = (n: string) => ws[names.indexOf(n)]!;
    const lin = (h: tf.Tensor, n: string) => linear(h, need(`${n}.weight`) as tf.Tensor2D, w(`${n}.bias`) as tf.Tensor1D | null, outIn);
    const { cos, sin, mask } = ctx;
    const kept = tf.tidy(() => {
      const h = norm(xin, need('input_layernorm.weight'));
      let q: tf.Tensor4D;
      let k: tf.Tensor4D;
      let qPre: tf.Tensor4D | null = null;
      let kPre: tf.Tensor4D | null = null;
      if (fused && !c.qkNorm) {
        q = fusedRopeHeads(lin(h, 'self_attn.q_proj'), cos, sin, B, T, c.numHeads, D);
        k = fusedRopeHeads(lin(h, 'self_attn.k_proj'), cos, sin, B, T, c.numKvHeads, D);
      } else {
        q = splitHeads(lin(h, 'self_attn.q_proj'), B, T, c.numHeads, D);
        k = splitHeads(lin(h, 'self_attn.k_proj'), B, T, c.numKvHeads, D);
        if (c.qkNorm) {
          qPre = q;
          kPre = k;
          q = rmsNorm(q, need('self_attn.q_norm.weight') as tf.Tensor1D, c.normEps) as tf.Tensor4D;
          k = rmsNorm(k, need('self_attn.k_norm.weight') as tf.Tensor1D, c.normEps) as tf.Tensor4D;
        }
        q = ropeForward(q, cos, sin);
        k = ropeForward(k, cos, sin);
      }
      const v = splitHeads(lin(h, 'self_attn.v_proj'), B, T, c.numKvHeads, D);
      const { out, probs } = attentionForward(q, k, v, mask);
      const o = mergeHeads(out, B, T);
      const x2 = tf.add(xin, tf.reshape(lin(o, 'self_attn.o_proj'), [B, T, Hd]));
      const h2 = norm(x2, need('post_attention_layernorm.weight'));
      const gate = lin(h2, 'mlp.gate_proj');
      const up = lin(h2, 'mlp.up_proj');
      const gated = fused ? fusedSwiGLU(gate, up) : tf.mul(tf.mul(gate, tf.sigmoid(gate)), up);
      const y = tf.add(x2, tf.reshape(lin(gated, 'mlp.down_proj'), [B, T, Hd]));
      return { y, saved: [q, k, v, probs, o, x2, gate, up, ...(qPre && kPre ? [qPre, kPre] : [])] };
    });
    // The rope tables belong to the forward's tidy: saved, they live until the backward pass.
    save([xin, cos, sin, ...kept.saved]);
    tf.dispose(kept.saved);
    return {
      value: kept.y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const [sx, scos, ssin, q, k, v, probs, o, x2, gate, up, qPre, kPre] = saved as tf.Tensor4D[];
          const grads = new Map<string, tf.Tensor>();
          // Kept: the stages' tidies below must not free them; each is returned to the tape once.
          const addGrad = (n: string, g: tf.Tensor) => grads.set(n, tf.keep(g));
          const linGrad = (xx: tf.Tensor, n: string, d: tf.Tensor): tf.Tensor => {
            const [dx, dw] = linearGrad(xx, need(`${n}.weight`), d, outIn);
            addGrad(`${n}.weight`, dw);
            if (w(`${n}.bias`)) addGrad(`${n}.bias`, tf.sum(d, 0));
            return dx;
          };
          // Three stages, each in its own tidy so that only what the next one needs outlives it.
          const dX2 = tf.tidy(() => {
            // MLP: the normed input and silu(gate)·up recomputed from x2, gate and up.
            const gate2 = tf.reshape(gate, [B * T, -1]);
            const up2 = tf.reshape(up, [B * T, -1]);
            const gated = fused ? fusedSwiGLU(gate2, up2) : tf.tidy(() => tf.mul(tf.mul(gate2, tf.sigmoid(gate2)), up2));
            const dGated = linGrad(gated, 'mlp.down_proj', tf.reshape(dy, [B * T, Hd]));
            gated.dispose();
            const [dGate, dUp] = swigluGrad(gate2, up2, dGated);
            dGated.dispose();
            const h2 = tf.reshape(norm(x2, need('post_attention_layernorm.weight')), [B * T, Hd]);
            const dH2a = linGrad(h2, 'mlp.gate_proj', dGate);
            dGate.dispose();
            const dH2b = linGrad(h2, 'mlp.up_proj', dUp);
            dUp.dispose();
            const dH2 = tf.add(dH2a, dH2b);
            const [dX2n, dW2] = rmsNormGrad(x2, need('post_attention_layernorm.weight'), c.normEps, tf.reshape(dH2, [B, T, Hd]));
            addGrad('post_attention_layernorm.weight', dW2);
            return tf.add(dy, dX2n);
          });
          const dH = tf.tidy(() => {
            const dO = linGrad(o, 'self_attn.o_proj', tf.reshape(dX2, [B * T, Hd]));
            const [dQ, dK, dV] = attentionGrad(q, k, v, probs, splitHeads(dO, B, T, c.numHeads, D));
            let dQp = ropeGrad(dQ, scos, ssin);
            let dKp = ropeGrad(dK, scos, ssin);
            dQ.dispose();
            dK.dispose();
            if (c.qkNorm) {
              const [dq, dqw] = rmsNormGrad(qPre!, need('self_attn.q_norm.weight'), c.normEps, dQp);
              const [dk, dkw] = rmsNormGrad(kPre!, need('self_attn.k_norm.weight'), c.normEps, dKp);
              addGrad('self_attn.q_norm.weight', dqw);
              addGrad('self_attn.k_norm.weight', dkw);
              dQp = dq as tf.Tensor4D;
              dKp = dk as tf.Tensor4D;
            }
            const h = tf.reshape(norm(sx, need('input_layernorm.weight')), [B * T, Hd]);
            return tf.addN([
              linGrad(h, 'self_attn.q_proj', mergeHeads(dQp, B, T)),
              linGrad(h, 'self_attn.k_proj', mergeHeads(dKp, B, T)),
              linGrad(h, 'self_attn.v_proj', mergeHeads(dV, B, T)),
            ]);
          });
          const [dXn, dW1] = rmsNormGrad(sx, need('input_layernorm.weight'), c.normEps, tf.reshape(dH, [B, T, Hd]));
          addGrad('input_layernorm.weight', dW1);
          return [tf.add(dX2, dXn), ...names.map((n) => grads.get(n)!)];
        }),
    };
  });
  return f(x, ...weights.values());
}
