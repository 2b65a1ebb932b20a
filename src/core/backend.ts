/**
 * Choose and initialise the tfjs backend: webgpu, then wasm, then cpu. The report says which one
 * runs, on what adapter, and why a faster one was not used, in words a user can act on.
 */
import * as tf from '@tensorflow/tfjs-core';
import { wasmOwnKernels } from './kernels/wasm-own-kernels';
import '@tensorflow/tfjs-backend-cpu';
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import type { BackendName, BackendReport } from './domain';
import { installWasmContiguousSlice } from './kernels/wasm-slice';

export type { BackendName, BackendReport };

const ORDER: BackendName[] = ['webgpu', 'wasm', 'cpu'];

interface GpuLike {
  requestAdapter(opts?: GPURequestAdapterOptions): Promise<GPUAdapter | null>;
}

function navigatorGpu(): GpuLike | undefined {
  const nav = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator;
  return nav?.gpu;
}

function adapterInfo(adapter: GPUAdapter): (GPUAdapterInfo & { isFallbackAdapter?: boolean }) | undefined {
  return (adapter as GPUAdapter & { info?: GPUAdapterInfo & { isFallbackAdapter?: boolean } }).info;
}

function describeAdapter(adapter: GPUAdapter): string {
  const info = adapterInfo(adapter);
  if (!info) return 'WebGPU adapter (no description available)';
  const parts = [info.vendor, info.architecture, info.device, info.description].filter((s) => typeof s === 'string' && s.length > 0);
  return parts.length ? parts.join(' / ') : 'WebGPU adapter (no description available)';
}

const SOFTWARE_RENDERERS: [RegExp, string][] = [
  [/swiftshader/i, 'SwiftShader'],
  [/llvmpipe/i, 'llvmpipe'],
  [/lavapipe/i, 'lavapipe'],
  [/softpipe/i, 'softpipe'],
  [/microsoft basic render/i, 'Microsoft Basic Render Driver'],
  [/warp\b/i, 'WARP'],
];

/**
 * The software renderer behind a WebGPU adapter, by name, or null for a hardware GPU. A CPU
 * pretending to be a GPU is slower than tfjs' wasm backend on the same CPU.
 */
export function softwareRenderer(adapter: GPUAdapter): string | null {
  const text = describeAdapter(adapter);
  for (const [re, name] of SOFTWARE_RENDERERS) if (re.test(text)) return name;
  const fallback = adapterInfo(adapter)?.isFallbackAdapter ?? (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter;
  return fallback === true ? 'a fallback (software) adapter' : null;
}

/**
 * Register tfjs's WebGPU backend with an adapter we requested ourselves. The package registers
 * itself only if navigator.gpu existed when it was first imported, which is not the case in Node
 * (the Dawn shim is installed later) or when another module imported it early.
 */
export async function setupWebGpu(): Promise<{ adapter: string; software: string | null } | { reason: string }> {
  const gpu = navigatorGpu();
  if (!gpu) return { reason: 'This browser has no WebGPU (navigator.gpu is undefined)' };
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    return { reason: `WebGPU adapter request failed (${(e as Error).message})` };
  }
  if (!adapter) return { reason: 'WebGPU is present but no GPU adapter is available (requestAdapter returned null; the GPU may be blocklisted or disabled)' };
  const description = describeAdapter(adapter);
  const software = softwareRenderer(adapter);
  const mod = await import('@tensorflow/tfjs-backend-webgpu');
  if (!tf.findBackendFactory('webgpu')) {
    tf.registerBackend(
      'webgpu',
      async () => {
        const a = (await gpu.requestAdapter({ powerPreference: 'high-performance' }))!;
        const l = a.limits;
        const requiredFeatures: GPUFeatureName[] = a.features.has('timestamp-query') ? ['timestamp-query'] : [];
        const device = await a.requestDevice({
          requiredFeatures,
          requiredLimits: {
            maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
            maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
            maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
            maxBufferSize: l.maxBufferSize,
            maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
            maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
          },
        });
        const info = (a as GPUAdapter & { info?: GPUAdapterInfo }).info;
        return new mod.WebGPUBackend(device, info);
      },
      3,
    );
  }
  return { adapter: description, software };
}

/**
 * tfjs-wasm's XNNPACK pool size: every logical core but one, which stays with the page, the
 * browser and the garbage collector (a pool thread that loses its core stalls every parallel
 * kernel at its barrier: on a loaded 2-core machine two threads measured slower than one), and at
 * most the 8 pthreads tfjs-wasm starts with its module. tfjs's own default is half the cores.
 */
export function wasmThreadCount(hardwareConcurrency: number | undefined): number {
  const cores = Number.isFinite(hardwareConcurrency) && hardwareConcurrency! >= 1 ? Math.floor(hardwareConcurrency!) : 1;
  return Math.min(8, Math.max(1, cores - 1));
}

/** Set when the threaded build failed to start here: later starts (and recoveries) use one thread. */
let threadsFailed = false;

