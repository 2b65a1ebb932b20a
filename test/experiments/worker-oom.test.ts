/**
 * An experiment whose backend runs out of memory mid-run, through the worker protocol: the error
 * is typed (out-of-memory) and says what to do, the arm that finished is kept and stored, and
 * Continue, after the session has made the backend and its model anew, finishes the rest.
 * `generate` is wrapped so that the abort comes exactly when the test asks for it.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';

const abort = { armed: false, fired: false };
vi.mock('../../src/core/model/generate', async (importOriginal) => {
  const m = await importOriginal<typeof import('../../src/core/model/generate')>();
  return {
    ...m,
    generate: (...args: Parameters<typeof m.generate>) => {
      // What a wasm module throws when its heap runs out.
      if (abort.armed) return Promise.reject(new Error('Aborted(). Build with -sASSERTIONS for more info.'));
      return m.generate(...args);
    },
  };
});

import { initNodeBackend } from '../../src/cli/node-webgpu';
import { TrainingSession } from '../../src/worker/session';
import { memoryExperimentStore } from '../../src/worker/experiment-store';
import type { WorkerEvent } from '../../src/worker/protocol';
import { tinyModelFiles } from '../fixtures/tiny-model';

const files = [...tinyModelFiles('llama')].map(([name, data]) => ({ name, data: data.slice().buffer as ArrayBuffer }));
const GRPO = { num_generations: 2, prompts_per_step: 2, max_completion_length: 4, micro_batch_size: 0 };
const MINI = Array.from({ length: 24 }, (_, i) => JSON.stringify({ question: `${i}+2?`, answer: String(i + 2), subproblems: [{ question: `${i}+1?`, answer: String(i + 1) }] })).join('\n');
const TASK = { kind: 'jsonl' as const, name: 'mini', text: MINI };
const SIZE = { seeds: 1, steps: 1, stage2Steps: 0, probeN: 2, samples: 2 };

let session: TrainingSession | null = null;
afterEach(async () => {
  abort.armed = false;
  await session?.dispose();
});

describe('an experiment that runs out of memory', () => {
  it('reports it as out-of-memory, keeps the finished arm, and Continue finishes after the backend is made anew', async () => {
    const events: WorkerEvent[] = [];
    const store = memoryExperimentStore();
    session = new TrainingSession(
      (e) => {
        events.push(e);
        // The base arm is in: the next generate (the RL arm's first rollout) aborts.
        if (!abort.fired && e.type === 'experiment' && e.record.result.runs.length === 1 && e.record.status === 'running') abort.armed = abort.fired = true;
      },
      { initBackend: () => initNodeBackend('cpu'), embedded: { kind: 'files', files }, experiments: store },
    );
    const until = (pred: (e: WorkerEvent) => boolean, from = 0) => expect.poll(() => events.slice(from).some(pred), { timeout: 120_000, interval: 50 }).toBe(true);
    await session.handle({ type: 'load', source: { kind: 'embedded' } });
    void session.handle({ type: 'experimentStart', name: 'decomposition', size: SIZE, task: TASK, grpo: GRPO });
    await until((e) => e.type === 'experiment' && e.record.status !== 'running');
    const err = events.find((e): e is Extract<WorkerEvent, { type: 'error' }> => e.type === 'error')!;
    expect(err.code).toBe('out-of-memory');
    expect(err.message).toMatch(/^Experiment decomposition failed: the cpu backend ran out of memory\. Press Continue .* Its finished arms are kept\.$/s);
    const failed = (await store.list()).experiments[0]!;
    expect(failed.status).toBe('failed');
    expect(failed.result.runs.map((r) => r.arm)).toEqual(['base']);

    abort.armed = false;
    const from = events.length;
    void session.handle({ type: 'experimentStart', name: 'decomposition', size: SIZE, task: TASK, grpo: GRPO, continueId: failed.id });
    await until((e) => e.type === 'error' || (e.type === 'experiment' && e.record.status !== 'running'), from);
    expect(events.slice(from).filter((e) => e.type === 'error')).toEqual([]);
    expect(events.slice(from).some((e) => e.type === 'log' && /Restarting the cpu backend/.test(e.message))).toBe(true);
    const done = (await store.list()).experiments[0]!;
    expect(done.status).toBe('complete');
    expect(done.result.runs.map((r) => r.arm)).toEqual(['base', 'rl-plain']);
    expect(done.result.runs[0]).toEqual(failed.result.runs[0]);
  }, 300_000);
});
