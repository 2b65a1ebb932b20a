/**
 * RL works on the shipped model: a seeded GRPO run from public/models/tabzero-tiny, on wasm in
 * Node through the same TrainingSession the browser worker drives (which probes the base model
 * before the first step), should raise greedy plain accuracy on the held-out probe set by at
 * least 10 points. The probe trajectory is written to test-artifacts/rl-shipped-probes.jsonl.
 *
 * Budget: RL_STEPS steps of 16 prompts × 8 rollouts, about 25 s a step on a 2-core machine
 * (~40 minutes), too long to run on every CI pass, so it runs when TABZERO_RL_TEST=1:
 *   TABZERO_RL_TEST=1 npx vitest run test/rl/shipped-model-learns.test.ts
 * The same run from the CLI: `npx tabzero train --config <RL_CONFIG as JSON> --probe-every 20 --probe-n 96`.
 */
import { describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { TrainingSession } from '../../src/worker/session';
import { initNodeBackend } from '../../src/cli/node-webgpu';
import { modelSource } from '../../src/cli/commands/generate';
import type { ProbeReport, WorkerEvent } from '../../src/worker/protocol';

export const RL_STEPS = 100;
export const RL_CONFIG = {
  seed: 7,
  num_generations: 8,
  prompts_per_step: 16,
  micro_batch_size: 32,
  learning_rate: 2e-4,
  beta: 0.02,
  max_completion_length: 96,
  temperature: 1.0,
  loss_type: 'dapo',
  max_steps: RL_STEPS,
};
const PROBE_EVERY = 20;
const PROBE_COUNT = 96;

describe('GRPO on the shipped model', () => {
  it.runIf(process.env.TABZERO_RL_TEST === '1')(`raises plain probe accuracy by ≥ 10 points within ${RL_STEPS} steps (wasm)`, async () => {
    const probes: ProbeReport[] = [];
    const errors: string[] = [];
    let finished: () => void = () => undefined;
    const done = new Promise<void>((r) => (finished = r));
    const session = new TrainingSession(
      (e: WorkerEvent) => {
        if (e.type === 'probes') probes.push(e.report);
        if (e.type === 'error') {
          errors.push(e.message);
          finished();
        }
        if (e.type === 'state' && e.reason === 'max_steps reached') finished();
      },
      { initBackend: () => initNodeBackend('wasm'), embedded: modelSource(resolve('public/models/tabzero-tiny')) },
      { probeCount: PROBE_COUNT, probeSeed: 1234 },
    );
    try {
      await session.handle({ type: 'load', source: { kind: 'embedded' }, backend: 'wasm' });
      await session.handle({ type: 'start', config: RL_CONFIG, task: { kind: 'toy-world' }, probeEvery: PROBE_EVERY });
      await done;
    } finally {
      await session.dispose();
    }
    mkdirSync('test-artifacts', { recursive: true });
    writeFileSync(join('test-artifacts', 'rl-shipped-probes.jsonl'), probes.map((p) => JSON.stringify(p)).join('\n') + '\n');
    expect(errors).toEqual([]);
    expect(probes.length).toBe(RL_STEPS / PROBE_EVERY + 1);
    expect(probes[0]!.plain.n).toBe(PROBE_COUNT);
    const before = probes[0]!.plain.acc;
    const after = probes[probes.length - 1]!.plain.acc;
    expect(after - before).toBeGreaterThanOrEqual(0.1);
  }, 3_600_000);
});
