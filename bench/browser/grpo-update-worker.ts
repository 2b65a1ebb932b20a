/**
 * One GRPO update of the shipped model (bench/update-runner.ts: log-probs, the dapo loss, backward,
 * AdamW over micro-batches) timed in a Web Worker on tfjs-wasm, started as the app starts it
 * (src/core/backend.ts's startWasm) unless the query pins the thread count or the build.
 */
import * as tf from '@tensorflow/tfjs-core';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { startWasm, wasmThreads } from '../../src/core/backend';
import { setWasmGemmEnabled } from '../../src/core/kernels/wasm-gemm';
import { setWasmFusedEnabled } from '../../src/core/kernels/wasm-fused';
import { wasmOwnKernels } from '../../src/core/kernels/wasm-own-kernels';
import { parseConfig } from '../../src/core/model/config';
import { parseSafetensors } from '../../src/core/model/safetensors';
import { CausalLM } from '../../src/core/model/causal-lm';
import { syntheticRows, updateRunner, type Shape } from '../update-runner';

const SHAPE: Shape = { prompts: 4, generations: 8, promptLen: 60, newTokens: 96, microBatch: 16 };

async function run(query: string): Promise<Record<string, unknown>> {
  const q = new URLSearchParams(query);
  const threads = q.get('threads');
  const reps = Number(q.get('reps') ?? 3);
  setWasmPaths(new URL('/wasm/', location.origin).href);
  const failure = await startWasm(threads === 'single' ? 'single' : threads ? Number(threads) : undefined);
  if (failure) throw new Error(failure);
  // ?kernels=off: tfjs-wasm's own kernels only, as before this project's (src/core/kernels/wasm-*.wat).
  const own = q.get('kernels') !== 'off';
  setWasmGemmEnabled(own);
  setWasmFusedEnabled(own);
  if (q.get('heap')) {
    // How far this build's heap grows (malloc'd, untouched blocks), as bench/wasm-heap-chromium.ts.
    const wasm = (tf.backend() as unknown as { wasm: { _malloc(n: number): number; HEAPU8: Uint8Array } }).wasm;
    let total = 0;
    for (let block = 2 ** 30; block >= 2 ** 20; block /= 2) while (wasm._malloc(block) !== 0) total += block;
    return { threads: wasmThreads(), multithreadBuild: await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'), mallocMiB: total / 2 ** 20 };
  }
  const base = new URL('/models/tabzero-tiny/', location.origin).href;
  const config = parseConfig((await (await fetch(base + 'config.json')).json()) as Record<string, unknown>);
  const weights = parseSafetensors(new Uint8Array(await (await fetch(base + 'model.safetensors')).arrayBuffer()));
  const model = new CausalLM(config, weights);
  const data = syntheticRows(config, SHAPE);
  const upd = updateRunner(model, SHAPE, data);
  await upd.run();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await upd.run();
    times.push(+((performance.now() - t0) / 1000).toFixed(3));
  }
  return { threads: wasmThreads(), kernels: wasmOwnKernels(), multithreadBuild: await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'), hardwareConcurrency: navigator.hardwareConcurrency, shape: SHAPE, update_s: times };
}

self.onmessage = (e: MessageEvent<{ query: string; crossOriginIsolated: boolean }>) => {
  void run(e.data.query)
    .then((r) => self.postMessage({ pageIsolated: e.data.crossOriginIsolated, workerIsolated: self.crossOriginIsolated, ...r }))
    .catch((err: unknown) => self.postMessage({ error: err instanceof Error ? err.message : String(err) }));
};
