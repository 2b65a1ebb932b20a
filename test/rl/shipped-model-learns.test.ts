/**
 * RL works on the shipped model: a seeded GRPO run from public/models/tabzero-tiny, on wasm in
 * Node through the same TrainingSession the browser worker drives (which probes the base model
 * before the first step when probing is on), raises greedy plain accuracy
 * on the held-out probe set by at least 10 points. Budget: RL_STEPS steps of
 * prompts_per_step × num_generations rollouts (a few minutes on a 2-core machine).
 * The probe trajectory is written to test-artifacts/rl-shipped-probes.jsonl.
 */
import { describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { TrainingSession } from '../../src/worker/session';
import { initNodeBackend } from '../../src/cli/node-webgpu';
import { modelSource } from '../../src/cli/commands/generate';
import type { ProbeReport, WorkerEvent } from '../../src/worker/protocol';

export const RL_STEPS = 30;
export const RL_CONFIG = {
  seed: 7,
  num_generations: 8,
  prompts_per_step: 8,
  learning_rate: 5e-4,
  max_completion_length: 96,
  temperature: 1.0,
  loss_type: 'dapo',
  beta: 0,
  max_steps: RL_STEPS,
};
const PROBE_COUNT = 96;

describe('GRPO on the shipped model', () => {
  it(`raises plain probe accuracy by ≥ 10 points within ${RL_STEPS} steps (wasm)`, async () => {
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
      await session.handle({ type: 'start', config: RL_CONFIG, task: { kind: 'toy-world' }, probeEvery: RL_STEPS / 2 });
      await done;
    } finally {
      await session.dispose();
    }
    mkdirSync('test-artifacts', { recursive: true });
    writeFileSync(join('test-artifacts', 'rl-shipped-probes.jsonl'), probes.map((p) => JSON.stringify(p)).join('\n') + '\n');
    expect(errors).toEqual([]);
    expect(probes.length).toBe(3);
    const before = probes[0]!.plain.acc;
    const after = probes[probes.length - 1]!.plain.acc;
    expect(probes[0]!.plain.n).toBe(PROBE_COUNT);
    expect(after - before).toBeGreaterThanOrEqual(0.1);
  }, 1_800_000);
});
