/**
 * The shipped default model loads through the same path as any Hub-layout model (`tabzero probe`
 * → loadModel) and its greedy plain accuracy on the held-out probe set sits in the band that
 * leaves RL room to act: 15%–60%. It also answers in the paper's format.
 */
import { describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { run, NODE_DEPS, type ProbeArgs } from '../../src/cli/commands/probe';
import type { CompleteFn } from '../../src/core/probes/run';
import { isWellFormatted } from '../../src/core/rewards/builtin';
import type { ProbeReport } from '../../src/worker/protocol';

export const SHIPPED_MODEL = resolve('public/models/tabzero-tiny');
export const ACCURACY_BAND = { lo: 0.15, hi: 0.6 };

describe('the shipped model', () => {
  it('has plain probe accuracy within the stated band and answers in format', async () => {
    let out = '';
    const texts: string[] = [];
    const deps = {
      ...NODE_DEPS,
      print: (t: string) => (out += t),
      // Keep every completion the probes see, to check the format too.
      loadCompleter: async (args: ProbeArgs) => {
        const loaded = await NODE_DEPS.loadCompleter(args);
        const complete: CompleteFn = async (prompts, opts) => {
          const r = await loaded.complete(prompts, opts);
          texts.push(...r.flat());
          return r;
        };
        return { ...loaded, complete };
      },
    };
    const code = await run(['--model', SHIPPED_MODEL, '--n', '96', '--seed', '1234', '--backend', 'wasm'], deps);
    expect(code).toBe(0);
    const res = JSON.parse(out) as { report: ProbeReport; vocabSize: number; params: number };
    expect(res.report.plain.n).toBe(96);
    expect(res.report.plain.acc).toBeGreaterThanOrEqual(ACCURACY_BAND.lo);
    expect(res.report.plain.acc).toBeLessThanOrEqual(ACCURACY_BAND.hi);
    expect(texts.length).toBeGreaterThan(96 * 3);
    const formatted = texts.filter((c) => isWellFormatted(c)).length / texts.length;
    expect(formatted).toBeGreaterThan(0.9);
    expect(res.params).toBeLessThan(2_000_000);
  }, 600_000);
});
