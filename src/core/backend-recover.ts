/**
 * After a wasm abort (the heap ran out: "Aborted()", "memory access out of bounds", ...) the wasm
 * module is dead: every later call aborts again. A fresh module is made by resetting tfjs' engine
 * (which drops every backend instance and tensor record, but keeps the registered factories)
 * and initialising the backend again. Every tensor made before is gone: models must be reloaded.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendName } from './domain';
import { startWasm } from './backend';

/** What a wasm module throws when it runs out of memory, or is dead after that. */
const ABORT = /Aborted\(|table index is out of bounds|memory access out of bounds|Array buffer allocation failed|Maximum memory size exceeded|Cannot enlarge memory/;

export function isBackendAbort(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const RuntimeError = (globalThis as { WebAssembly?: { RuntimeError: new () => Error } }).WebAssembly?.RuntimeError;
  if ((RuntimeError && e instanceof RuntimeError) || e.name === 'RuntimeError') return true;
  return ABORT.test(e.message);
}

export async function recreateBackend(name: BackendName): Promise<void> {
  const engine = tf.engine() as unknown as { registry: Record<string, { dispose(): void }>; reset(): void };
  // Disposing a dead module aborts again: skip it, its memory goes with the instance.
  for (const b of Object.values(engine.registry)) {
    // The threaded build's pthreads hold the dead module's memory alive: stop them.
    try {
      (b as { wasm?: { PThread?: { terminateAllThreads(): void } } }).wasm?.PThread?.terminateAllThreads();
    } catch {
      // a module that cannot even stop its threads is gone with the instance anyway
    }
    b.dispose = () => undefined;
  }
  const prod = tf.env().getBool('PROD');
  engine.reset();
  // reset() also clears flags; keep the ones the app set.
  tf.env().set('PROD', prod);
  const failure = name === 'wasm' ? await startWasm() : (await tf.setBackend(name)) ? null : 'failed';
  if (failure) throw new Error(`the ${name} backend could not be started again after it ran out of memory; reload the page`);
  await tf.ready();
}
