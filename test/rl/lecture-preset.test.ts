/**
 * The Lecture preset tells its story within about 2 minutes on wasm: on the shipped model, through
 * the same TrainingSession the page's worker drives, with the preset's own settings, probe size and
 * probe_every, greedy plain accuracy on the held-out probe set rises by ACC_MARGIN by the step-6
 * probe, with Wilson intervals that do not overlap, and the mean reward of the last 5 of
 * LECTURE_STEPS steps exceeds that of the first 5 by REWARD_MARGIN. Seeded; the probes and rewards
 * go to test-artifacts/ (docs/lecture-*.svg are drawn from them).
 *
 * Measured (bench/lecture-run.ts --preset lecture --probe-n 192 --probe-every 6 --steps 16, seed
 * 42, wasm, an idle 2-core machine): base probe 20 s, a step ~4 s, each later probe ~20 s, 128 s in
 * all for 16 steps and the probes at 0, 6 and 12. Plain accuracy 29.2% [23.2–36.0] → 45.3%
 * [38.4–52.4] at step 6 (42.7% at step 12). Rewards of steps 1–5: 0.434 0.528 0.497 0.694 0.775
 * (mean 0.586); of steps 12–16: 0.775 0.666 0.606 0.809 0.778 (mean 0.727), +0.141. The
 * trajectory is deterministic for a seed and backend (the same before and after the faster wasm
 * kernels); the margins are about half of what was measured.
 */
import { describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { TrainingSession } from '../../src/worker/session';
import { initNodeBackend } from '../../src/cli/node-webgpu';
import { PRESETS, applyPreset, toPatch } from '../../src/ui/config-schema';
import type { ProbeReport, WorkerEvent } from '../../src/worker/protocol';

export const LECTURE_STEPS = 16;
/** The probe that must show the rise: the preset's first after the base one. */
const PROBE_STEP = 6;
const ACC_MARGIN = 0.1;
const REWARD_MARGIN = 0.07;

describe('the Lecture preset on the shipped model (wasm)', () => {
  it(`raises plain probe accuracy beyond its interval by step ${PROBE_STEP} and the reward within ${LECTURE_STEPS} steps`, async () => {
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
      // As the page runs it: the preset's own probe_every (probes at 0, 6 and 12).
      await session.handle({ type: 'start', config: { ...toPatch(config), max_steps: LECTURE_STEPS }, task: { kind: 'toy-world' }, probeEvery: preset.probeEvery });
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
    expect(probes.map((p) => p.step)).toEqual([0, 6, 12]);
    expect(preset.probeEvery).toBe(PROBE_STEP);
    const [base, end] = [probes[0]!.plain, probes.find((p) => p.step === PROBE_STEP)!.plain];
    expect(base.n).toBe(preset.probeCount);
    expect(end.acc - base.acc, `plain accuracy ${base.acc} → ${end.acc}`).toBeGreaterThanOrEqual(ACC_MARGIN);
    expect(end.lo, `intervals [${base.lo.toFixed(3)}, ${base.hi.toFixed(3)}] and [${end.lo.toFixed(3)}, ${end.hi.toFixed(3)}]`).toBeGreaterThan(base.hi);
  }, 1_800_000);
});
