/**
 * Each recipe end to end in a reduced form: a tiny generated model on the cpu backend, one or two
 * seeds, one RL step, two probe problems. Checks the runs, the table and the files the CLI writes.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../src/cli/node-webgpu';
import { writeOutputs } from '../../src/cli/commands/experiment';
import { EXPERIMENT_NAMES, RECIPES } from '../../src/core/experiments/recipes';
import { runExperiment } from '../../src/core/experiments/runner';
import { summarise } from '../../src/core/experiments/table';
import { tinyModelFiles } from '../fixtures/tiny-model';

const GRPO = { num_generations: 2, prompts_per_step: 2, max_completion_length: 4, micro_batch_size: 0 };

/** Short annotated problems, so the char-level tiny model's sequences stay a few tokens long. */
const MINI = Array.from({ length: 24 }, (_, i) =>
  JSON.stringify({ question: `${i}+2?`, answer: String(i + 2), plan: ['add.'], knowledge: ['2 is 2.'], subproblems: [{ question: `${i}+1?`, answer: String(i + 1) }], solution: `a. b. c. ${i + 2}.` }),
).join('\n');
const TASK = { kind: 'jsonl' as const, name: 'mini', text: MINI };

beforeAll(async () => {
  await initNodeBackend('cpu');
});

describe('experiments, reduced', () => {
  for (const name of EXPERIMENT_NAMES) {
    it(`${name} runs end to end and writes its table`, async () => {
      const before = tf.memory().numTensors;
      const seeds = name === 'hard-problems' ? [1] : [1, 2];
      const result = await runExperiment(
        name,
        { seeds, steps: 1, stage2Steps: 1, probeN: 2, probeSamples: 2, grpo: GRPO, hardPool: 4, hardSamples: 1, hardMin: 2 },
        { baseFiles: tinyModelFiles('llama'), backend: 'cpu', task: TASK },
      );
      expect(tf.memory().numTensors).toBe(before);
      expect(result.complete).toBe(true);
      const rec = RECIPES[name];
      // Every arm ran for every seed, except an untrained base model, which is probed once.
      for (const arm of rec.arms) {
        const runs = result.runs.filter((r) => r.arm === arm.id);
        expect(runs.length, arm.id).toBe(arm.from === 'base' && !arm.train ? 1 : seeds.length);
        if (arm.train && arm.train.pool !== 'all') expect(runs.every((r) => (r.hardSet ?? 0) >= 2), arm.id).toBe(true);
        for (const r of runs) {
          expect(r.sampled.mode).toBe('avg@k');
          expect(r.sampled.samples).toBe(2);
          expect(r.greedy?.mode).toBe('greedy');
          expect(r.sampledRows.plain).toHaveLength(2);
          expect(r.trainReward).toHaveLength(arm.train ? 1 : 0);
          expect(r.trainZeroStd?.length ?? 0).toBe(arm.train ? 1 : 0);
        }
      }
      const table = summarise(result);
      expect(table.arms.map((a) => a.arm)).toEqual(rec.arms.map((a) => a.id));
      const out = mkdtempSync(join(tmpdir(), `tabzero-exp-${name}-`));
      writeOutputs(out, result, `npx tabzero experiment ${name}`);
      for (const f of ['result.json', 'table.md', 'table.json', 'plot.svg']) expect(existsSync(join(out, f)), f).toBe(true);
      const md = readFileSync(join(out, 'table.md'), 'utf8');
      for (const a of rec.arms) expect(md).toContain(`| ${a.label} |`);
      expect(readFileSync(join(out, 'plot.svg'), 'utf8')).toMatch(/^<svg[\s\S]*<\/svg>\n$/);
      const json = JSON.parse(readFileSync(join(out, 'table.json'), 'utf8')) as { arms: { cells: { plain: { n: number } } }[] };
      expect(json.arms[0]!.cells.plain.n).toBe(2);
    }, 240_000);
  }

  it('resumes a stopped run: finished (arm, seed) runs are kept, the rest run', async () => {
    const opts = { seeds: [1], steps: 1, stage2Steps: 1, probeN: 2, probeSamples: 2, grpo: GRPO, greedy: false, hardPool: 4, hardSamples: 1, hardMin: 2 };
    const env = { baseFiles: tinyModelFiles('llama'), backend: 'cpu', task: TASK };
    const first = await runExperiment('decomposition', opts, env);
    const logged: string[] = [];
    const second = await runExperiment('decomposition', { ...opts, seeds: [1, 2], previous: first }, { ...env, log: (m) => logged.push(m) });
    expect(second.runs.map((r) => `${r.arm}/${r.seed}`)).toEqual(['base/1', 'rl-plain/1', 'rl-plain/2']);
    expect(second.runs[1]).toEqual(first.runs[1]);
    expect(logged.filter((m) => m.startsWith('decomposition /'))).toEqual(['decomposition / rl-plain / seed 2']);
    await expect(runExperiment('decomposition', { ...opts, steps: 2, previous: first }, env)).rejects.toThrow(/other settings/);
  }, 240_000);

  it('refuses an unknown experiment or arm in words', async () => {
    await expect(runExperiment('nope', { seeds: [1], steps: 1, stage2Steps: 0, probeN: 1 }, { baseFiles: tinyModelFiles('llama') })).rejects.toThrow(/Unknown experiment 'nope'. Available: plan-knowledge/);
    await expect(runExperiment('plan-knowledge', { seeds: [1], steps: 1, stage2Steps: 0, probeN: 1, arms: ['x'] }, { baseFiles: tinyModelFiles('llama') })).rejects.toThrow(/Its arms: base, rl-plain, rl-mix/);
  });
});
