/**
 * The build's fix for tfjs-wasm's pthread workers (config/tfjs-wasm-pthread-source.ts): the blob a
 * pthread loads is tfjs's own threaded module file, which declares the factory by itself, instead
 * of the factory's toString(), which stops being self-contained once minified.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { build } from 'vite';
import { rewriteBackendModule, threadedModuleSource } from '../../config/tfjs-wasm-pthread-source';

const pkgDir = dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json'));
const backendModule = join(pkgDir, 'dist/backend_wasm.js');

/** What a pthread does with the blob: evaluate it alone, as a classic script, then call the factory. */
function factoryTypeInFreshScope(script: string): string {
  return runInNewContext(`${script};\ntypeof WasmBackendModuleThreadedSimd`, {}) as string;
}

describe('tfjs-wasm pthread source', () => {
  it('replaces the factory toString() with the threaded module file, as a string literal', () => {
    const code = readFileSync(backendModule, 'utf8');
    const out = rewriteBackendModule(code, backendModule);
    expect(out).not.toMatch(/wasmFactoryThreadedSimd\.toString\(\)/);
    expect(out).toContain(JSON.stringify(threadedModuleSource(backendModule)));
    // The rest of the module is untouched.
    expect(out.replace(JSON.stringify(threadedModuleSource(backendModule)), '')).toBe(code.replace(/`var WasmBackendModuleThreadedSimd = `\s*\+\s*wasmFactoryThreadedSimd\.toString\(\)/, ''));
  });

  it('the file a pthread gets declares the factory in a scope of its own', () => {
    expect(factoryTypeInFreshScope(threadedModuleSource(backendModule))).toBe('function');
  });

  it('the cause: minified by vite, the factory re-evaluated from its toString() names a variable its scope lacks', async () => {
    // vite's production minifier over the threaded module, as the app's build bundles it.
    const out = (await build({
      configFile: false,
      logLevel: 'silent',
      plugins: [{ name: 'entry', resolveId: (id) => (id === 'entry' ? id : null), load: (id) => (id === 'entry' ? `import f from ${JSON.stringify(join(pkgDir, 'wasm-out/tfjs-backend-wasm-threaded-simd.js'))};\nglobalThis.__factory = f;` : null) }],
      build: { write: false, minify: true, rolldownOptions: { input: 'entry', output: { format: 'iife' } } },
    })) as { output: { type: string; code?: string }[] }[] | { output: { type: string; code?: string }[] };
    const code = (Array.isArray(out) ? out[0]! : out).output.find((o) => o.type === 'chunk')!.code!;
    const sandbox: { __factory?: { toString(): string } } = {};
    runInNewContext(code, sandbox);
    const pthread = { self: { location: { href: 'blob:http://localhost/x' } }, importScripts() {} };
    const minified = `var WasmBackendModuleThreadedSimd = ${sandbox.__factory!.toString()}`;
    const errorOf = (script: string) => {
      try {
        runInNewContext(`${script};\nWasmBackendModuleThreadedSimd({})`, { ...pthread });
        return '';
      } catch (e) {
        return (e as Error).message;
      }
    };
    // A one- or two-letter name: an outer variable the minifier renamed ("e is not defined" in the app).
    const renamed = /^[A-Za-z_$][\w$]? is not defined$/;
    expect(errorOf(minified)).toMatch(renamed);
    // The module file the build hands pthreads instead gets past that point (it fails later, on
    // browser globals this sandbox does not give it).
    expect(errorOf(threadedModuleSource(backendModule))).not.toMatch(renamed);
  });

  it('fails the build when tfjs no longer builds its pthread script this way', () => {
    expect(() => rewriteBackendModule('export const nothing = 1;', 'backend_wasm.js')).toThrow(/no longer builds its pthread script/);
  });
});
