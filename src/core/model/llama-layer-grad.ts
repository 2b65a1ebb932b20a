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
import { linear, mergeHeads, rmsNorm, splitHeads, swiGLU } from './layers';
import { attentionForward, attentionGrad, linearGrad, rmsNormGrad, ropeForward, ropeGrad, swigluGrad } from './attention-grad';
import { fusedRmsNorm, fusedRopeHeads, fusedSwiGLU } from '../kernels/webgpu-fused';
import { ropeHeadsGrad } from '../kernels/webgpu-rope-grad';

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
  // The fused RoPE-into-heads kernel and its one-dispatch gradient (webgpu; no q/k norms between).
  const fusedRope = fused && !c.qkNorm;
  const rows = (t: tf.Tensor) => tf.reshape(mergeHeads(t, B, T), [B * T, -1]);
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
      if (fusedRope) {
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
      // Inside this op's own forward: no tape records the attention's products.
      const { out, probs } = attentionForward(q, k, v, mask, false);
      const o = rows(out);
      const x2 = tf.add(xin, tf.reshape(lin(o, 'self_attn.o_proj'), [B, T, Hd]));
      const h2 = norm(x2, need('post_attention_layernorm.weight'));
      const gate = lin(h2, 'mlp.gate_proj');
      const up = lin(h2, 'mlp.up_proj');
      const gated = (fused ? fusedSwiGLU : swiGLU)(gate, up);
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
          // Each stage's gradients come out of its tidy in a plain object (tidy keeps tensors it
          // finds in returned objects and arrays), so that a throw anywhere frees them all.
          type Grads = Record<string, tf.Tensor>;
          const linGrad = (g: Grads, xx: tf.Tensor, n: string, d: tf.Tensor): tf.Tensor => {
            const [dx, dw] = linearGrad(xx, need(`${n}.weight`), d, outIn);
            g[`${n}.weight`] = dw;
            if (w(`${n}.bias`)) g[`${n}.bias`] = tf.sum(d, 0);
            return dx;
          };
          // Three stages, each in its own tidy so that only what the next one needs outlives it.
          const mlp = tf.tidy(() => {
            const g: Grads = {};
            // MLP: the normed input and silu(gate)·up recomputed from x2, gate and up.
            const gate2 = tf.reshape(gate, [B * T, -1]);
            const up2 = tf.reshape(up, [B * T, -1]);
            const gated = tf.tidy(() => (fused ? fusedSwiGLU : swiGLU)(gate2, up2));
            const dGated = linGrad(g, gated, 'mlp.down_proj', tf.reshape(dy, [B * T, Hd]));
            gated.dispose();
            const [dGate, dUp] = swigluGrad(gate2, up2, dGated);
            dGated.dispose();
            const h2 = tf.reshape(norm(x2, need('post_attention_layernorm.weight')), [B * T, Hd]);
            const dH2a = linGrad(g, h2, 'mlp.gate_proj', dGate);
            dGate.dispose();
            const dH2b = linGrad(g, h2, 'mlp.up_proj', dUp);
            dUp.dispose();
            const dH2 = tf.add(dH2a, dH2b);
            const [dX2n, dW2] = rmsNormGrad(x2, need('post_attention_layernorm.weight'), c.normEps, tf.reshape(dH2, [B, T, Hd]));
            g['post_attention_layernorm.weight'] = dW2;
            return { dX2: tf.add(dy, dX2n), g };
          });
          const attn = tf.tidy(() => {
            const g: Grads = {};
            const dO = linGrad(g, o, 'self_attn.o_proj', tf.reshape(mlp.dX2, [B * T, Hd]));
            const [dQ, dK, dV] = attentionGrad(q, k, v, probs, splitHeads(dO, B, T, c.numHeads, D));
            let dQr: tf.Tensor;
            let dKr: tf.Tensor;
            if (fusedRope) {
              // Straight to the projections' [B·T, heads·D] layout, one dispatch each.
              const [cos2, sin2] = [tf.reshape(scos, [B * T, D]), tf.reshape(ssin, [B * T, D])];
              dQr = ropeHeadsGrad(dQ, cos2, sin2);
              dKr = ropeHeadsGrad(dK, cos2, sin2);
              tf.dispose([dQ, dK]);
            } else {
              let dQp = ropeGrad(dQ, scos, ssin);
              let dKp = ropeGrad(dK, scos, ssin);
              tf.dispose([dQ, dK]);
              if (c.qkNorm) {
                const [dq, dqw] = rmsNormGrad(qPre!, need('self_attn.q_norm.weight'), c.normEps, dQp);
                const [dk, dkw] = rmsNormGrad(kPre!, need('self_attn.k_norm.weight'), c.normEps, dKp);
                g['self_attn.q_norm.weight'] = dqw;
                g['self_attn.k_norm.weight'] = dkw;
                tf.dispose([dQp, dKp]);
                dQp = dq as tf.Tensor4D;
                dKp = dk as tf.Tensor4D;
              }
              dQr = rows(dQp);
              dKr = rows(dKp);
            }
            const h = tf.reshape(norm(sx, need('input_layernorm.weight')), [B * T, Hd]);
            const dH = tf.addN([linGrad(g, h, 'self_attn.q_proj', dQr), linGrad(g, h, 'self_attn.k_proj', dKr), linGrad(g, h, 'self_attn.v_proj', rows(dV))]);
            return { dH, g };
          });
          const [dXn, dW1] = rmsNormGrad(sx, need('input_layernorm.weight'), c.normEps, tf.reshape(attn.dH, [B, T, Hd]));
          const grads: Grads = { ...mlp.g, ...attn.g, 'input_layernorm.weight': dW1 };
          return [tf.add(mlp.dX2, dXn), ...names.map((n) => grads[n]!)];
        }),
    };
  });
  return f(x, ...weights.values());
}
