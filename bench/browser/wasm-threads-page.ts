/**
 * Page for bench/browser-wasm-threads.ts: is the page cross-origin isolated, which tfjs-wasm build
 * loaded, with how many threads, and GFLOP/s of 2-D products at the shipped model's update shapes.
 * ?threads=N pins the thread count (1 = the single-threaded speed in the same build), ?threads=single
 * the single-threaded build; without it, the app's choice (src/core/backend.ts's startWasm).
 */
import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { startWasm } from '../../src/core/backend';

async function gflops(m: number, k: number, n: number, reps: number): Promise<number> {
  const a = tf.randomNormal([m, k]);
  const b = tf.randomNormal([k, n]);
  const run = async () => {
    const c = tf.matMul(a, b);
    await c.data();
    c.dispose();
  };
  await run();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) await run();
  const s = (performance.now() - t0) / 1000 / reps;
  a.dispose();
  b.dispose();
  return +((2 * m * k * n) / s / 1e9).toFixed(1);
}

async function main(): Promise<Record<string, unknown>> {
  const threads = new URLSearchParams(location.search).get('threads');
  setWasmPaths('/wasm/');
  const failure = await startWasm(threads === 'single' ? 'single' : threads ? Number(threads) : undefined);
  if (failure) throw new Error(failure);
  return {
    crossOriginIsolated: self.crossOriginIsolated,
    multithreadSupport: await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'),
    threads: getThreadsCount(),
    hardwareConcurrency: navigator.hardwareConcurrency,
    matmul512: await gflops(512, 512, 512, 10),
    proj_4992x128x384: await gflops(4992, 128, 384, 5),
    grad_128x4992x384: await gflops(128, 4992, 384, 5),
  };
}

(window as unknown as { result: Promise<Record<string, unknown>> }).result = main().catch((e: Error) => ({ error: e.message }));
