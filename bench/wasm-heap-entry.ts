/** Browser entry for bench/wasm-heap-chromium.ts: how far the wasm backend's heap grows (malloc'd, untouched blocks). */
import * as tf from '@tensorflow/tfjs-core';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

const w = window as unknown as { result?: unknown };
(async () => {
  setWasmPaths(new URL('wasm/', location.href).href);
  await tf.setBackend('wasm');
  const wasm = (tf.backend() as unknown as { wasm: { _malloc(n: number): number; HEAPU8: Uint8Array } }).wasm;
  let total = 0;
  for (let block = 2 ** 30; block >= 2 ** 20; block /= 2) while (wasm._malloc(block) !== 0) total += block;
  w.result = { mallocMiB: total / 2 ** 20, heapMiB: wasm.HEAPU8.byteLength / 2 ** 20 };
})().catch((e: unknown) => (w.result = { error: String(e) }));
