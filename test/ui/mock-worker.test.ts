import { describe, expect, it } from 'vitest';
import { MockTrainingWorker } from '../../src/ui/mock-worker';
import { createAppStore } from '../../src/ui/store';
import { clientFromPort } from '../../src/ui/worker-client';
import type { WorkerEvent } from '../../src/worker/protocol';

function memoryStorage(): Pick<Storage, 'getItem' | 'setItem'> {
  const m = new Map<string, string>();
  return { getItem: (k) => m.get(k) ?? null, setItem: (k, v) => void m.set(k, v) };
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe('mock worker (?mock)', () => {
  it('logs the backend fallback once, as the session does', async () => {
    const mock = new MockTrainingWorker({ tickMs: 1, backend: 'wasm', storage: memoryStorage() });
    const store = createAppStore(clientFromPort(mock));
    store.getState().load({ kind: 'embedded' });
    await until(() => store.getState().runState === 'ready');
    const reason = store.getState().backend!.fallbackReason!;
    expect(reason).toMatch(/WebGPU/);
    expect(store.getState().logs.filter((l) => l.message === reason).map((l) => l.level)).toEqual(['warn']);
  });

  it('speaks the new events: backend measurement, memory plan, base probe progress, history on resume', async () => {
    const storage = memoryStorage();
    const mock = new MockTrainingWorker({ tickMs: 1, backend: 'swiftshader', storage });
    const seen: WorkerEvent[] = [];
    mock.addEventListener('message', (ev) => seen.push(ev.data));
    const store = createAppStore(clientFromPort(mock));
    store.getState().load({ kind: 'embedded' });
    await until(() => store.getState().runState === 'ready');
    const backend = store.getState().backend!;
    expect(backend.name).toBe('wasm');
    expect(backend.why).toMatch(/software renderer/);
    expect(backend.timings?.map((t) => t.name)).toEqual(['webgpu', 'wasm', 'cpu']);

    store.getState().start();
    await until(() => store.getState().metrics.steps.length >= 6);
    store.getState().pause();
    await until(() => store.getState().runState === 'paused');
    expect(store.getState().memoryPlan).toMatchObject({ microBatchSize: 32, auto: true });
    const phases = seen.filter((e): e is Extract<WorkerEvent, { type: 'progress' }> => e.type === 'progress' && e.phase !== 'load').map((e) => `${e.phase}${e.message ? `:${e.message}` : ''}`);
    expect(phases[0]).toBe('probe:base');
    expect(phases).toContain('rollout');
    expect(phases).toContain('update');
    expect(phases).toContain('save');
    // The base probe arrives while the state is already 'running'.
    const firstProbe = seen.findIndex((e) => e.type === 'progress' && e.phase === 'probe');
    const running = seen.findIndex((e) => e.type === 'state' && e.state === 'running');
    expect(running).toBeGreaterThanOrEqual(0);
    expect(running).toBeLessThan(firstProbe);
    mock.terminate();

    // A reload: a fresh page and mock over the same storage resume from step 5 with the history.
    const mock2 = new MockTrainingWorker({ tickMs: 1, backend: 'gpu', storage });
    const store2 = createAppStore(clientFromPort(mock2));
    store2.getState().load({ kind: 'embedded' });
    await until(() => store2.getState().runState === 'ready');
    expect(store2.getState().resumable).toBe(true);
    expect(store2.getState().backend).toMatchObject({ name: 'webgpu', softwareAdapter: false });
    store2.getState().start({ resume: true });
    await until(() => store2.getState().metrics.steps.length >= 5 && store2.getState().probes.length >= 2);
    const s = store2.getState();
    expect(s.metrics.steps.slice(0, 5)).toEqual([1, 2, 3, 4, 5]);
    expect(s.probes[0]!.step).toBe(0);
    await until(() => store2.getState().metrics.steps.length >= 7);
    store2.getState().stop();
    expect(store2.getState().checkpoints.filter((c) => c.step === 5).length).toBeLessThanOrEqual(1);
    mock2.terminate();
  });

  it('reports n = 0 for plan and knowledge on a JSONL task, and checks rewards again on resume', async () => {
    const mock = new MockTrainingWorker({ tickMs: 1, storage: memoryStorage() });
    const store = createAppStore(clientFromPort(mock));
    store.getState().load({ kind: 'embedded' });
    await until(() => store.getState().runState === 'ready');
    store.getState().setTask({ kind: 'jsonl', name: 'x.jsonl', text: '{"question":"q","answer":"1"}\n{"question":"r","answer":"2"}' });
    store.getState().start();
    await until(() => store.getState().probes.length >= 1);
    expect(store.getState().probes[0]!.plan.n).toBe(0);
    expect(store.getState().probes[0]!.plain.n).toBeGreaterThan(0);
    store.getState().pause();
    await until(() => store.getState().runState === 'paused');
    store.getState().setUserRewards([{ name: 'loop', source: '(c) => { while (true) {} }', weight: 1 }]);
    store.getState().resume();
    await until(() => Object.keys(store.getState().rewardErrors).length > 0);
    expect(store.getState().runState).toBe('paused');
    store.getState().setUserRewards([{ name: 'loop', source: '(c) => 1', weight: 1 }]);
    store.getState().resume();
    await until(() => store.getState().runState === 'running');
    store.getState().stop();
    mock.terminate();
  });
});
