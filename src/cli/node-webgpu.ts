/**
 * Node-only setup: WebGPU through Dawn (the `webgpu` npm package) on the GLES-compat Mesa
 * llvmpipe adapter, and the wasm backend's file location. Used by the CLI, tests and benches.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, type BackendName, type BackendReport } from '../core/backend';

let installed = false;

/** Install navigator.gpu from Dawn. Idempotent. Returns false when the `webgpu` package cannot load. */
export async function installNodeWebGpu(): Promise<boolean> {
  if (installed) return true;
  process.env.EGL_PLATFORM ??= 'surfaceless';
  if (!process.env.XDG_RUNTIME_DIR) {
    // Dawn's GL path wants a private runtime dir; a fresh 0700 one per process avoids touching others'.
    process.env.XDG_RUNTIME_DIR = mkdtempSync(join(tmpdir(), 'tabzero-xdg-'));
  }
  let mod: typeof import('webgpu');
  try {
    mod = await import('webgpu');
  } catch {
    return false;
  }
  Object.assign(globalThis, mod.globals);
  const gpu = mod.create(['backend=opengles']);
  const request = gpu.requestAdapter.bind(gpu);
  // llvmpipe's GLES adapter is only offered at the compatibility feature level.
  gpu.requestAdapter = (opts?: GPURequestAdapterOptions) =>
    request({ ...(opts ?? {}), featureLevel: 'compatibility' } as GPURequestAdapterOptions);
  const nav = (globalThis as { navigator?: object }).navigator;
  if (nav) {
    Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
  } else {
    (globalThis as { navigator?: object }).navigator = { gpu };
  }
  installed = true;
  return true;
}

/** The dist folder of @tensorflow/tfjs-backend-wasm, where its .wasm files live. */
export function nodeWasmDir(): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + '/';
}

/** initBackend for Node: Dawn installed first when webgpu is asked for, wasm files from node_modules. */
export async function initNodeBackend(preferred: BackendName = 'cpu'): Promise<BackendReport> {
  // PROD silences tfjs's "install tfjs-node" banner (that package is not an option here) and skips debug checks.
  tf.env().set('PROD', true);
  if (preferred === 'webgpu') await installNodeWebGpu();
  return initBackend(preferred, { wasmPaths: nodeWasmDir() });
}

/** The backend chosen by measurement (Dawn's llvmpipe adapter against wasm), or the explicit one, still measured. */
export async function chooseNodeBackend(explicit?: BackendName): Promise<BackendReport> {
  tf.env().set('PROD', true);
  await installNodeWebGpu();
  const { chooseBackend } = await import('../core/backend-choice');
  return chooseBackend({ wasmPaths: nodeWasmDir(), ...(explicit ? { explicit } : {}) });
}
