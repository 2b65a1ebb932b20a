/**
 * AdamW's per-variable update on WebGPU in three dispatches (first moment, second moment, weight)
 * instead of ~16 elementwise ones: the optimizer step was about a quarter of an update's
 * dispatches. The arithmetic is the unfused path's, op for op, in float32.
 */
import * as tf from '@tensorflow/tfjs-core';
import { WG, webgpuKernelRegistrar, webgpuProgram, type KernelArgs, type Program, type WebGPUBackendLike } from './webgpu-program';

export const ADAMW_MOMENT = 'TabZeroAdamWMoment';
export const ADAMW_WEIGHT = 'TabZeroAdamWWeight';

function elementwise(shape: number[], key: string, names: string[], uniforms: string, body: string): Program {
  const n = shape.reduce((a, b) => a * b, 1);
  const code = `
      fn main(index : i32) {
        if (index >= uniforms.size) { return; }
        ${body}
      }`;
  return webgpuProgram(shape, Math.ceil(n / WG), key, names, uniforms, code, true);
}

/** m·β + (g·clip)ᵖ·(1 − β), p = 1 (first moment) or 2 (second); clip 1 leaves g as it is. */
function momentKernel(args: KernelArgs): tf.TensorInfo {
  const { m, g } = args.inputs as { m: tf.TensorInfo; g: tf.TensorInfo };
  const { beta, clip, square } = args.attrs as { beta: number; clip: number; square: number };
  const clipped = clip < 1 ? 'gr[index] * uniforms.clip' : 'gr[index]';
  const term = square ? 'gc * gc' : 'gc';
  const prog = elementwise(m.shape, `tabzero_adamw_moment_${square}_${clip < 1}`, ['mo', 'gr'], 'beta : f32, oneMinusBeta : f32, clip : f32,', `
        let gc = ${clipped};
        setOutputAtIndex(index, mo[index] * uniforms.beta + (${term}) * uniforms.oneMinusBeta);`);
  return (args.backend as WebGPUBackendLike).runWebGPUProgram(prog, [m, g], 'float32', [
    { type: 'float32', data: [beta] },
    { type: 'float32', data: [1 - beta] },
    { type: 'float32', data: [clip] },
  ]);
}

/** p·decay − (m / bc1) / (√(v / bc2) + ε)·lr. */
function weightKernel(args: KernelArgs): tf.TensorInfo {
  const { p, m, v } = args.inputs as { p: tf.TensorInfo; m: tf.TensorInfo; v: tf.TensorInfo };
  const { decay, bc1, bc2, eps, lr } = args.attrs as { decay: number; bc1: number; bc2: number; eps: number; lr: number };
  const decayed = decay !== 1 ? 'pw[index] * uniforms.decay' : 'pw[index]';
  const prog = elementwise(p.shape, `tabzero_adamw_weight_${decay !== 1}`, ['pw', 'mo', 've'], 'decay : f32, bc1 : f32, bc2 : f32, eps : f32, lr : f32,', `
        let update = (mo[index] / uniforms.bc1) / (sqrt(ve[index] / uniforms.bc2) + uniforms.eps);
        setOutputAtIndex(index, ${decayed} - update * uniforms.lr);`);
  return (args.backend as WebGPUBackendLike).runWebGPUProgram(
    prog,
    [p, m, v],
    'float32',
    [decay, bc1, bc2, eps, lr].map((x) => ({ type: 'float32', data: [x] })),
  );
}

const register = webgpuKernelRegistrar([
  [ADAMW_MOMENT, momentKernel],
  [ADAMW_WEIGHT, weightKernel],
]);

export function webgpuAdamWAvailable(): boolean {
  return tf.getBackend() === 'webgpu';
}

/** The new moment: m·β + g'·(1 − β) with g' = g·clip (squared for the second moment). */
export function adamWMoment(m: tf.Tensor, g: tf.Tensor, beta: number, clip: number, square: boolean): tf.Tensor {
  register();
  return tf.engine().runKernel(ADAMW_MOMENT, { m, g } as unknown as tf.NamedTensorMap, { beta, clip, square: square ? 1 : 0 } as unknown as tf.NamedAttrMap) as tf.Tensor;
}

/** The new weight from the new moments: p·decay − (m / bc1) / (√(v / bc2) + ε)·lr. */
export function adamWWeight(p: tf.Tensor, m: tf.Tensor, v: tf.Tensor, h: { decay: number; bc1: number; bc2: number; eps: number; lr: number }): tf.Tensor {
  register();
  return tf.engine().runKernel(ADAMW_WEIGHT, { p, m, v } as unknown as tf.NamedTensorMap, h as unknown as tf.NamedAttrMap) as tf.Tensor;
}
