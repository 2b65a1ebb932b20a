/**
 * tfjs-backend-wasm hands its pthread workers the threaded module's source as
 * `var WasmBackendModuleThreadedSimd = ` + factory.toString(). That factory is a closure: it reads
 * `_scriptDir` from the IIFE around it, guarded by `typeof _scriptDir !== "undefined"`. A minifier
 * renames `_scriptDir` to a one-letter name and, seeing it declared in the enclosing scope, drops the
 * typeof guard (`e!==void 0&&e`). Re-evaluated alone in a worker, that text names a variable that
 * does not exist, and every pthread dies with "ReferenceError: e is not defined".
 *
 * This plugin replaces the toString() with the package's own, unminified threaded module file as a
 * string literal (string contents survive minification): the script emscripten expects a pthread
 * to load, which declares `WasmBackendModuleThreadedSimd` itself. The build fails if tfjs changes the
 * line it rewrites, so an upgrade cannot silently bring the broken workers back.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

const BACKEND_MODULE = /[\\/]@tensorflow[\\/]tfjs-backend-wasm[\\/]dist[\\/]backend_wasm\.js$/;
const FACTORY_SOURCE = /`var WasmBackendModuleThreadedSimd = `\s*\+\s*wasmFactoryThreadedSimd\.toString\(\)/;
const THREADED_MODULE = '../wasm-out/tfjs-backend-wasm-threaded-simd.js';

/** The threaded module's file, for the pthread blob; `backendModule` is backend_wasm.js's path. */
export function threadedModuleSource(backendModule: string): string {
  return readFileSync(resolve(dirname(backendModule), THREADED_MODULE), 'utf8');
}

/** backend_wasm.js with its pthread blob made of the module file; throws when the pattern is gone. */
export function rewriteBackendModule(code: string, id: string): string {
  if (!FACTORY_SOURCE.test(code)) {
    throw new Error(`${id}: tfjs-backend-wasm no longer builds its pthread script from wasmFactoryThreadedSimd.toString(); update config/tfjs-wasm-pthread-source.ts for this tfjs version.`);
  }
  const source = JSON.stringify(threadedModuleSource(id));
  return code.replace(FACTORY_SOURCE, () => source);
}

/** A vite (and rolldown, for dev's dependency pre-bundling) plugin applying rewriteBackendModule. */
export function tfjsWasmPthreadSource() {
  return {
    name: 'tabzero:tfjs-wasm-pthread-source',
    transform(code: string, id: string) {
      const file = id.split('?')[0]!;
      if (!BACKEND_MODULE.test(file)) return null;
      return { code: rewriteBackendModule(code, file), map: null };
    },
  };
}
