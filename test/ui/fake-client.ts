/** A WorkerClient that records commands and lets a test push events, as the worker would. */
import type { Command, WorkerEvent } from '../../src/worker/protocol';
import type { WorkerClient } from '../../src/ui/worker-client';

export interface FakeClient extends WorkerClient {
  sent: Command[];
  emit(event: WorkerEvent): void;
}

export function fakeClient(): FakeClient {
  const listeners = new Set<(e: WorkerEvent) => void>();
  const sent: Command[] = [];
  return {
    sent,
    send: (cmd) => void sent.push(cmd),
    subscribe(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    terminate: () => listeners.clear(),
    emit(event) {
      for (const l of listeners) l(event);
    },
  };
}
