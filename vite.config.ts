import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';
import { tfjsWasmPthreadSource } from './config/tfjs-wasm-pthread-source';

const TRAINING_WORKER = resolve(import.meta.dirname, 'src/worker/training-worker.ts');

/**
 * Until the training worker lands the page still builds: the worker bundle is then a stub that
 * tells the user, through the protocol, that this build has no trainer (use ?mock for a demo).
 */
function trainingWorkerStub(): Plugin {
  return {
    name: 'tabzero:training-worker-stub',
    enforce: 'pre',
    resolveId(id) {
      if (resolve(id) === TRAINING_WORKER && !existsSync(TRAINING_WORKER)) return TRAINING_WORKER;
      return null;
    },
    load(id) {
      if (id !== TRAINING_WORKER || existsSync(TRAINING_WORKER)) return null;
      return `
        const msg = { type: 'error', code: 'worker-missing', message: 'This build has no training worker (src/worker/training-worker.ts was missing when it was built). Rebuild, or open the page with ?mock for a demo.' };
        self.onmessage = () => self.postMessage(msg);
        self.postMessage(msg);
      `;
    },
  };
}

const WASM_DIR = resolve(import.meta.dirname, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');

/** tfjs-backend-wasm fetches its .wasm files at run time; the worker looks for them under <base>/wasm/. */
function tfjsWasmFiles(): Plugin {
  const names = () => readdirSync(WASM_DIR).filter((n) => n.endsWith('.wasm'));
  return {
    name: 'tabzero:tfjs-wasm-files',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const m = /\/wasm\/([\w.-]+\.wasm)$/.exec(req.url?.split('?')[0] ?? '');
        if (!m || !names().includes(m[1]!)) return next();
        res.setHeader('content-type', 'application/wasm');
        res.end(readFileSync(resolve(WASM_DIR, m[1]!)));
      });
    },
    generateBundle() {
      for (const n of names()) this.emitFile({ type: 'asset', fileName: `wasm/${n}`, source: readFileSync(resolve(WASM_DIR, n)) });
    },
  };
}

/**
 * Cross-origin isolation, so that SharedArrayBuffer exists and tfjs-backend-wasm loads its
 * multi-threaded build (one thread otherwise). require-corp still admits CORS fetches (the Hub
 * answers with Access-Control-Allow-Origin) and the same-origin worker and .wasm files. Static
 * hosts get the same two headers from public/_headers (Netlify, Cloudflare Pages).
 */
export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  // tfjs-wasm's pthread script, made minification-proof, in the page, the worker bundle and dev's pre-bundled deps.
  plugins: [react(), tfjsWasmFiles(), tfjsWasmPthreadSource()],
  worker: { format: 'es', plugins: () => [trainingWorkerStub(), tfjsWasmPthreadSource()] },
  optimizeDeps: { rolldownOptions: { plugins: [tfjsWasmPthreadSource()] } },
  build: { target: 'es2022', chunkSizeWarningLimit: 4096 },
  server: { host: '127.0.0.1', port: 5173, headers: ISOLATION_HEADERS },
  preview: { host: '127.0.0.1', port: 4173, headers: ISOLATION_HEADERS },
});
