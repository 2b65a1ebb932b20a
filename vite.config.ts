import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';

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

export default defineConfig({
  plugins: [react()],
  worker: { format: 'es', plugins: () => [trainingWorkerStub()] },
  build: { target: 'es2022', chunkSizeWarningLimit: 4096 },
  server: { host: '127.0.0.1', port: 5173 },
  preview: { host: '127.0.0.1', port: 4173 },
});
