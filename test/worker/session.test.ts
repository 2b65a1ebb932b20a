import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../src/cli/node-webgpu';
import { TrainingSession } from '../../src/worker/session';
import type { Command, WorkerEvent } from '../../src/worker/protocol';
import { tinyModelFiles } from '../fixtures/tiny-model';

const files = [...tinyModelFiles('llama')].map(([name, data]) => ({ name, data: data.slice().buffer as ArrayBuffer }));
const CONFIG = { num_generations: 4, prompts_per_step: 2, max_completion_length: 6, max_steps: 50 };

let sessions: TrainingSession[] = [];
afterEach(async () => {
  for (const s of sessions) await s.dispose();
  sessions = [];
});

function make() {
  const events: WorkerEvent[] = [];
  const waiters: { pred: (e: WorkerEvent) => boolean; resolve: (e: WorkerEvent) => void }[] = [];
  const session = new TrainingSession(
    (e) => {
      events.push(e);
      for (const w of [...waiters]) {
        if (w.pred(e)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(e);
        }
      }
    },
    { initBackend: () => initNodeBackend('cpu'), embedded: { kind: 'files', files }, rewardTimeLimitMs: 500 },
    { probeCount: 3 },
  );
  sessions.push(session);
  const waitFor = <T extends WorkerEvent['type']>(type: T, pred: (e: Extract<WorkerEvent, { type: T }>) => boolean = () => true) =>
    new Promise<Extract<WorkerEvent, { type: T }>>((resolve) => {
      const p = (e: WorkerEvent) => e.type === type && pred(e as Extract<WorkerEvent, { type: T }>);
      const seen = events.find(p);
      if (seen) return resolve(seen as Extract<WorkerEvent, { type: T }>);
      waiters.push({ pred: p, resolve: resolve as (e: WorkerEvent) => void });
    });
  const send = (c: Command) => session.handle(c);
  return { session, events, waitFor, send };
}

describe('TrainingSession', () => {
  it('loads, runs, pauses, steps, takes config, exports, and keeps tensor counts flat', async () => {
    const { session, events, waitFor, send } = make();
    await send({ type: 'load', source: { kind: 'embedded' } });
    const loaded = await waitFor('loaded');
    expect(loaded.backend.name).toBe('cpu');
    expect(loaded.model.params).toBeGreaterThan(0);
    expect(session.runState).toBe('ready');

    await send({ type: 'start', config: CONFIG, task: { kind: 'toy-world', difficulty: 1 } });
    const m1 = await waitFor('metrics', (e) => e.step === 1);
    expect(m1.metrics.reward).toBeTypeOf('number');
    expect(m1.metrics['rewards/correctness/mean']).toBeTypeOf('number');
    const r1 = await waitFor('rollouts', (e) => e.step === 1);
    expect(r1.groups).toHaveLength(2);
    expect(r1.groups[0]!.completions).toHaveLength(4);
    await waitFor('metrics', (e) => e.step === 2);
    await send({ type: 'pause' });
    expect(session.runState).toBe('paused');
    // The step in flight finishes; then nothing more runs.
    await new Promise((r) => setTimeout(r, 300));
    const steps = () => events.filter((e) => e.type === 'metrics').length;
    const n = steps();
    const tensors = tf.memory().numTensors;
    await new Promise((r) => setTimeout(r, 200));
    expect(steps()).toBe(n);

    await send({ type: 'setConfig', config: { learning_rate: 5e-4 } });
    expect(session.currentTrainer!.config.learning_rate).toBe(5e-4);
    await send({ type: 'step' });
    expect(steps()).toBe(n + 1);
    await send({ type: 'step' });
    expect(tf.memory().numTensors).toBe(tensors);

    await send({ type: 'setConfig', config: { loss_type: 'ppo' } });
    const cfgErr = await waitFor('error', (e) => e.code === 'config');
    expect(cfgErr.message).toMatch(/loss_type/);

    await send({ type: 'evalProbes' });
    const probes = await waitFor('probes');
    expect(probes.report.plain.n).toBeGreaterThan(0);
    expect(probes.report.plain.n).toBeLessThanOrEqual(3);

    await send({ type: 'export' });
    const exported = await waitFor('exported');
    expect(exported.files.map((f) => f.name)).toContain('model.safetensors');

    await send({ type: 'resume' });
    expect(session.runState).toBe('running');
    await send({ type: 'stop' });
    expect(session.runState).toBe('ready');
  });

  it('reports a user reward syntax error with its line, and pauses on a reward that loops', async () => {
    const { session, waitFor, send } = make();
    await send({ type: 'load', source: { kind: 'embedded' } });
    await send({ type: 'start', config: CONFIG, rewards: [{ name: 'mine', source: '(c) => {\n  return c.length +;\n}', weight: 1 }] });
    const err = await waitFor('error', (e) => e.code === 'reward');
    expect(err.reward).toEqual({ name: 'mine', line: 2, column: 20 });
    expect(session.runState).toBe('ready');

    await send({ type: 'start', config: CONFIG, builtinRewards: [], rewards: [{ name: 'spin', source: '(c) => { while (true) {} }', weight: 1 }] });
    const spin = await waitFor('error', (e) => e.reward?.name === 'spin');
    expect(spin.message).toMatch(/longer than 500 ms/);
    await waitFor('state', (e) => e.state === 'paused');
  });
});

