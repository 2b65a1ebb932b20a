/** The experiment table's pooling over seeds and problems, against hand-computed values. */
import { describe, expect, it } from 'vitest';
import { summarise, tableMarkdown, formatCell } from '../../src/core/experiments/table';
import { experimentSvg } from '../../src/core/experiments/plot';
import type { ArmRun, ExperimentResult } from '../../src/core/experiments/runner';
import type { ProbeReport } from '../../src/worker/protocol';

const REPORT = {} as ProbeReport;

function run(arm: string, seed: number, plain: number[], plan: (number | null)[]): ArmRun {
  return { arm, seed, sampled: REPORT, sampledRows: { plain, plan, knowledge: plain.map(() => null), subproblems: plain.map(() => null) }, trainReward: [], seconds: 1 };
}

const RESULT: ExperimentResult = {
  experiment: 'plan-knowledge',
  title: 't',
  question: 'q',
  paper: 'p',
  arms: [
    { id: 'base', label: 'base model' },
    { id: 'rl-plain', label: 'RL plain' },
  ],
  settings: { seeds: [1, 2], steps: 1, stage2Steps: 0, probeN: 4, probeSamples: 8, probeTemperature: 0.6, probeSeed: 1234, grpo: {}, task: { kind: 'toy-world' } },
  runs: [
    run('base', 1, [0, 0.5, 1, 0.5], [0, 0.25, 1, 0.25]),
    // Two seeds: per problem (0 + .5)/2, (.5 + .5)/2, (1 + 1)/2, (.5 + 0)/2 = .25 .5 1 .25.
    run('rl-plain', 1, [0, 0.5, 1, 0.5], [0.5, 0.5, 1, 0.5]),
    run('rl-plain', 2, [0.5, 0.5, 1, 0], [0.5, 0.5, 1, null]),
  ],
  started: '',
  complete: false,
};

describe('summarise', () => {
  const t = summarise(RESULT);
  it('pools each problem over seeds, then takes the interval over problems', () => {
    const c = t.arms[1]!.cells.plain;
    // Pooled .25 .5 1 .25: mean .5, squared deviations .0625 + 0 + .25 + .0625 = .375, sd = sqrt(.125) = .353553,
    // half = 3.1824 · .353553 / 2 = .562594 → interval clipped to [0, 1].
    expect(c.mean).toBeCloseTo(50, 10);
    expect(c.lo).toBe(0);
    expect(c.hi).toBeCloseTo(100, 10);
    expect(c.n).toBe(4);
    // Seeds: .5 and .5 → sd 0.
    expect(c.perSeed).toEqual([50, 50]);
    expect(c.seedSd).toBe(0);
  });
  it('pairs an effect per problem and run, leaving out problems without the condition', () => {
    // Seed 1: plan − plain = .5 0 0 0; seed 2: 0 0 0 (problem 4 has no plan) → pooled .25 0 0 0.
    const e = t.arms[1]!.cells.planEffect;
    expect(e.mean).toBeCloseTo(6.25, 10);
    expect(e.perSeed.map((x) => +x.toFixed(6))).toEqual([12.5, 0]);
    expect(e.seedSd).toBeCloseTo(Math.sqrt(((12.5 - 6.25) ** 2 * 2) / 1), 10);
    // Base: plan − plain = 0 −.25 0 −.25, mean −12.5, sd .144338, half = 3.1824 · .144338 / 2 = .229671.
    const b = t.arms[0]!.cells.planEffect;
    expect(b.mean).toBeCloseTo(-12.5, 10);
    expect(b.lo).toBeCloseTo(-12.5 - 22.9671, 3);
    expect(b.seedSd).toBeNull();
  });
  it('shows n/a for a figure with no problems, and says a run is incomplete', () => {
    expect(t.arms[0]!.cells.knowledge.n).toBe(0);
    expect(t.arms[0]!.cells.subproblemGap.n).toBe(0);
    expect(formatCell(t.arms[0]!.cells.knowledge, false)).toBe('n/a');
    const md = tableMarkdown(RESULT, 'npx tabzero experiment plan-knowledge --out x');
    expect(md).toContain('| base model | 1 | 50.0 (');
    expect(md).toContain('| n/a |');
    expect(md).toContain('Incomplete run');
    expect(md).toContain('Command: `npx tabzero experiment plan-knowledge --out x`');
    expect(experimentSvg(RESULT)).toContain('(incomplete)');
  });
});

