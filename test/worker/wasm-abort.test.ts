/**
 * A wasm abort (the module's heap is exhausted) mid-run becomes the out-of-memory message with the
 * micro_batch_size to set, and the next Start works without a reload: the backend is re-created
 * and the model loaded again. The abort is real: the module's heap is filled with malloc'd blocks
 * (untouched, so cheap in resident memory) until the run's next allocation fails.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../src/cli/node-webgpu';
import { TrainingSession } from '../../src/worker/session';
import type { WorkerEvent } from '../../src/worker/protocol';
import { tinyModelFiles } from '../fixtures/tiny-model';

const files = [...tinyModelFiles('llama')].map(([name, data]) => ({ name, data: data.slice().buffer as ArrayBuffer }));
const CONFIG = { num_generations: 4, prompts_per_step: 4, max_completion_length: 8, max_steps: 50, micro_batch_size: 16 };

/** Fill the wasm heap to its 4 GiB limit, leaving less than 4 KiB free. */
function exhaustWasmHeap(): void {
  const wasm = (tf.backend() as unknown as { wasm: { _malloc(n: number): number } }).wasm;
  for (let block = 2 ** 30; block >= 4096; block /= 2) while (wasm._malloc(block) !== 0);
}

let session: TrainingSession | null = null;
afterEach(async () => {
  await session?.dispose();
  session = null;
});

describe('wasm abort', () => {
  it('is reported as out of memory with the value to set, and the next Start trains', async () => {
    const events: WorkerEvent[] = [];
    session = new TrainingSession((e) => events.push(e), { initBackend: () => initNodeBackend('wasm'), embedded: { kind: 'files', files } }, { checkpointEvery: 0 });
    const until = async (pred: () => boolean) => {
      for (let i = 0; i < 6000 && !pred(); i++) await new Promise((r) => setTimeout(r, 10));
      expect(pred()).toBe(true);
    };
    await session.handle({ type: 'load', source: { kind: 'embedded' } });
    expect(tf.getBackend()).toBe('wasm');
    exhaustWasmHeap();
    await session.handle({ type: 'start', config: CONFIG, task: { kind: 'toy-world', difficulty: 1 } });
    await until(() => events.some((e) => e.type === 'error'));
    const err = events.find((e) => e.type === 'error') as Extract<WorkerEvent, { type: 'error' }>;
    expect(err.code).toBe('out-of-memory');
    // micro-batches of 16 failed: half of that is what to set (the estimate says 16 fits, so the smaller wins).
    expect(err.message).toMatch(/^The wasm backend ran out of memory in this step\. Set micro_batch_size to 8 \(this step used 16 completions per backward pass\)/);
    await until(() => session!.runState === 'ready');

    // The dead module would abort again on any call; Start makes a new one and reloads the model.
    const before = events.length;
    await session.handle({ type: 'start', config: { ...CONFIG, micro_batch_size: 8 }, task: { kind: 'toy-world', difficulty: 1 } });
    await until(() => events.slice(before).some((e) => e.type === 'metrics' || e.type === 'error'));
    expect(events.slice(before).filter((e) => e.type === 'error')).toEqual([]);
    expect(events.slice(before).some((e) => e.type === 'log' && /Restarting the wasm backend/.test(e.message))).toBe(true);
    expect(tf.getBackend()).toBe('wasm');
    await session.handle({ type: 'stop' });
  }, 180_000);
});
