/**
 * How many bytes of tensors the wasm backend holds before it aborts: 64 MiB tensors are kept
 * until an allocation fails. Run it in its own process (the backend is unusable afterwards).
 *
 *   npx tsx bench/wasm-heap.ts
 */
import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from '../src/cli/node-webgpu';

await initNodeBackend('wasm');
const kept: tf.Tensor[] = [];
const chunk = 16 * 2 ** 20; // floats: 64 MiB
const heap = () => (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.byteLength / 2 ** 20;
const one = tf.fill([chunk], 1);
let lastHeap = heap();
try {
  for (;;) {
    // A kernel's output: the backend mallocs it in the wasm heap.
    kept.push(tf.add(one, 1));
    lastHeap = heap();
  }
} catch (e) {
  console.log(JSON.stringify({ heldMiB: ((kept.length + 1) * chunk * 4) / 2 ** 20, heapMiB: lastHeap, error: `${(e as Error).name}: ${(e as Error).message.slice(0, 120)}` }));
}