/**
 * Whether this context may run tfjs-wasm's threaded build: SharedArrayBuffer needs cross-origin
 * isolation (the page and the worker served with COOP/COEP); Node's tfjs-wasm has no threads.
 */
export function wasmThreadsAvailable(): boolean {
  const g = globalThis as { crossOriginIsolated?: boolean; SharedArrayBuffer?: unknown; process?: { versions?: { node?: string } } };
  if (g.process?.versions?.node) return false;
  return g.crossOriginIsolated === true && typeof g.SharedArrayBuffer === 'function' && !threadsFailed;
}

/** The threads tfjs-wasm runs kernels on, or null when the wasm backend has not started. */
export function wasmThreads(): number | null {
  try {
    return getThreadsCount();
  } catch {
    return null;
  }
}

async function setOnce(name: BackendName): Promise<string | null> {
  try {
    const ok = await tf.setBackend(name);
    if (!ok) return `the ${name} backend failed to initialise`;
    await tf.ready();
    return null;
  } catch (e) {
    return `the ${name} backend failed to initialise (${(e as Error).message})`;
  }
}

/**
 * tfjs-wasm sizes its pool as min(requested, navigator.hardwareConcurrency / 2), read once while
 * its module starts, so a 2-core machine gets one thread whatever is asked. The module reads the
 * count through the navigator of the context it starts in; it sees `cores` while `f` starts it.
 */
async function withReportedCores<T>(cores: number, f: () => Promise<T>): Promise<T> {
  const nav = (globalThis as { navigator?: object }).navigator;
  let shadowed = false;
  try {
    if (nav) {
      Object.defineProperty(nav, 'hardwareConcurrency', { value: cores, configurable: true });
      shadowed = true;
    }
  } catch {
    // a navigator that refuses the property: tfjs's own cap applies
  }
  try {
    return await f();
  } finally {
    if (shadowed) delete (nav as { hardwareConcurrency?: number }).hardwareConcurrency;
  }
}

/**
 * Starts tfjs-wasm: the threaded SIMD build where this context is cross-origin isolated, on
 * `threads` threads (default wasmThreadCount(hardwareConcurrency)), else the single-threaded SIMD
 * build; 'single' asks for the latter. When the threaded build fails to start (a host serving
 * the worker script without COEP, a browser refusing nested workers) it falls back to the
 * single-threaded build, for this start and every later one. Its Slice is then replaced by
 * kernels/wasm-slice.ts's. Returns why wasm could not start, or null.
 */
export async function startWasm(threads?: number | 'single'): Promise<string | null> {
  const failure = await startWasmBuild(threads);
  if (!failure) installWasmContiguousSlice();
  return failure;
}

async function startWasmBuild(threads?: number | 'single'): Promise<string | null> {
  const threaded = threads !== 'single' && wasmThreadsAvailable();
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', threaded);
  if (!threaded) return setOnce('wasm');
  const n = typeof threads === 'number' ? threads : wasmThreadCount((globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency);
  setThreadsCount(n);
  const failure = await withReportedCores(2 * n, () => setOnce('wasm'));
  if (!failure) return null;
  threadsFailed = true;
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  return setOnce('wasm');
}

export async function trySet(name: BackendName): Promise<string | null> {
  if (name !== 'wasm' || tf.engine().registry['wasm']) return setOnce(name);
  return startWasm();
}

const SLOWER: Record<BackendName, string> = { webgpu: '', wasm: 'which is slower', cpu: 'which is much slower' };

/**
 * Initialise the best available backend at or after `preferred` in the order webgpu → wasm → cpu.
 * `wasmPaths`: where the tfjs-backend-wasm .wasm files are served (a URL prefix, or the package's
 * dist folder in Node).
 */
export async function initBackend(preferred: BackendName = 'webgpu', opts: { wasmPaths?: string } = {}): Promise<BackendReport> {
  const reasons: string[] = [];
  for (const name of ORDER.slice(ORDER.indexOf(preferred))) {
    let adapter: string | null = null;
    let software: string | null = null;
    if (name === 'webgpu') {
      const r = await setupWebGpu();
      if ('reason' in r) {
        reasons.push(r.reason);
        continue;
      }
      adapter = r.adapter;
      software = r.software;
    }
    if (name === 'wasm' && opts.wasmPaths) setWasmPaths(opts.wasmPaths.endsWith('/') ? opts.wasmPaths : `${opts.wasmPaths}/`);
    const failure = await trySet(name);
    if (failure) {
      reasons.push(failure);
      continue;
    }
    return {
      name,
      adapter,
      fallbackReason: reasons.length ? `${reasons.join('; ')}; using ${name}, ${SLOWER[name]}.` : null,
      ...(name === 'webgpu' ? { softwareAdapter: software !== null } : {}),
      ...(name === 'wasm' ? { wasmThreads: wasmThreads() ?? 1, wasmKernels: wasmOwnKernels() } : {}),
    };
  }
  throw new Error(`No tfjs backend could be initialised: ${reasons.join('; ')}.`);
}
