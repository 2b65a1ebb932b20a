/**
 * The backend chosen by measurement: a small workload (a matmul and a tiny attention-and-MLP
 * forward) is timed on each backend that can run, and the faster one is used. "WebGPU exists" is
 * not enough: a software adapter (SwiftShader, llvmpipe) is far slower than wasm on the same CPU.
 * cpu is only the last resort and is not timed.
 */
import * as tf from '@tensorflow/tfjs-core';
import { wasmOwnKernels } from './kernels/wasm-own-kernels';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { setupWebGpu, trySet, wasmThreads } from './backend';
import type { BackendName, BackendReport, BackendTiming } from './domain';

export interface ChooseOptions {
  /** The user's choice: used whatever the measurement says (which is still reported). */
  explicit?: BackendName;
  /** Where the tfjs-backend-wasm .wasm files are served. */
  wasmPaths?: string;
  /** Milliseconds of timed repetitions per backend after the warm-up (default 250). */
  budgetMs?: number;
}

/** One repetition of the workload: shapes of a tiny model's step (hidden 128, 4 heads, 64 positions). */
function workload(x: tf.Tensor2D, w1: tf.Tensor2D, w2: tf.Tensor2D, q: tf.Tensor3D): tf.Tensor {
  return tf.tidy(() => {
    const big = tf.matMul(x, x, false, true); // 256 × 256 × 256
    const h = tf.relu(tf.matMul(tf.slice(x, [0, 0], [64, 128]), w1)); // MLP up
    const mlp = tf.matMul(h, w2);
    const att = tf.softmax(tf.matMul(q, q, false, true)); // 4 heads × 64 × 64 scores
    const ctx = tf.matMul(att, q);
    return tf.addN([tf.sum(big), tf.sum(mlp), tf.sum(ctx)]);
  });
}

/** Median milliseconds per repetition on the current backend (first call, which compiles, excluded). */
async function timeWorkload(budgetMs: number): Promise<number> {
  const x = tf.randomNormal([256, 128], 0, 0.1, 'float32', 1) as tf.Tensor2D;
  const w1 = tf.randomNormal([128, 384], 0, 0.1, 'float32', 2) as tf.Tensor2D;
  const w2 = tf.randomNormal([384, 128], 0, 0.1, 'float32', 3) as tf.Tensor2D;
  const q = tf.randomNormal([4, 64, 32], 0, 0.1, 'float32', 4) as tf.Tensor3D;
  const once = async (): Promise<number> => {
    const t0 = performance.now();
    const r = workload(x, w1, w2, q);
    await r.data();
    r.dispose();
    return performance.now() - t0;
  };
  try {
    const warm = await once();
    const times: number[] = [];
    let spent = 0;
    // A slow backend gets few repetitions: its warm-up alone already says it is slow.
    while (times.length < 3 || (spent < budgetMs && times.length < 20)) {
      const t = await once();
      times.push(t);
      spent += t;
      if (warm > budgetMs * 4 && times.length >= 1) break;
    }
    times.sort((a, b) => a - b);
    return times[Math.floor(times.length / 2)]!;
  } finally {
    tf.dispose([x, w1, w2, q]);
  }
}

function ratio(slow: number, fast: number): string {
  const r = slow / fast;
  return r >= 10 ? `${Math.round(r)}×` : `${r.toFixed(1)}×`;
}

/** Tensors a backend still holds (the measurement must leave none on a backend it then leaves). */
export function backendDataIds(name: BackendName): number {
  const b = tf.engine().registry[name] as { numDataIds?: () => number } | undefined;
  return b?.numDataIds?.() ?? 0;
}

/**
 * Time webgpu (when an adapter exists) and wasm, initialise the faster (or the explicit one),
 * and report the timings and why, in one line.
 */
export async function chooseBackend(opts: ChooseOptions = {}): Promise<BackendReport> {
  const budget = opts.budgetMs ?? 250;
  const timings: BackendTiming[] = [];
  const unavailable: string[] = [];
  let adapter: string | null = null;
  let software: string | null = null;

  const gpu = await setupWebGpu();
  if ('reason' in gpu) {
    unavailable.push(gpu.reason);
    timings.push({ name: 'webgpu', ms: null, error: gpu.reason });
  } else {
    adapter = gpu.adapter;
    software = gpu.software;
  }
  if (opts.wasmPaths) setWasmPaths(opts.wasmPaths.endsWith('/') ? opts.wasmPaths : `${opts.wasmPaths}/`);
  for (const name of ['webgpu', 'wasm'] as const) {
    if (name === 'webgpu' && 'reason' in gpu) continue;
    const failure = await trySet(name);
    if (failure) {
      unavailable.push(failure);
      timings.push({ name, ms: null, error: failure });
      continue;
    }
    try {
      timings.push({ name, ms: await timeWorkload(budget) });
    } catch (e) {
      const error = `the ${name} backend failed the timing workload (${(e as Error).message})`;
      unavailable.push(error);
      timings.push({ name, ms: null, error });
    }
  }

  const ms = (n: BackendName) => timings.find((t) => t.name === n)?.ms ?? null;
  const gpuMs = ms('webgpu');
  const wasmMs = ms('wasm');
  let measured: BackendName = 'cpu';
  if (gpuMs !== null && (wasmMs === null || gpuMs <= wasmMs)) measured = 'webgpu';
  else if (wasmMs !== null) measured = 'wasm';

  let why: string;
  const described = adapter !== null && !adapter.startsWith('WebGPU adapter (no description');
  const gpuName = software ? `WebGPU adapter is a software renderer (${software})` : described ? `WebGPU (${adapter})` : 'WebGPU';
  if (measured === 'webgpu') why = wasmMs !== null ? `${gpuName} is ${ratio(wasmMs, gpuMs!)} faster than wasm here` : `${gpuName}; wasm could not run`;
  else if (measured === 'wasm') why = gpuMs !== null ? `${gpuName}: wasm is ${ratio(gpuMs, wasmMs!)} faster here` : `${unavailable[0] ?? 'no WebGPU'}: using wasm`;
  else why = `neither WebGPU nor wasm could run (${unavailable.join('; ')}): using the plain JavaScript cpu backend, which is much slower`;

  let name = measured;
  if (opts.explicit && opts.explicit !== measured) {
    name = opts.explicit;
    why = `${name} as chosen (the measurement favoured ${measured}: ${why})`;
  }
  const failure = await trySet(name);
  if (failure) throw new Error(`The ${name} backend could not be initialised: ${failure}.`);
  // The timing tensors are disposed; nothing may stay behind on the backend the run does not use.
  for (const other of ['webgpu', 'wasm'] as const) {
    if (other !== name && backendDataIds(other) > 0) throw new Error(`internal: the backend timing left ${backendDataIds(other)} tensors on ${other}`);
  }
  return {
    name,
    adapter: name === 'webgpu' ? adapter : null,
    // The page's banner for "not on the GPU": the measured reason is the one to act on.
    fallbackReason: name === 'webgpu' ? null : why,
    softwareAdapter: software !== null,
    ...(name === 'wasm' ? { wasmThreads: wasmThreads() ?? 1, wasmKernels: wasmOwnKernels() } : {}),
    timings,
    why,
  };
}
