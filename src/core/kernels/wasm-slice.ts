/**
 * A Slice for tfjs-wasm whose contiguous case copies only the slice.
 *
 * tfjs-wasm's Slice starts with readSync of its whole input (a copy of all of it out of the wasm
 * heap) even when the slice is one contiguous range: taking 42 rows of a [256, 49152] tensor cost
 * 80 ms, as much as cloning all of it. Here a contiguous slice is one copy of its own bytes
 * between two views of the heap; every other slice goes to tfjs-wasm's kernel.
 */
import * as tf from '@tensorflow/tfjs-core';
import { slice_util, util } from '@tensorflow/tfjs-core';

interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

let installed = false;

export function installWasmContiguousSlice(): void {
  if (installed) return;
  const original = tf.getKernel('Slice', 'wasm');
  if (!original) return;
  installed = true;
  const fallback = original.kernelFunc;
  const kernelFunc = (args: { inputs: tf.NamedTensorInfoMap; attrs?: tf.NamedAttrMap; backend: unknown }) => {
    const x = args.inputs['x']!;
    const attrs = args.attrs as { begin: number | number[]; size?: number | number[] };
    const [begin, size] = slice_util.parseSliceParams(x as unknown as tf.TensorInfo & { rank: number }, attrs.begin, attrs.size);
    if (x.dtype === 'string' || !slice_util.isSliceContinous(x.shape, begin, size)) return fallback(args as Parameters<typeof fallback>[0]);
    const backend = args.backend as WasmBackendLike;
    // The output first: allocating it may grow the heap, which detaches earlier views of it.
    const out = backend.makeOutput(size, x.dtype);
    const n = util.sizeFromShape(size);
    if (n > 0) {
      const offset = slice_util.computeFlatOffset(begin, util.computeStrides(x.shape));
      backend.typedArrayFromHeap(out).set(backend.typedArrayFromHeap(x).subarray(offset, offset + n));
    }
    return out;
  };
  tf.unregisterKernel('Slice', 'wasm');
  tf.registerKernel({ kernelName: 'Slice', backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc });
}
