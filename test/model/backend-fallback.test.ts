import { describe, expect, it } from 'vitest';
import { initBackend } from '../../src/core/backend';
import { nodeWasmDir } from '../../src/cli/node-webgpu';

describe('initBackend', () => {
  it('falls back from webgpu to wasm with a reason in words when navigator.gpu is missing', async () => {
    expect((globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu).toBeUndefined();
    const report = await initBackend('webgpu', { wasmPaths: nodeWasmDir() });
    expect(report.name).toBe('wasm');
    expect(report.adapter).toBeNull();
    expect(report.fallbackReason).toBe('This browser has no WebGPU (navigator.gpu is undefined); using wasm, which is slower.');
  });
  it('reports no fallback reason when the preferred backend works', async () => {
    const cpu = await initBackend('cpu');
    expect(cpu).toEqual({ name: 'cpu', adapter: null, fallbackReason: null });
  });
});