describe('TrainingSession checkpoints', () => {
  it('saves on pause and resumes in a new session with the same weights, optimizer state and step', async () => {
    const { memoryStore } = await import('../../src/worker/checkpoint-store');
    const store = memoryStore();
    const mk = () => {
      const events: WorkerEvent[] = [];
      const s = new TrainingSession((e) => events.push(e), { initBackend: () => initNodeBackend('cpu'), embedded: { kind: 'files', files }, checkpoints: store }, { checkpointEvery: 0 });
      sessions.push(s);
      return { s, events };
    };
    const a = mk();
    await a.s.handle({ type: 'load', source: { kind: 'embedded' } });
    expect(a.events.find((e) => e.type === 'loaded')).toMatchObject({ resumable: false });
    await a.s.handle({ type: 'start', config: { ...CONFIG, learning_rate: 1e-2 }, task: { kind: 'toy-world', difficulty: 1 }, builtinRewards: [{ name: 'format', weight: 1 }], rewards: [{ name: 'len', source: '(c) => c.length / 6', weight: 1 }] });
    while (!a.events.some((e) => e.type === 'metrics' && e.step === 2)) await new Promise((r) => setTimeout(r, 20));
    await a.s.handle({ type: 'pause' });
    const saved = a.events.find((e) => e.type === 'checkpoint');
    expect(saved).toBeDefined();
    const stepA = a.s.currentTrainer!.step;
    expect((saved as { step: number }).step).toBe(stepA);
    const stateA = await a.s.currentTrainer!.exportState();
    const weightsA = await a.s.currentTrainer!.policy.exportTensors();

    const b = mk();
    await b.s.handle({ type: 'load', source: { kind: 'embedded' } });
    expect(b.events.find((e) => e.type === 'loaded')).toMatchObject({ resumable: true });
    await b.s.handle({ type: 'start', resume: true });
    await b.s.handle({ type: 'pause' });
    const tb = b.s.currentTrainer!;
    expect(tb.config.learning_rate).toBe(1e-2);
    expect(b.events.some((e) => e.type === 'log' && e.message === `Resumed at step ${stepA}.`)).toBe(true);
    // the UI learns the saved run's settings, so its form shows what the run uses
    expect(b.events.find((e) => e.type === 'resumed')).toMatchObject({ step: stepA, config: { learning_rate: 1e-2 }, task: { kind: 'toy-world', difficulty: 1 } });
    // Pause lets the step in flight finish: the resumed run's first step follows A's last.
    const firstB = b.events.find((e) => e.type === 'metrics') as { step: number };
    expect(firstB.step).toBe(stepA + 1);
    expect(weightsA.size).toBeGreaterThan(0);
    expect(stateA.state.step).toBe(stepA);
  });
});
