/** Avg@k and its interval (problems as the unit) against hand-computed values; sampled probes reproducible from the seed. */
import { beforeAll, describe, expect, it } from 'vitest';
import { avgAtK, meanInterval, t975, ProbeStatsError } from '../../src/core/probes/stats';
import { AVG_K_SAMPLES, AVG_K_TEMPERATURE, runProbesDetailed, type CompleteFn } from '../../src/core/probes/run';
import { makeCompleter } from '../../src/core/probes/completer';
import { generate } from '../../src/core/model/generate';
import { loadModel } from '../../src/core/model/load';
import { initNodeBackend } from '../../src/cli/node-webgpu';
import { tinyModelFiles } from '../fixtures/tiny-model';

describe('t975', () => {
  it('matches the t table and tends to the normal quantile', () => {
    expect(t975(1)).toBeCloseTo(12.7062, 4);
    expect(t975(4)).toBeCloseTo(2.7764, 4);
    expect(t975(30)).toBeCloseTo(2.0423, 4);
    // Beyond the table: t(40) = 2.0211, t(120) = 1.9799 (published tables).
    expect(t975(40)).toBeCloseTo(2.0211, 3);
    expect(t975(120)).toBeCloseTo(1.9799, 3);
    expect(() => t975(0)).toThrow(ProbeStatsError);
  });
});

describe('avgAtK', () => {
  it('is the mean of per-problem accuracies with a t-interval over problems', () => {
    // Means .25 .5 .75 .5 .5: mean .5, squared deviations sum to .125, sd = sqrt(.125/4) = .1767767,
    // se = sd/sqrt(5) = .0790569, half-width = t(4) · se = 2.7764 · .0790569 = .2194936.
    const a = avgAtK([0.25, 0.5, 0.75, 0.5, 0.5]);
    expect(a.acc).toBeCloseTo(0.5, 12);
    expect(a.lo).toBeCloseTo(0.5 - 0.2194936, 6);
    expect(a.hi).toBeCloseTo(0.5 + 0.2194936, 6);
    expect(a.n).toBe(5);
  });
  it('counts problems, not samples: 8 samples per problem do not narrow it', () => {
    // Two problems always right, two always wrong, seen with k = 8: still 4 units.
    const a = avgAtK([1, 1, 0, 0]);
    const sd = Math.sqrt((4 * 0.25) / 3);
    expect(a.lo).toBe(0);
    expect(a.hi).toBe(1);
    expect(meanInterval([1, 1, 0, 0]).hi).toBeCloseTo(0.5 + (3.1824 * sd) / 2, 4);
  });
  it('with no spread falls back to the Wilson interval over problems', () => {
    // Wilson 0/4: centre = (3.8416/8)/1.9604 = .24495, half = (1.96/1.9604)·sqrt(3.8416/64) = .24495.
    const a = avgAtK([0, 0, 0, 0]);
    expect(a.acc).toBe(0);
    expect(a.lo).toBe(0);
    expect(a.hi).toBeCloseTo(0.4899, 4);
  });
  it('refuses values outside [0, 1]; an empty set is unknown', () => {
    expect(() => avgAtK([1.5])).toThrow(ProbeStatsError);
    expect(avgAtK([])).toEqual({ acc: 0, lo: 0, hi: 1, n: 0 });
  });
});

describe('sampled probes on a real (tiny) model', () => {
  let complete: CompleteFn;
  const texts: string[][][] = [];
  beforeAll(async () => {
    await initNodeBackend('cpu');
    const m = await loadModel({ kind: 'files', files: [...tinyModelFiles('llama', { seed: 4 })].map(([name, data]) => ({ name, data })) });
    const inner = makeCompleter(m.model, m.tokenizer, { generate, maxNewTokens: 6 });
    complete = async (prompts, o) => {
      const out = await inner(prompts, o);
      texts.push(out);
      return out;
    };
  });
  it('default to Avg@8 at temperature 0.6 and reproduce from the seed', async () => {
    expect([AVG_K_SAMPLES, AVG_K_TEMPERATURE]).toEqual([8, 0.6]);
    // Short questions keep the char-level tiny model's sequences short.
    const problems = [1, 2].map((i) => ({ id: `q${i}`, task: 'x', question: `${i}+1?`, answer: String(i + 1), plan: ['add.'] }));
    // A scorer that depends on the sampled text, so the report moves when the samples do.
    const isCorrect = (c: string): boolean => c.length % 2 === 0;
    const run = (seed: number) => runProbesDetailed(complete, problems, { mode: 'sampled', seed, isCorrect });
    const a = await run(11);
    const b = await run(11);
    const c = await run(12);
    expect(a.report.mode).toBe('avg@k');
    expect(a.report.samples).toBe(8);
    expect(a.report.temperature).toBe(0.6);
    expect(texts[0]![0]).toHaveLength(8);
    expect(b.report).toEqual(a.report);
    expect(texts[1]).toEqual(texts[0]);
    expect(texts[2]).not.toEqual(texts[0]);
    expect(c.rows.length).toBe(2);
  }, 120_000);
});
