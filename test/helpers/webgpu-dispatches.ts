/** Counting WebGPU dispatches in tests, as bench/webgpu-dispatches.ts counts them. */
import * as tf from '@tensorflow/tfjs-core';

/** Compute dispatches issued while f runs, counted by wrapping the device's command encoders. */
export async function dispatchesDuring(f: () => Promise<void>): Promise<number> {
  const device = (tf.backend() as unknown as { device: GPUDevice }).device;
  const create = device.createCommandEncoder;
  let n = 0;
  device.createCommandEncoder = (d?: GPUCommandEncoderDescriptor) => {
    const enc = create.call(device, d);
    const begin = enc.beginComputePass.bind(enc);
    enc.beginComputePass = (pd?: GPUComputePassDescriptor) => {
      const pass = begin(pd);
      const dispatch = pass.dispatchWorkgroups.bind(pass);
      pass.dispatchWorkgroups = (x: number, y?: number, z?: number) => {
        n++;
        dispatch(x, y, z);
      };
      return pass;
    };
    return enc;
  };
  try {
    await f();
  } finally {
    device.createCommandEncoder = create;
  }
  return n;
}
