/**
 * The Lecture preset tells its story within 2 minutes on wasm: on the shipped model, through the
 * same TrainingSession the page's worker drives, with the preset's own settings and probe size,
 * the mean reward of the last 5 of the first LECTURE_STEPS steps exceeds the first 5 by
 * REWARD_MARGIN, and greedy plain accuracy on the held-out probe set rises by ACC_MARGIN with
 * Wilson intervals that do not overlap. Seeded; the trajectory goes to test-artifacts/.
 *
 * LECTURE_STEPS and the margins come from measured runs (bench/lecture-run.ts; the figures are in
 * the preset's tooltip): base probe + LECTURE_STEPS steps + the final probe take about 2 minutes
 * of one core on wasm. The margins leave room for a faster update that changes rounding (and so
 * the sampled trajectory) without changing what RL does.
 */
import { describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { TrainingSession } from '../../src/worker/session';
import { initNodeBackend } from '../../src/cli/node-webgpu';
import { PRESETS, applyPreset, toPatch } from '../../src/ui/config-schema';
import type { ProbeReport, WorkerEvent } from '../../src/worker/protocol';

export const LECTURE_STEPS = 10;
const REWARD_MARGIN = 0.1;
const ACC_MARGIN = 0.15;

describe('the Lecture preset on the shipped model (wasm)', () => {
  it(`raises reward and plain probe accuracy beyond its interval within ${LECTURE_STEPS} steps`, async () => {
    const preset = PRESETS.find((p) => p.id === 'lecture')!;
    const { config } = applyPreset('lecture');
    const probes: ProbeReport[] = [];
    const rewards: { step: number; reward: number; t: number }[] = [];
    const errors: string[] = [];
    let finished: () => void = () => undefined;
    const done = new Promise<void>((r) => (finished = r));
    const t0 = performance.now();
    const session = new TrainingSession(
      (e: WorkerEvent) => {
        if (e.type === 'probes') probes.push(e.report);
        if (e.type === 'metrics') rewards.push({ step: e.step, reward: e.metrics.reward!, t: (performance.now() - t0) / 1000 });
        if (e.type === 'error') {
          errors.push(e.message);
          finished();
        }
        if (e.type === 'state' && e.reason === 'max_steps reached') finished();
      },
      { initBackend: () => initNodeBackend('wasm'), embedded: { kind: 'dir', path: resolve('public/models/tabzero-tiny') } },
      { probeCount: preset.probeCount, probeSeed: 1234, checkpointEvery: 0 },
    );
    try {
      await session.handle({ type: 'load', source: { kind: 'embedded' }, backend: 'wasm' });
      // Probes at the base model and after the last step: the preset's own probe_every in between is for the page.
      await session.handle({ type: 'start', config: { ...toPatch(config), max_steps: LECTURE_STEPS }, task: { kind: 'toy-world' }, probeEvery: LECTURE_STEPS });
      await done;
    } finally {
      await session.dispose();
    }
    mkdirSync('test-artifacts', { recursive: true });
    writeFileSync(join('test-artifacts', 'lecture-probes.jsonl'), probes.map((p) => JSON.stringify(p)).join('\n') + '\n');
    writeFileSync(join('test-artifacts', 'lecture-rewards.jsonl'), rewards.map((r) => JSON.stringify(r)).join('\n') + '\n');
    expect(errors).toEqual([]);
    expect(rewards.map((r) => r.step)).toEqual(Array.from({ length: LECTURE_STEPS }, (_, i) => i + 1));
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const first = mean(rewards.slice(0, 5).map((r) => r.reward));
    const last = mean(rewards.slice(-5).map((r) => r.reward));
    expect(last - first, `mean reward ${first.toFixed(3)} (steps 1–5) → ${last.toFixed(3)} (last 5)`).toBeGreaterThanOrEqual(REWARD_MARGIN);
    expect(probes.map((p) => p.step)).toEqual([0, LECTURE_STEPS]);
    const [base, end] = [probes[0]!.plain, probes[1]!.plain];
    expect(base.n).toBe(preset.probeCount);
    expect(end.acc - base.acc, `plain accuracy ${base.acc} → ${end.acc}`).toBeGreaterThanOrEqual(ACC_MARGIN);
    expect(end.lo, `intervals [${base.lo.toFixed(3)}, ${base.hi.toFixed(3)}] and [${end.lo.toFixed(3)}, ${end.hi.toFixed(3)}]`).toBeGreaterThan(base.hi);
  }, 1_800_000);
});
