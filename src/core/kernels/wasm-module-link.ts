/**
 * Links this project's WebAssembly kernels (the *.wat files beside this one, compiled by
 * config/build-wasm-kernels.ts) against tfjs-wasm's own heap, so that they read and write the
 * backend's tensors in place: once per heap and module, with the module's bytes for a shared heap
 * (the threaded build) or an unshared one.
 */
import * as tf from '@tensorflow/tfjs-core';

/** What the kernels use of tfjs-wasm's backend object. */
export interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  /** The heap: exported as asm.memory by the single-threaded builds, made in JS as wasmMemory by the threaded one. */
  wasm: { asm?: { memory?: WebAssembly.Memory }; wasmMemory?: WebAssembly.Memory; _malloc(bytes: number): number };
}

/** The backend's heap memory (see WasmBackendLike.wasm). */
export function heapMemory(be: WasmBackendLike): WebAssembly.Memory {
  return (be.wasm.asm?.memory ?? be.wasm.wasmMemory)!;
}

/** A compiled module: base64 bytes for an unshared and a shared heap. */
export interface WasmModuleSource {
  unshared: string;
  shared: string;
}

/** The active backend when it is tfjs-wasm with the internals the kernels use; else null. */
export function wasmBackend(): WasmBackendLike | null {
  if (tf.getBackend() !== 'wasm') return null;
  const be = tf.backend() as Partial<WasmBackendLike>;
  if (typeof be.makeOutput !== 'function' || !be.dataIdMap || typeof be.wasm?._malloc !== 'function') return null;
  const memory = be.wasm.asm?.memory ?? be.wasm.wasmMemory;
  return memory instanceof WebAssembly.Memory ? (be as WasmBackendLike) : null;
}

/** A tensor's byte offset in the heap. */
export function heapOffset(be: WasmBackendLike, t: tf.TensorInfo): number {
  return be.dataIdMap.get(t.dataId)!.memoryOffset;
}

function decode(base64: string): Uint8Array<ArrayBuffer> {
  const bin = atob(base64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

const instances = new WeakMap<WasmModuleSource, WeakMap<WebAssembly.Memory, WebAssembly.Instance | null>>();

/** The module instantiated on the backend's heap, or null where it does not link (callers then keep tfjs's kernels). */
export function linkWasmModule(be: WasmBackendLike, source: WasmModuleSource): WebAssembly.Instance | null {
  const memory = heapMemory(be);
  let perMemory = instances.get(source);
  if (!perMemory) instances.set(source, (perMemory = new WeakMap()));
  const done = perMemory.get(memory);
  if (done !== undefined) return done;
  let instance: WebAssembly.Instance | null = null;
  try {
    const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
    // Math.log for the few per-row logarithms a kernel takes (WebAssembly has no log instruction).
    instance = new WebAssembly.Instance(new WebAssembly.Module(decode(shared ? source.shared : source.unshared)), { e: { m: memory, log: Math.log } });
  } catch {
    instance = null;
  }
  perMemory.set(memory, instance);
  return instance;
}