describe('paired figures against the reference arm', () => {
  // The base model probed for both seeds; RL minus base is taken per seed and problem.
  const paired: ExperimentResult = {
    ...RESULT,
    runs: [...RESULT.runs, run('base', 2, [0, 0, 1, 0.5], [0, 0, 0.5, 0.5])],
  };
  const t = summarise(paired);
  it('takes plain accuracy minus the reference arm per seed and problem', () => {
    // Seed 1: 0 0 0 0; seed 2: .5 .5 0 −.5 → pooled .25 .25 0 −.25, mean .0625.
    const g = t.arms[1]!.cells.plainGain;
    expect(g.mean).toBeCloseTo(6.25, 10);
    expect(g.perSeed).toEqual([0, 50 / 4]);
    // sd of .25 .25 0 −.25 = sqrt(.171875 / 3) = .239357; half = 3.1824 · .239357 / 2 = .380865.
    expect(g.lo).toBeCloseTo(6.25 - 38.0865, 2);
    expect(g.hi).toBeCloseTo(6.25 + 38.0865, 2);
    expect(g.n).toBe(4);
  });
  it('shifts an effect by the reference arm’s effect on the same problems', () => {
    // Seed 1: (.5 0 0 0) − (0 −.25 0 −.25) = .5 .25 0 .25; seed 2: (0 0 0 –) − (0 0 −.5 0) = 0 0 .5 –.
    // Pooled .25 .125 .25 .25 → mean .21875.
    const s = t.arms[1]!.cells.planEffectShift;
    expect(s.mean).toBeCloseTo(21.875, 10);
    expect(s.perSeed.map((x) => +x.toFixed(6))).toEqual([25, +(50 / 3).toFixed(6)]);
  });
  it('pairs every seed with a reference probed once', () => {
    // RESULT probes the base for seed 1 only. Seed 1: 0 0 0 0; seed 2 − base: .5 0 0 −.5 → pooled .25 0 0 −.25.
    const g = summarise(RESULT).arms[1]!.cells.plainGain;
    expect(g.mean).toBeCloseTo(0, 10);
    expect(g.perSeed).toEqual([0, 0]);
    expect(g.n).toBe(4);
  });
  it('leaves the reference arm itself n/a and explains the figure', () => {
    expect(t.arms[0]!.cells.plainGain.n).toBe(0);
    const md = tableMarkdown(paired);
    expect(md).toContain('plan effect vs reference arm');
    expect(md).toContain("minus the base model's, paired by seed and problem");
  });
});

describe('a per-seed reference arm', () => {
  it('pairs a Stage-2 arm only with the Stage-1 checkpoint of its own seed', () => {
    const r: ExperimentResult = {
      ...RESULT,
      experiment: 'hard-problems',
      arms: [
        { id: 'stage1', label: 'Stage-1 checkpoint' },
        { id: 'hard-only', label: 'Stage 2: hard only' },
      ],
      runs: [run('stage1', 1, [0, 0.5, 1, 0.5], [0, 0, 0, 0]), run('hard-only', 1, [0.5, 0.5, 1, 0.5], [0, 0, 0, 0]), run('hard-only', 2, [1, 1, 1, 1], [0, 0, 0, 0])],
    };
    const g = summarise(r).arms[1]!.cells.plainGain;
    // Seed 2 has no Stage-1 run of its own: only seed 1 pairs (.5 0 0 0 → mean .125).
    expect(g.perSeed).toEqual([12.5]);
    expect(g.mean).toBeCloseTo(12.5, 10);
  });
});
