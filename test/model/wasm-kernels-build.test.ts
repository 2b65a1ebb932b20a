/** The WebAssembly kernels' shipped bytes (src/core/kernels/*-module.ts) are what their .wat sources compile to. */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compiledModuleSource, KERNELS_DIR, moduleFileFor, watSources } from '../../config/build-wasm-kernels';

describe('wasm kernel modules', () => {
  it.each(watSources())('%s: the shipped module is its compiled text (run config/build-wasm-kernels.ts after editing)', async (wat) => {
    const shipped = readFileSync(join(KERNELS_DIR, moduleFileFor(wat)), 'utf8');
    expect(await compiledModuleSource(wat)).toBe(shipped);
  });

  it('finds the kernels', () => {
    expect(watSources()).toContain('wasm-gemm.wat');
  });
});
