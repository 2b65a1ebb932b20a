/**
 * What TabZero's WebGPU kernels share: the shape of a tfjs-webgpu program (tfjs does not export
 * its type), the backend call that runs one, a builder for the one-dimensional programs every
 * kernel here uses, and registration that happens once per kernel set.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface Program {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  uniforms?: string;
  /** Declares uniforms.size (the output's length) for the shader. */
  size?: boolean;
  getUserCode(): string;
}

export interface WebGPUBackendLike {
  runWebGPUProgram(program: Program, inputs: tf.TensorInfo[], dtype: tf.DataType, uniforms?: { type: string; data: number[] }[]): tf.TensorInfo;
}

export type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

/** Threads per workgroup. */
export const WG = 64;

/**
 * A program of `workgroups` workgroups of WG threads along x over outputShape (tfjs folds a
 * dispatch over 65535 workgroups into y; `main(index)` follows).
 */
export function webgpuProgram(outputShape: number[], workgroups: number, key: string, names: string[], uniforms: string | undefined, code: string, size = false): Program {
  return {
    variableNames: names,
    outputShape,
    shaderKey: key,
    dispatchLayout: { x: outputShape.map((_, i) => i) },
    dispatch: [workgroups, 1, 1],
    workgroupSize: [WG, 1, 1],
    ...(uniforms !== undefined ? { uniforms } : {}),
    ...(size ? { size } : {}),
    getUserCode: () => code,
  };
}

/** A function that registers these kernels for webgpu on its first call (cheap on every later one). */
export function webgpuKernelRegistrar(kernels: [string, unknown][]): () => void {
  let registered = false;
  return () => {
    if (registered) return;
    registered = true;
    for (const [kernelName, kernelFunc] of kernels) {
      if (!tf.getKernel(kernelName, 'webgpu')) tf.registerKernel({ kernelName, backendName: 'webgpu', kernelFunc: kernelFunc as tf.KernelFunc });
    }
  };
}
