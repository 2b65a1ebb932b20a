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
