import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { PreTrainedTokenizer } from '@huggingface/transformers';
import { afterAll, describe, expect, it } from 'vitest';
import { NODE_DEPS, parseProbeArgs, run, type ProbeDeps } from '../../src/cli/commands/probe';
import { serializeSafetensors } from '../../src/core/model/safetensors';
import { parseConfig } from '../../src/core/model/config';
import { trainBpe } from '../../src/core/pretrain/bpe';
import { renderPrompt, renderTarget } from '../../src/core/tasks/prompt';
import { generateToyProblems } from '../../src/core/tasks/toy-world';
import type { Problem } from '../../src/core/types';
import { randomWeights } from '../fixtures/random-weights';
import { tinyConfig } from '../fixtures/tiny-configs';

function capture(loadCompleter: ProbeDeps['loadCompleter']): { deps: ProbeDeps; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { deps: { loadCompleter, print: (t) => out.push(t), printError: (t) => err.push(t) }, out, err };
}

describe('tabzero probe: arguments', () => {
  it('parses flags and rejects bad ones with one clear line', async () => {
    expect(parseProbeArgs(['--model', 'm', '--n', '5', '--mode', 'sampled', '--samples', '3', '--pass-k', '2'])).toMatchObject({ model: 'm', n: 5, mode: 'sampled', samples: 3, passK: 2, seed: 1234 });
    for (const bad of [[], ['--model'], ['--model', 'm', '--n', '0'], ['--model', 'm', '--backend', 'tpu'], ['--model', 'm', '--bogus', '1'], ['--model', 'm', '--pass-k', '2']]) {
      const c = capture(async () => {
        throw new Error('must not load');
      });
      expect(await run(bad, c.deps), bad.join(' ')).toBe(1);
      expect(c.err).toHaveLength(1);
      expect(c.err[0]).toMatch(/^tabzero probe: /);
    }
  });
});

describe('tabzero probe: with a fake model', () => {
  it('prints the report as JSON; a perfect model scores 1', async () => {
    let disposed = false;
    const c = capture(async () => ({
      info: { backend: 'fake' },
      dispose: () => {
        disposed = true;
      },
      complete: async (prompts) => {
        // The fake knows the reference answer of every probe prompt and subproblem prompt.
        return prompts.map((p) => [answerFor.get(p) ?? ' </think> <answer>?</answer>']);
      },
    }));
    const { createTask } = await import('../../src/core/tasks/index');
    const answerFor = new Map<string, string>();
    for (const p of createTask({ kind: 'toy-world' }).probeSet(7, 12)) {
      for (const o of [{}, { plan: true }, { knowledge: true }]) answerFor.set(renderPrompt(p, o), renderTarget(p));
      for (const s of p.subproblems!) {
        const sp: Problem = { id: '', task: p.task, question: s.question, answer: s.answer };
        answerFor.set(renderPrompt(sp), renderTarget(sp));
      }
    }
    expect(await run(['--model', 'x', '--n', '12', '--seed', '7'], c.deps)).toBe(0);
    expect(disposed).toBe(true);
    const j = JSON.parse(c.out[0]!);
    expect(j.n).toBe(12);
    expect(j.backend).toBe('fake');
    for (const k of ['plain', 'plan', 'knowledge', 'subproblems']) expect(j.report[k].acc).toBe(1);
    expect(j.report.planEffect).toBe(0);
    expect(j.paper.effects.rows.map((r: { model: string }) => r.model)).toEqual(['Qwen2.5-Math-7B (base)', 'SparkleRL-Stage 1', 'SparkleRL-Stage 2 (Aug)']);
    expect(j.byDifficulty.reduce((a: number, r: { n: number }) => a + r.n, 0)).toBe(12);
  });
});

describe('tabzero probe: end to end with a tiny random model on cpu', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tabzero-probe-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('loads a Hub-layout directory, generates, scores, and leaks no tensors', async () => {
    const texts = generateToyProblems(1, 300).map((p) => renderPrompt(p, { plan: true, knowledge: true }) + renderTarget(p));
    const added = ['<|endoftext|>', '<think>', '</think>', '<answer>', '</answer>'].map((content) => ({ content, special: true }));
    const bpe = trainBpe(texts, { vocabSize: 160, addedTokens: added, unkToken: '<unk>' });
    const eos = new PreTrainedTokenizer(bpe.tokenizerJson, bpe.tokenizerConfig).eos_token_id as number;
    const raw = { ...tinyConfig('llama', bpe.vocabSize), eos_token_id: eos, pad_token_id: eos, bos_token_id: null, max_position_embeddings: 512 };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(raw));
    writeFileSync(join(dir, 'model.safetensors'), serializeSafetensors(randomWeights(parseConfig(raw), 3)));
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(bpe.tokenizerJson));
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(bpe.tokenizerConfig));

    const out: string[] = [];
    const err: string[] = [];
    const deps: ProbeDeps = { ...NODE_DEPS, print: (t) => out.push(t), printError: (t) => err.push(t) };
    // First run initialises the backend; the second checks that a run leaves no tensors behind.
    expect(await run(['--model', dir, '--n', '2', '--max-new-tokens', '4', '--backend', 'cpu'], deps), err.join('\n')).toBe(0);
    const before = tf.memory().numTensors;
    expect(await run(['--model', dir, '--n', '3', '--max-new-tokens', '4', '--backend', 'cpu', '--mode', 'sampled', '--samples', '2'], deps), err.join('\n')).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
    const j = JSON.parse(out[1]!);
    expect(j.backend).toBe('cpu');
    expect(j.n).toBe(3);
    expect(j.report.plain.n).toBe(3);
    expect(j.report.passAtK.k).toBe(2);
    for (const k of ['plain', 'plan', 'knowledge', 'subproblems']) {
      expect(j.report[k].acc).toBeGreaterThanOrEqual(0);
      expect(j.report[k].acc).toBeLessThanOrEqual(1);
      expect(j.report[k].lo).toBeLessThanOrEqual(j.report[k].hi);
    }
    expect(j.completions).toBe(j.prompts * 2);
  });

  it('a missing model directory is a one-line error', async () => {
    const err: string[] = [];
    expect(await run(['--model', join(dir, 'nope'), '--n', '1', '--backend', 'cpu'], { ...NODE_DEPS, print: () => {}, printError: (t) => err.push(t) })).toBe(1);
    expect(err[0]).toMatch(/config\.json/);
  });
});
