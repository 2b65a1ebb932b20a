/**
 * The Web Worker entry: postMessage glue around TrainingSession. The page creates it with
 * `new Worker(new URL('./training-worker.ts', import.meta.url), { type: 'module' })`.
 */
import type { Command, WorkerEvent } from './protocol';
import { TrainingSession } from './session';
import { chooseBackend } from '../core/backend-choice';
import { opfsStore } from './opfs-store';
import { opfsExperimentStore } from './opfs-experiments';

interface WorkerScope {
  postMessage(msg: WorkerEvent, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent<Command>) => void) | null;
  location: { origin: string };
}

const scope = self as unknown as WorkerScope;

// The worker script's own URL differs between dev and build; the app's base URL does not.
// (Read defensively: a bundle not built by vite has no import.meta.env.)
const base = new URL((import.meta as { env?: { BASE_URL?: string } }).env?.BASE_URL ?? '/', scope.location.origin);
// tfjs-backend-wasm's .wasm files, which the build copies to wasm/ (see the report: vite config).
const wasmPaths = new URL('wasm/', base).href;

function post(e: WorkerEvent): void {
  // Exported weights can be large: hand the buffers over instead of copying them.
  if (e.type === 'exported') scope.postMessage(e, e.files.map((f) => f.data));
  else scope.postMessage(e);
}

const session = new TrainingSession(post, {
  // Timed on each available backend; the user's explicit choice wins but is still measured.
  initBackend: (explicit) => chooseBackend({ wasmPaths, ...(explicit ? { explicit } : {}) }),
  embedded: { kind: 'url', baseUrl: new URL('models/tabzero-tiny/', base).href },
  checkpoints: opfsStore(),
  experiments: opfsExperimentStore(),
  // 64 held-out problems unless the start command (a preset) asks for another size: at 24 the
  // Wilson interval is ±20 points wide and a real change reads as noise.
}, { probeCount: 64 });

scope.onmessage = (e) => {
  void session.handle(e.data).catch((err: unknown) => {
    post({ type: 'error', code: 'internal', message: err instanceof Error ? err.message : String(err) });
  });
};
