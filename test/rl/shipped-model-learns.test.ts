/**
 * RL works on the shipped model: a seeded GRPO run from public/models/tabzero-tiny, on wasm in
 * Node through the same TrainingSession the browser worker drives (which probes the base model
 * before the first step), raises greedy plain accuracy on the held-out probe set by at least 10
 * points. The probe trajectory is written to test-artifacts/rl-shipped-probes.jsonl.
 *
 * Budget: RL_STEPS steps of RL_CONFIG on wasm, plus PROBE_COUNT-problem probes every PROBE_EVERY
 * steps; RL_BUDGET_MINUTES is what it takes on this project's 2-core CI machines, where it runs
 * beside the rest of the suite. The same run from the command line:
 *   npx tabzero train --config docs/grpo-run-config.json --out runs/grpo --probe-every 10 --probe-n 96 --max-steps 20
 */
import { describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { TrainingSession } from '../../src/worker/session';
import { initNodeBackend } from '../../src/cli/node-webgpu';
import { modelSource } from '../../src/cli/commands/generate';
import type { GrpoConfigPatch, ProbeReport, WorkerEvent } from '../../src/worker/protocol';

export const RL_STEPS = 20;
export const RL_BUDGET_MINUTES = 8;
const PROBE_EVERY = 10;
const PROBE_COUNT = 96;

/** The documented run's config (docs/grpo-run-config.json) without its "model" and "task" keys. */
function rlConfig(): GrpoConfigPatch {
  const doc = JSON.parse(readFileSync(resolve('docs/grpo-run-config.json'), 'utf8')) as GrpoConfigPatch;
  const { model: _model, task: _task, ...grpo } = doc;
  return { ...grpo, max_steps: RL_STEPS };
}

describe('GRPO on the shipped model', () => {
  it(`raises plain probe accuracy by ≥ 10 points within ${RL_STEPS} steps (wasm, ~${RL_BUDGET_MINUTES} min)`, async () => {
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
        if (e.type === 'state' && e.stop === 'max_steps') finished();
      },
      { initBackend: () => initNodeBackend('wasm'), embedded: modelSource(resolve('public/models/tabzero-tiny')) },
      { probeCount: PROBE_COUNT, probeSeed: 1234 },
    );
    try {
      await session.handle({ type: 'load', source: { kind: 'embedded' }, backend: 'wasm' });
      await session.handle({ type: 'start', config: rlConfig(), task: { kind: 'toy-world' }, probeEvery: PROBE_EVERY });
      await done;
    } finally {
      await session.dispose();
    }
    mkdirSync('test-artifacts', { recursive: true });
    writeFileSync(join('test-artifacts', 'rl-shipped-probes.jsonl'), probes.map((p) => JSON.stringify(p)).join('\n') + '\n');
    expect(errors).toEqual([]);
    expect(probes.map((p) => p.step)).toEqual(Array.from({ length: RL_STEPS / PROBE_EVERY + 1 }, (_, i) => i * PROBE_EVERY));
    expect(probes[0]!.plain.n).toBe(PROBE_COUNT);
    const before = probes[0]!.plain.acc;
    const after = probes[probes.length - 1]!.plain.acc;
    expect(after - before, `plain accuracy ${before} → ${after}`).toBeGreaterThanOrEqual(0.1);
  }, 3_600_000);
});
