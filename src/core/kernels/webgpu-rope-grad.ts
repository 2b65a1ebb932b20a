/**
 * The gradient of RoPE-into-heads (kernels/webgpu-fused) on WebGPU in one dispatch instead of
 * eight (neg, slice ×2, neg, concat, mul ×2, add, transpose): the backward pass runs it for q and k
 * in every layer of every micro-batch.
 */
import * as tf from '@tensorflow/tfjs-core';
import { WG, webgpuKernelRegistrar, webgpuProgram, type WebGPUBackendLike } from './webgpu-program';

export const ROPE_HEADS_GRAD = 'TabZeroRopeHeadsGrad';

/**
 * dy [B, heads, T, D] → dp [B·T, heads·D]. Forward: out_d = p_d·cos_d + rot_d·sin_d with
 * rot_d = −p_{d+D/2} (d < D/2) or p_{d−D/2}; so dp_e = dy_e·cos_e + dy_{e+D/2}·sin_{e+D/2} for
 * e < D/2 and dy_e·cos_e − dy_{e−D/2}·sin_{e−D/2} otherwise.
 */
function ropeHeadsGradKernel(args: { inputs: tf.NamedTensorInfoMap; backend: unknown }): tf.TensorInfo {
  const { dy, cos, sin } = args.inputs as { dy: tf.TensorInfo; cos: tf.TensorInfo; sin: tf.TensorInfo };
  const [B, heads, T, D] = dy.shape as [number, number, number, number];
  const half = D / 2;
  const code = `
    fn main(index : i32) {
      if (index >= uniforms.size) { return; }
      let e = index % ${D};
      let h = (index / ${D}) % ${heads};
      let row = index / ${D * heads};
      let b = row / ${T};
      let t = row % ${T};
      let base = ((b * ${heads} + h) * ${T} + t) * ${D};
      var value = dg[base + e] * cs[row * ${D} + e];
      if (e < ${half}) {
        value = value + dg[base + e + ${half}] * sn[row * ${D} + e + ${half}];
      } else {
        value = value - dg[base + e - ${half}] * sn[row * ${D} + e - ${half}];
      }
      setOutputAtIndex(index, value);
    }`;
  const program = webgpuProgram([B * T, heads * D], Math.ceil((B * T * heads * D) / WG), `tabzero_rope_grad_${heads}_${T}_${D}`, ['dg', 'cs', 'sn'], undefined, code, true);
  return (args.backend as WebGPUBackendLike).runWebGPUProgram(program, [dy, cos, sin], 'float32');
}

const register = webgpuKernelRegistrar([[ROPE_HEADS_GRAD, ropeHeadsGradKernel]]);

/** dy [B, heads, T, D] of RoPE-into-heads → the gradient of its input, [B·T, heads·D]; cos, sin [B·T, D]. */
export function ropeHeadsGrad(dy: tf.Tensor, cos: tf.Tensor, sin: tf.Tensor): tf.Tensor {
  register();
  return tf.engine().runKernel(ROPE_HEADS_GRAD, { dy, cos, sin } as unknown as tf.NamedTensorMap, {}) as tf.Tensor;
}
