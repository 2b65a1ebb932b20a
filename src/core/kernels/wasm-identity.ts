/**
 * A buffer-sharing Identity for tfjs-wasm.
 *
 * tfjs clones every tensor it saves for the backward pass (customGrad's save, kernels' saved
 * inputs and outputs) through the Identity kernel, and tfjs-wasm's Identity copies the data.
 * Tensors are immutable, so the clone can share the buffer and count one more reference, as the
 * cpu backend's Identity does; the copy only costs memory (half of a forward's live bytes at the
 * shipped model's update shape) and time.
 */
import * as tf from '@tensorflow/tfjs-core';

interface RefCountingBackend {
  incRef(dataId: object): void;
}

function sharedIdentity(args: { inputs: tf.NamedTensorInfoMap; backend: unknown }): tf.TensorInfo {
  const x = args.inputs['x']!;
  (args.backend as RefCountingBackend).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

let installed = false;

/**
 * Replace tfjs-wasm's copying Identity with the sharing one. Idempotent; call after
 * @tensorflow/tfjs-backend-wasm has registered its kernels (any time its backend is active).
 */
export function installWasmSharedIdentity(): void {
  if (installed) return;
  const current = tf.getKernel('Identity', 'wasm');
  if (!current) return;
  installed = true;
  tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({ kernelName: 'Identity', backendName: 'wasm', kernelFunc: sharedIdentity as unknown as tf.KernelFunc });
}
