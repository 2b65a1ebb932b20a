/**
 * Choose and initialise the tfjs backend: webgpu, then wasm, then cpu. The report says which one
 * runs, on what adapter, and why a faster one was not used, in words a user can act on.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import type { BackendName, BackendReport } from './domain';

export type { BackendName, BackendReport };

const ORDER: BackendName[] = ['webgpu', 'wasm', 'cpu'];

interface GpuLike {
  requestAdapter(opts?: GPURequestAdapterOptions): Promise<GPUAdapter | null>;
}

function navigatorGpu(): GpuLike | undefined {
  const nav = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator;
  return nav?.gpu;
}

function describeAdapter(adapter: GPUAdapter): string {
  const info = (adapter as GPUAdapter & { info?: GPUAdapterInfo }).info;
  if (!info) return 'WebGPU adapter (no description available)';
  const parts = [info.vendor, info.architecture, info.device, info.description].filter((s) => typeof s === 'string' && s.length > 0);
  return parts.length ? parts.join(' / ') : 'WebGPU adapter (no description available)';
}

/**
 * Register tfjs's WebGPU backend with an adapter we requested ourselves. The package registers
 * itself only if navigator.gpu existed when it was first imported, which is not the case in Node
 * (the Dawn shim is installed later) or when another module imported it early.
 */
async function setupWebGpu(): Promise<{ adapter: string } | { reason: string }> {
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
  return { adapter: description };
}

async function trySet(name: BackendName): Promise<string | null> {
  try {
    const ok = await tf.setBackend(name);
    if (!ok) return `the ${name} backend failed to initialise`;
    await tf.ready();
    return null;
  } catch (e) {
    return `the ${name} backend failed to initialise (${(e as Error).message})`;
  }
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
    if (name === 'webgpu') {
      const r = await setupWebGpu();
      if ('reason' in r) {
        reasons.push(r.reason);
        continue;
      }
      adapter = r.adapter;
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
    };
  }
  throw new Error(`No tfjs backend could be initialised: ${reasons.join('; ')}.`);
}
