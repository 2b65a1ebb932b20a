/**
 * Page for bench/browser-wasm-threads-update.ts: runs bench/browser/grpo-update-worker.ts in a
 * module Web Worker (as the app trains) and exposes its answer as window.result. The query string
 * goes to the worker: ?threads=N pins tfjs-wasm's pool, ?threads=single the single-threaded build.
 */
const worker = new Worker(new URL('./grpo-update-worker.ts', import.meta.url), { type: 'module' });
(window as unknown as { result: Promise<unknown> }).result = new Promise((resolve) => {
  worker.onmessage = (e: MessageEvent) => resolve(e.data);
  worker.onerror = (e) => resolve({ error: e.message || 'the worker failed to start' });
  worker.postMessage({ query: location.search, crossOriginIsolated: self.crossOriginIsolated });
});
