/**
 * The run's state is always visible and recoverable: the base probe runs with the state already
 * 'running' (progress 'probe'/'base', Stop ends it between batches); a checkpoint carries the run's
 * history and a resume sends it before new metrics; the same step is not saved twice; after a
 * reward error, resume takes the page's current rewards; Start plans memory (auto micro-batch).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../src/cli/node-webgpu';
import { TrainingSession } from '../../src/worker/session';
import { memoryStore, type CheckpointStore } from '../../src/worker/checkpoint-store';
import type { Command, WorkerEvent } from '../../src/worker/protocol';
import { tinyModelFiles } from '../fixtures/tiny-model';

const files = [...tinyModelFiles('llama')].map(([name, data]) => ({ name, data: data.slice().buffer as ArrayBuffer }));
const CONFIG = { num_generations: 2, prompts_per_step: 2, max_completion_length: 4, max_steps: 50 };

let sessions: TrainingSession[] = [];
afterEach(async () => {
  for (const s of sessions) await s.dispose();
  sessions = [];
});

function make(opts: { store?: CheckpointStore; probeCount?: number } = {}) {
  const events: WorkerEvent[] = [];
  const session = new TrainingSession((e) => events.push(e), { initBackend: () => initNodeBackend('cpu'), embedded: { kind: 'files', files }, checkpoints: opts.store ?? null, rewardTimeLimitMs: 500 }, { probeCount: opts.probeCount ?? 2, checkpointEvery: 0 });
  sessions.push(session);
  const until = async (pred: () => boolean, ms = 60_000) => {
    const t0 = Date.now();
    while (!pred()) {
      if (Date.now() - t0 > ms) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const send = (c: Command) => session.handle(c);
  return { session, events, send, until };
}

describe('the base probe after Start', () => {
  it('runs with the state already running, reports progress as base, and Stop ends it between batches', async () => {
    const { session, events, send, until } = make({ probeCount: 30 });
    await send({ type: 'load', source: { kind: 'embedded' } });
    const started = send({ type: 'start', config: CONFIG, task: { kind: 'toy-world', difficulty: 1 }, probeEvery: 5 });
    await until(() => events.some((e) => e.type === 'progress' && e.phase === 'probe'));
    expect(session.runState).toBe('running');
    const first = events.find((e) => e.type === 'progress' && e.phase === 'probe') as Extract<WorkerEvent, { type: 'progress' }>;
    expect(first.message).toBe('base');
    expect(first.total).toBeGreaterThan(first.done);
    await send({ type: 'stop' });
    await started;
    expect(session.runState).toBe('ready');
    // Stopped between batches: the probe never finished and no step ran.
    expect(events.some((e) => e.type === 'probes')).toBe(false);
    expect(events.some((e) => e.type === 'metrics')).toBe(false);
    const probeEvents = events.filter((e) => e.type === 'progress' && e.phase === 'probe') as Extract<WorkerEvent, { type: 'progress' }>[];
    expect(probeEvents[probeEvents.length - 1]!.done).toBeLessThan(first.total);
  }, 120_000);

  it('emits the memory plan at Start; micro_batch_size 0 is chosen and the run uses it', async () => {
    const { session, events, send, until } = make();
    await send({ type: 'load', source: { kind: 'embedded' } });
    await send({ type: 'start', config: { ...CONFIG, micro_batch_size: 0 }, task: { kind: 'toy-world', difficulty: 1 } });
    const plan = events.find((e) => e.type === 'memoryPlan') as Extract<WorkerEvent, { type: 'memoryPlan' }>;
    expect(plan.plan.auto).toBe(true);
    // A tiny batch fits whole.
    expect(plan.plan.microBatchSize).toBe(4);
    expect(plan.plan.estimatedBytes).toBeLessThan(plan.plan.limitBytes);
    expect(session.currentTrainer!.config.micro_batch_size).toBe(4);
    await until(() => events.some((e) => e.type === 'metrics'));
    await send({ type: 'stop' });
  }, 120_000);
});

describe('history and checkpoints', () => {
  it('stores the history with the checkpoint, saves a step once, and a resume sends the history before new metrics', async () => {
    const store = memoryStore();
    const a = make({ store });
    await a.send({ type: 'load', source: { kind: 'embedded' } });
    await a.send({ type: 'start', config: CONFIG, task: { kind: 'toy-world', difficulty: 1 }, probeEvery: 2, probeCount: 3 });
    await a.send({ type: 'setConfig', config: { learning_rate: 2e-4 } });
    await a.until(() => a.events.some((e) => e.type === 'metrics' && e.step === 2));
    await a.send({ type: 'pause' });
    await a.send({ type: 'stop' });
    const checkpoints = a.events.filter((e) => e.type === 'checkpoint') as Extract<WorkerEvent, { type: 'checkpoint' }>[];
    // Pause saved the step; Stop with no step between did not save it again.
    expect(checkpoints.map((c) => c.step)).toEqual([a.session.currentTrainer!.step]);
    const stepA = a.session.currentTrainer!.step;
    const saved = await store.load();
    const history = JSON.parse(new TextDecoder().decode(saved!.get('history.json')!)) as { metrics: { step: number }[]; probes: { step: number }[]; log: unknown[] };
    expect(history.metrics.map((m) => m.step)).toEqual(Array.from({ length: stepA }, (_, i) => i + 1));
    expect(history.probes[0]!.step).toBe(0);
    expect(history.probes.map((p) => p.step)).toContain(2);
    expect(JSON.stringify(history.log)).toMatch(/Config updated: learning_rate/);

    const b = make({ store });
    await b.send({ type: 'load', source: { kind: 'embedded' } });
    await b.send({ type: 'start', resume: true });
    // The resumed run probes as many problems as the saved one (3), not the session default (2).
    await b.until(() => b.events.some((e) => e.type === 'probes'));
    await b.send({ type: 'stop' });
    const resumedProbe = b.events.find((e) => e.type === 'probes') as Extract<WorkerEvent, { type: 'probes' }>;
    expect(resumedProbe.report.plain.n).toBe(3);
    const iHistory = b.events.findIndex((e) => e.type === 'history');
    const iMetrics = b.events.findIndex((e) => e.type === 'metrics');
    expect(iHistory).toBeGreaterThanOrEqual(0);
    expect(iHistory).toBeLessThan(iMetrics);
    const h = (b.events[iHistory] as Extract<WorkerEvent, { type: 'history' }>).history;
    expect(h.metrics.map((m) => m.step)).toEqual(history.metrics.map((m) => m.step));
    expect(h.probes.map((p) => p.step)).toEqual(history.probes.map((p) => p.step));
    expect(h.log.length).toBeGreaterThan(0);
    expect((b.events[iMetrics] as Extract<WorkerEvent, { type: 'metrics' }>).step).toBe(stepA + 1);
  }, 180_000);
});

describe('resume after a reward error', () => {
  it('rebuilds the reward functions the page changed', async () => {
    const { session, events, send, until } = make();
    await send({ type: 'load', source: { kind: 'embedded' } });
    await send({ type: 'start', config: CONFIG, task: { kind: 'toy-world', difficulty: 1 }, builtinRewards: [], rewards: [{ name: 'mine', source: '(c) => { throw new Error("oops") }', weight: 1 }] });
    await until(() => events.some((e) => e.type === 'error' && e.code === 'reward'));
    await until(() => session.runState === 'paused');
    await send({ type: 'resume', builtinRewards: [], rewards: [{ name: 'mine', source: '(c) => 0.25', weight: 1 }] });
    await until(() => events.some((e) => e.type === 'metrics'));
    const m = events.find((e) => e.type === 'metrics') as Extract<WorkerEvent, { type: 'metrics' }>;
    expect(m.metrics['rewards/mine/mean']).toBe(0.25);
    expect(events.filter((e) => e.type === 'error')).toHaveLength(1);
    await send({ type: 'stop' });
  }, 120_000);
});

describe('Stop during a rollout', () => {
  it('ends the step before its update', async () => {
    const { session, events, send, until } = make();
    await send({ type: 'load', source: { kind: 'embedded' } });
    await send({ type: 'start', config: { ...CONFIG, max_completion_length: 48 }, task: { kind: 'toy-world', difficulty: 1 } });
    await until(() => events.some((e) => e.type === 'progress' && e.phase === 'rollout'));
    await send({ type: 'stop' });
    expect(session.runState).toBe('ready');
    expect(events.some((e) => e.type === 'metrics')).toBe(false);
    expect(events.some((e) => e.type === 'progress' && e.phase === 'update')).toBe(false);
    expect(session.currentTrainer!.step).toBe(0);
  }, 120_000);
});

describe('Pause and Resume during the base probe', () => {
  it('finish the probe on the base model first, then train', async () => {
    const { session, events, send, until } = make({ probeCount: 30 });
    await send({ type: 'load', source: { kind: 'embedded' } });
    const started = send({ type: 'start', config: CONFIG, task: { kind: 'toy-world', difficulty: 1 }, probeEvery: 5 });
    await until(() => events.some((e) => e.type === 'progress' && e.phase === 'probe'));
    await send({ type: 'pause' });
    expect(session.runState).toBe('paused');
    await send({ type: 'resume' });
    expect(session.runState).toBe('running');
    await started;
    await until(() => events.some((e) => e.type === 'metrics'));
    await send({ type: 'stop' });
    const iProbe = events.findIndex((e) => e.type === 'probes');
    const iMetrics = events.findIndex((e) => e.type === 'metrics');
    // The base probe was measured before any update, and exactly one loop ran.
    expect(iProbe).toBeGreaterThanOrEqual(0);
    expect(iProbe).toBeLessThan(iMetrics);
    const steps = events.filter((e) => e.type === 'metrics').map((e) => (e as { step: number }).step);
    expect(steps).toEqual(steps.map((_, i) => i + 1));
  }, 180_000);
});
