/**
 * An experiment through the worker's message protocol, as the page runs it: commands into a
 * TrainingSession, events out. A reduced recipe (tiny generated model, cpu backend, one RL step,
 * two probe problems) runs end to end and yields its table; Stop keeps the finished arms; an error
 * keeps them too; a training run that is active is not disturbed (the experiment is refused).
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../src/cli/node-webgpu';
import { TrainingSession } from '../../src/worker/session';
import { memoryExperimentStore } from '../../src/worker/experiment-store';
import { memoryStore } from '../../src/worker/checkpoint-store';
import type { Command, ExperimentRecord, WorkerEvent } from '../../src/worker/protocol';
import { tinyModelFiles } from '../fixtures/tiny-model';
import { baseFiles } from '../../src/worker/session-experiment';
import { exportModel } from '../../src/core/model/load';
import type { SessionContext } from '../../src/worker/session-context';

const files = [...tinyModelFiles('llama')].map(([name, data]) => ({ name, data: data.slice().buffer as ArrayBuffer }));
const GRPO = { num_generations: 2, prompts_per_step: 2, max_completion_length: 4, micro_batch_size: 0 };
const MINI = Array.from({ length: 24 }, (_, i) =>
  JSON.stringify({ question: `${i}+2?`, answer: String(i + 2), plan: ['add.'], knowledge: ['2 is 2.'], subproblems: [{ question: `${i}+1?`, answer: String(i + 1) }], solution: `a. b. c. ${i + 2}.` }),
).join('\n');
const TASK = { kind: 'jsonl' as const, name: 'mini', text: MINI };
const SIZE = { seeds: 2, steps: 1, stage2Steps: 0, probeN: 2, samples: 2 };

let sessions: TrainingSession[] = [];
afterEach(async () => {
  for (const s of sessions) await s.dispose();
  sessions = [];
});

function make(store = memoryExperimentStore()) {
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
    { initBackend: () => initNodeBackend('cpu'), embedded: { kind: 'files', files }, experiments: store },
    { probeCount: 2 },
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
  const records = () => events.filter((e): e is Extract<WorkerEvent, { type: 'experiment' }> => e.type === 'experiment').map((e) => e.record);
  return { session, events, waitFor, send, records, store };
}

const ended = (r: ExperimentRecord) => r.status !== 'running';

describe('experiments through the worker protocol', () => {
  it('runs a reduced recipe end to end: progress, a partial result after each arm, the table and plot, stored', async () => {
    const { session, events, waitFor, send, records, store } = make();
    await send({ type: 'load', source: { kind: 'embedded' } });
    await waitFor('loaded');
    const tensors = tf.memory().numTensors;
    void send({ type: 'experimentStart', name: 'decomposition', size: SIZE, task: TASK, grpo: GRPO });
    const final = (await waitFor('experiment', (e) => ended(e.record))).record;
    expect(events.filter((e) => e.type === 'error')).toEqual([]);
    expect(final.status).toBe('complete');
    // One partial result at the start (no arms), then one per finished (arm, seed): base once, rl-plain per seed.
    const partial = records().filter((r) => r.status === 'running').map((r) => r.result.runs.map((x) => `${x.arm}/${x.seed}`).join(','));
    expect(partial).toEqual(['', 'base/1', 'base/1,rl-plain/1', 'base/1,rl-plain/1,rl-plain/2']);
    // Progress names the arm, the seed and the phase, with counts.
    const progress = events.filter((e): e is Extract<WorkerEvent, { type: 'experimentProgress' }> => e.type === 'experimentProgress').map((e) => e.phase);
    expect(progress.some((p) => p.arm === 'rl-plain' && p.seed === 2 && p.phase === 'train' && p.total === 1)).toBe(true);
    expect(progress.some((p) => p.arm === 'base' && p.phase === 'probe' && p.total > 0)).toBe(true);
    expect(progress.every((p) => p.runsTotal === 3 && p.runsDone <= 3)).toBe(true);
    // The table: both arms, intervals over the 2 probe problems, the seeds behind each.
    expect(final.table.complete).toBe(true);
    expect(final.table.arms.map((a) => [a.arm, a.seeds])).toEqual([
      ['base', [1]],
      ['rl-plain', [1, 2]],
    ]);
    const plain = final.table.arms[1]!.cells.plain;
    expect(plain.n).toBe(2);
    expect(plain.lo).toBeLessThanOrEqual(plain.mean);
    expect(plain.hi).toBeGreaterThanOrEqual(plain.mean);
    expect(final.markdown).toContain('| RL on plain prompts | 2 |');
    expect(final.markdown).toContain('npx tabzero experiment decomposition --out runs/decomposition --seeds 2 --steps 1 --probe-n 2 --samples 2 --backend cpu');
    expect(final.svg).toMatch(/^<svg[\s\S]*<\/svg>\n$/);
    expect(final.result.settings.probeSamples).toBe(2);
    // Stored: a new session on the same store (a reload) lists it.
    const again = make(store);
    await again.send({ type: 'experimentList' });
    const listed = (await again.waitFor('experiments')).records;
    expect(listed.map((r) => [r.id, r.status])).toEqual([[final.id, 'complete']]);
    expect(listed[0]!.table).toEqual(final.table);
    // The session's own model is as it was, and it can train afterwards.
    expect(tf.memory().numTensors).toBe(tensors);
    expect(session.runState).toBe('ready');
    await send({ type: 'start', config: { ...GRPO, max_steps: 1 }, task: TASK, probeEvery: 0 });
    await waitFor('metrics', (e) => e.step === 1);
  }, 300_000);

  it('starts from the weights as loaded, even after a training run changed them and a new Start was stopped at once', async () => {
    const { session, waitFor, send, events } = make();
    await send({ type: 'load', source: { kind: 'embedded' } });
    await waitFor('loaded');
    const ctx = (session as unknown as { ctx: SessionContext }).ctx;
    const weights = (m: Map<string, Uint8Array>) => [...m.entries()].filter(([name]) => name.endsWith('.safetensors'));
    const source = weights(await baseFiles(ctx));
    // A reward that varies within every group, so the update moves the weights.
    const LENGTH = [{ name: 'length', source: '(c) => c.length', weight: 1 }];
    await send({ type: 'start', config: { ...GRPO, learning_rate: 0.05, max_steps: 2 }, task: TASK, probeEvery: 0, builtinRewards: [], rewards: LENGTH });
    await waitFor('state', (e) => e.state === 'ready' && events.some((x) => x.type === 'metrics' && x.step === 2));
    expect(weights(await exportModel(ctx.loaded!.model, ctx.loaded!.files))).not.toEqual(source);
    // A second run: a fresh trainer at step 0 over the changed weights, stopped before its first step.
    await send({ type: 'start', config: { ...GRPO, max_steps: 5 }, task: TASK, probeEvery: 0, builtinRewards: [], rewards: LENGTH });
    await send({ type: 'stop' });
    await waitFor('state', (e) => e.state === 'ready' && events.filter((x) => x.type === 'state' && x.state === 'ready').length >= 2);
    expect(weights(await baseFiles(ctx))).toEqual(source);
  }, 300_000);

  it('refuses while a training run is active, and refuses training while an experiment runs', async () => {
    const { waitFor, send, events } = make();
    await send({ type: 'load', source: { kind: 'embedded' } });
    await waitFor('loaded');
    await send({ type: 'start', config: { ...GRPO, max_steps: 1000 }, task: TASK, probeEvery: 0 });
    await waitFor('metrics', (e) => e.step === 1);
    await send({ type: 'experimentStart', name: 'decomposition', size: SIZE, task: TASK, grpo: GRPO });
    const refused = await waitFor('error', (e) => e.code === 'busy');
    expect(refused.message).toMatch(/training run is running\. Stop it first/);
    expect(events.some((e) => e.type === 'experiment')).toBe(false);
    await send({ type: 'stop' });
    await waitFor('state', (e) => e.state === 'ready');
    void send({ type: 'experimentStart', name: 'decomposition', size: { ...SIZE, seeds: 1 }, task: TASK, grpo: GRPO });
    await waitFor('experiment');
    await send({ type: 'start', config: GRPO, task: TASK });
    const busy = await waitFor('error', (e) => e.code === 'busy' && /experiment 'decomposition' is running/.test(e.message));
    expect(busy.message).toMatch(/before starting a training run/);
    const final = await waitFor('experiment', (e) => ended(e.record));
    expect(final.record.status).toBe('complete');
  }, 300_000);

  it('Stop keeps the finished arms, stored as stopped; Continue runs only the rest', async () => {
    const { waitFor, send, store, events } = make();
    await send({ type: 'load', source: { kind: 'embedded' } });
    await waitFor('loaded');
    const tensors = tf.memory().numTensors;
    void send({ type: 'experimentStart', name: 'decomposition', size: { ...SIZE, steps: 3 }, task: TASK, grpo: GRPO });
    // The base arm is done; stop during rl-plain's training.
    await waitFor('experimentProgress', (e) => e.phase.arm === 'rl-plain' && e.phase.phase === 'train');
    await send({ type: 'experimentStop' });
    const final = (await waitFor('experiment', (e) => ended(e.record))).record;
    expect(final.status).toBe('stopped');
    expect(final.result.runs.map((r) => r.arm)).toEqual(['base']);
    expect(final.table.complete).toBe(false);
    expect(final.markdown).toContain('Incomplete run');
    expect((await store.list()).experiments.map((e) => e.status)).toEqual(['stopped']);
    expect(tf.memory().numTensors).toBe(tensors);
    // Continue: the same id, the base arm kept as it was, only the rest run.
    const before = events.length;
    const after = () => events.slice(before);
    void send({ type: 'experimentStart', name: 'decomposition', size: { ...SIZE, steps: 3 }, task: TASK, grpo: GRPO, continueId: final.id });
    await expect.poll(() => after().some((e) => e.type === 'error' || (e.type === 'experiment' && ended(e.record))), { timeout: 200_000, interval: 100 }).toBe(true);
    expect(after().filter((e) => e.type === 'error')).toEqual([]);
    const done = (after().filter((e) => e.type === 'experiment').at(-1) as Extract<WorkerEvent, { type: 'experiment' }>).record;
    expect(done.status).toBe('complete');
    expect(done.id).toBe(final.id);
    expect(done.result.runs.map((r) => `${r.arm}/${r.seed}`)).toEqual(['base/1', 'rl-plain/1', 'rl-plain/2']);
    expect(done.result.runs[0]).toEqual(final.result.runs[0]);
    expect((await store.list()).experiments.map((e) => [e.id, e.status])).toEqual([[final.id, 'complete']]);
  }, 300_000);

  it('an error ends the run with a clear message and keeps the finished arms', async () => {
    const { waitFor, send } = make();
    await send({ type: 'load', source: { kind: 'embedded' } });
    await waitFor('loaded');
    // The base arm probes fine; the RL arm's trainer refuses the setting.
    void send({ type: 'experimentStart', name: 'decomposition', size: SIZE, task: TASK, grpo: { ...GRPO, learning_rate: -1 } });
    const err = await waitFor('error');
    expect(err.code).toBe('config');
    expect(err.message).toMatch(/^Experiment decomposition failed: .*learning_rate.* Its finished arms are kept\.$/s);
    const final = (await waitFor('experiment', (e) => ended(e.record))).record;
    expect(final.status).toBe('failed');
    expect(final.error).toMatch(/learning_rate/);
    expect(final.result.runs.map((r) => r.arm)).toEqual(['base']);
  }, 300_000);

  it("live probes measure Avg@8 at T = 0.6 when the run asks for it, greedy otherwise", async () => {
    const { waitFor, send, events } = make();
    await send({ type: 'load', source: { kind: 'embedded' } });
    await waitFor('loaded');
    await send({ type: 'start', probeMode: 'avg@k', config: { ...GRPO, max_steps: 1 }, task: TASK, probeEvery: 1 });
    const base = await waitFor('probes', (e) => e.report.step === 0);
    expect([base.report.mode, base.report.samples, base.report.temperature]).toEqual(['avg@k', 8, 0.6]);
    await waitFor('state', (e) => e.stop === 'max_steps');
    await send({ type: 'evalProbes' });
    const later = events.filter((e): e is Extract<WorkerEvent, { type: 'probes' }> => e.type === 'probes').at(-1)!;
    expect(later.report.mode).toBe('avg@k');
    await send({ type: 'start', config: { ...GRPO, max_steps: 1 }, task: TASK, probeEvery: 1 });
    const greedy = await waitFor('probes', (e) => e.report.mode === 'greedy');
    expect(greedy.report.samples).toBe(1);
  }, 300_000);

  it('a resumed run probes in the mode it was saved with, and says so', async () => {
    const checkpoints = memoryStore();
    const session = (events: WorkerEvent[]) => {
      const s = new TrainingSession((e) => events.push(e), { initBackend: () => initNodeBackend('cpu'), embedded: { kind: 'files', files }, checkpoints }, { probeCount: 2, checkpointEvery: 0 });
      sessions.push(s);
      return s;
    };
    const a: WorkerEvent[] = [];
    const first = session(a);
    await first.handle({ type: 'load', source: { kind: 'embedded' } });
    await first.handle({ type: 'start', probeMode: 'avg@k', config: { ...GRPO, max_steps: 1 }, task: TASK, probeEvery: 1 });
    await expect.poll(() => a.some((e) => e.type === 'state' && e.stop === 'max_steps'), { timeout: 120_000 }).toBe(true);
    await first.handle({ type: 'save' });
    const b: WorkerEvent[] = [];
    const second = session(b);
    await second.handle({ type: 'load', source: { kind: 'embedded' } });
    await second.handle({ type: 'start', resume: true });
    const resumed = b.find((e): e is Extract<WorkerEvent, { type: 'resumed' }> => e.type === 'resumed')!;
    expect(resumed.probeMode).toBe('avg@k');
    await second.handle({ type: 'evalProbes' });
    const probes = b.filter((e): e is Extract<WorkerEvent, { type: 'probes' }> => e.type === 'probes');
    expect(probes.at(-1)!.report.mode).toBe('avg@k');
  }, 300_000);

  it('full browser storage: the run goes on, the page warns once and still lists it', async () => {
    const inner = memoryExperimentStore();
    const full = { ...inner, put: () => Promise.reject(new Error('QuotaExceededError')) };
    const { waitFor, send, events } = make(full);
    await send({ type: 'load', source: { kind: 'embedded' } });
    await waitFor('loaded');
    void send({ type: 'experimentStart', name: 'decomposition', size: { ...SIZE, seeds: 1 }, task: TASK, grpo: GRPO });
    const final = (await waitFor('experiment', (e) => ended(e.record))).record;
    expect(final.status).toBe('complete');
    const warnings = events.filter((e) => e.type === 'log' && e.level === 'warn' && /could not be stored in browser storage \(QuotaExceededError\); download its files/.test(e.message));
    expect(warnings).toHaveLength(1);
    await send({ type: 'experimentList' });
    const listed = (await waitFor('experiments')).records;
    expect(listed.map((r) => [r.id, r.status])).toEqual([[final.id, 'complete']]);
  }, 300_000);
});
