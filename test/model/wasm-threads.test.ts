import { describe, expect, it } from 'vitest';
import { wasmThreadCount, wasmThreadsAvailable } from '../../src/core/backend';

describe('wasm threads', () => {
  it('every logical core but one, at least one, up to the 8 pthreads tfjs-wasm pre-starts', () => {
    expect(wasmThreadCount(2)).toBe(1);
    expect(wasmThreadCount(4)).toBe(3);
    expect(wasmThreadCount(9)).toBe(8);
    expect(wasmThreadCount(32)).toBe(8);
    expect(wasmThreadCount(undefined)).toBe(1);
    expect(wasmThreadCount(0)).toBe(1);
  });
  it('Node has no threaded tfjs-wasm: the single-threaded build', () => {
    expect(wasmThreadsAvailable()).toBe(false);
  });
});
