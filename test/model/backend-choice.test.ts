/**
 * The backend is chosen by timing, not by "WebGPU exists": on this machine Dawn's only adapter is
 * Mesa llvmpipe (a CPU rasteriser), which loses to wasm; the reason names the adapter. An explicit
 * choice is respected and the measurement still reported; no timing tensor stays behind.
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { chooseNodeBackend } from '../../src/cli/node-webgpu';
import { backendDataIds } from '../../src/core/backend-choice';

describe('backend chosen by measurement (Node, Dawn llvmpipe vs wasm)', () => {
  it('picks wasm over the software adapter and says why', async () => {
    const r = await chooseNodeBackend();
    expect(r.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(r.softwareAdapter).toBe(true);
    const gpu = r.timings!.find((t) => t.name === 'webgpu')!;
    const wasm = r.timings!.find((t) => t.name === 'wasm')!;
    expect(gpu.ms).toBeGreaterThan(wasm.ms!);
    expect(r.why).toMatch(/^WebGPU adapter is a software renderer \(llvmpipe\): wasm is [\d.]+× faster here$/);
    expect(r.fallbackReason).toBe(r.why);
    expect(backendDataIds('webgpu')).toBe(0);
    console.log(JSON.stringify({ timings: r.timings, why: r.why }));
  }, 60_000);

  it('respects an explicit backend and still reports the measurement', async () => {
    const r = await chooseNodeBackend('webgpu');
    expect(r.name).toBe('webgpu');
    expect(tf.getBackend()).toBe('webgpu');
    expect(r.adapter).toMatch(/llvmpipe/);
    expect(r.timings!.map((t) => t.name)).toEqual(['webgpu', 'wasm']);
    expect(r.why).toMatch(/^webgpu as chosen \(the measurement favoured wasm: /);
    expect(backendDataIds('wasm')).toBe(0);
    // and back: an explicit wasm after webgpu leaves nothing on webgpu
    const w = await chooseNodeBackend('wasm');
    expect(w.name).toBe('wasm');
    expect(backendDataIds('webgpu')).toBe(0);
  }, 60_000);
});
