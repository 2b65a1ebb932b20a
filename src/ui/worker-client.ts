/**
 * The page's only line to the training worker: typed commands out, typed events in.
 * Anything that behaves like a Worker (the real one, the mock, a test double) can sit behind it.
 */
import type { Command, WorkerEvent } from '../worker/protocol';

/** The part of the Worker interface the client uses, so tests and the mock can stand in for it. */
export interface WorkerPort {
  postMessage(message: Command, transfer: Transferable[]): void;
  addEventListener(type: 'message', listener: (ev: MessageEvent<WorkerEvent>) => void): void;
  addEventListener(type: 'error', listener: (ev: ErrorEvent) => void): void;
  terminate(): void;
}

export interface WorkerClient {
  send(cmd: Command): void;
  subscribe(listener: (event: WorkerEvent) => void): () => void;
  terminate(): void;
}

/** Buffers of user files move to the worker instead of being copied (a Hub model can be hundreds of MB). */
function transferablesOf(cmd: Command): Transferable[] {
  if (cmd.type === 'load' && cmd.source.kind === 'files') return cmd.source.files.map((f) => f.data);
  return [];
}

export function clientFromPort(port: WorkerPort): WorkerClient {
  const listeners = new Set<(event: WorkerEvent) => void>();
  const emit = (event: WorkerEvent) => {
    for (const l of listeners) l(event);
  };
  port.addEventListener('message', (ev) => emit(ev.data));
  port.addEventListener('error', (ev) => {
    // A Worker 'error' event means the worker script itself failed (did not load, or threw at top level).
    emit({
      type: 'error',
      code: 'worker-crashed',
      message: `The training worker stopped: ${ev.message || 'its script failed to load'}. Reload the page; if it happens again, try the wasm backend.`,
    });
  });
  return {
    send(cmd) {
      port.postMessage(cmd, transferablesOf(cmd));
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    terminate() {
      port.terminate();
      listeners.clear();
    },
  };
}

export function createTrainingWorkerClient(): WorkerClient {
  const worker = new Worker(new URL('../worker/training-worker.ts', import.meta.url), { type: 'module', name: 'tabzero-training' });
  return clientFromPort(worker as unknown as WorkerPort);
}
