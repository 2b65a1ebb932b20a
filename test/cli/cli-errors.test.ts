/**
 * Every bad input the CLI can be given: one line starting "error" that names the flag, file,
 * field or tensor and says what would work, a non-zero exit, no stack trace, and nothing written
 * half-way (a run refused before training leaves no --out behind).
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseSafetensors, serializeSafetensors } from '../../src/core/model/safetensors';
import { writeTinyModel } from '../fixtures/tiny-model';
import { cli, trainSetup } from './helpers';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** The run failed with exactly one error line matching `re`, and no stack trace was printed. */
function expectRefused(r: Awaited<ReturnType<typeof cli>>, re: RegExp): void {
  expect(r.code, r.errors.join('\n')).toBe(1);
  expect(r.errorLines.length, r.errors.join('\n')).toBeGreaterThanOrEqual(1);
  expect(r.errorLines[0]).toMatch(re);
  expect(r.errors.join('\n')).not.toMatch(/\n\s+at .+\(.*:\d+:\d+\)/);
}

const train = (s: ReturnType<typeof trainSetup>, ...extra: string[]) => cli(['train', '--config', s.config, '--out', s.out, '--backend', 'cpu', ...extra]);

describe('tabzero train: flags', () => {
  const cases: [string, string[], RegExp][] = [
    ['--out followed by another flag', ['--out', '--resume'], /Option --out needs a value, but the next argument is the option --resume/],
    ['--checkpoint-every -1', ['--checkpoint-every', '-1'], /--checkpoint-every must be an integer ≥ 0, got -1/],
    ['--max-steps 0', ['--max-steps', '0'], /--max-steps must be an integer ≥ 1, got 0/],
    ['--probe-n 0', ['--probe-n', '0'], /--probe-n must be an integer ≥ 1/],
    ['--probe-every 2.5', ['--probe-every', '2.5'], /--probe-every needs an integer, got "2\.5"/],
    ['--max-steps abc', ['--max-steps', 'abc'], /--max-steps needs an integer, got "abc"/],
    ['--backend tpu', ['--backend', 'tpu'], /--backend must be one of cpu, wasm, webgpu \(got "tpu"\)/],
    ['an unknown option', ['--lr', '3'], /Unknown option --lr/],
    ['a stray argument', ['extra'], /unexpected argument "extra"/],
  ];
  it.each(cases)('%s', async (_what, flags, re) => {
    const s = trainSetup();
    // Flags first so "--out --resume" reads as the user typed it.
    const r = await cli(['train', '--config', s.config, ...(flags[0] === '--out' ? flags : ['--out', s.out, ...flags])]);
    expectRefused(r, re);
    expect(existsSync(s.out)).toBe(false);
  });

  it('--config missing', async () => {
    expectRefused(await cli(['train', '--out', '/tmp/x']), /Option --config is required/);
  });
});

describe('tabzero train: files and config', () => {
  const cases: [string, (s: ReturnType<typeof trainSetup>) => void, RegExp][] = [
    ['the config file does not exist', (s) => unlinkSync(s.config), /cfg\.json \(--config\) does not exist; check the path/],
    ['the config file is a directory', (s) => (unlinkSync(s.config), mkdirSync(s.config)), /cfg\.json \(--config\) is a directory, not a file/],
    ['the config is not JSON', (s) => writeFileSync(s.config, '{"model": '), /cfg\.json is not valid JSON/],
    ['the config is a list', (s) => writeFileSync(s.config, '[1, 2]'), /cfg\.json must hold a JSON object/],
    ['the config has no model', (s) => writeFileSync(s.config, '{"max_steps": 3}'), /needs "model": a Hub-layout model directory/],
    ['the task file does not exist', (s) => unlinkSync(join(s.dir, 'sums.jsonl')), /sums\.jsonl \(the task file \("task\.path" in .*cfg\.json\)\) does not exist/],
    ['a user_rewards file does not exist', (s) => unlinkSync(join(s.dir, 'short.js')), /short\.js \(user_rewards\[0\]\.file \("short"\)\) does not exist/],
    ['a user_rewards entry that is a string', (s) => patch(s, { user_rewards: ['short.js'] }), /user_rewards\[0\] must be an object/],
    ['a user_rewards entry without a name', (s) => patch(s, { user_rewards: [{ file: 'short.js' }] }), /user_rewards\[0\] needs a "name"/],
    ['an unknown built-in reward', (s) => patch(s, { rewards: [{ name: 'corectness', weight: 1 }] }), /rewards\[0\]\.name must be one of .*correctness.*; got "corectness"/],
    ['a reward weight that is text', (s) => patch(s, { rewards: [{ name: 'format', weight: 'high' }] }), /rewards\[0\]\.weight must be a finite number, got "high"/],
    ['a bad line in the task file', (s) => writeFileSync(join(s.dir, 'sums.jsonl'), '{"question": "1+1", "answer": "2"}\n{oops'), /sums\.jsonl: Line 2: not valid JSON/],
    ['a 5 MB question in the task file', (s) => writeFileSync(join(s.dir, 'sums.jsonl'), JSON.stringify({ question: 'q'.repeat(5_000_000), answer: '1' })), /sums\.jsonl: Line 1: field "question" is 5,000,000 characters/],
    ['an unknown GRPO key', (s) => patch(s, { num_generation: 4 }), /GRPO config "num_generation": unknown key/],
    ['top_p of 7 in the config', (s) => patch(s, { top_p: 7 }), /GRPO config "top_p": must be between 0\.01 and 1, got 7/],
    ['--out is a file', (s) => writeFileSync(s.out, 'x'), /--out .*out is a file; give a directory/],
    ['--out under a file', (s) => (writeFileSync(join(s.dir, 'f'), 'x'), (s.out = join(s.dir, 'f', 'out'))), /--out .*f\/out cannot be a directory: part of its path is a file/],
    ['--out where nothing may be written', (s) => (s.out = '/sys/tabzero-cannot-write'), /--out \/sys\/tabzero-cannot-write cannot be created \(permission denied|--out \/sys\/tabzero-cannot-write .*(not writable|cannot)/],
  ];
  it.each(cases)('%s', async (_what, breakIt, re) => {
    const s = trainSetup();
    breakIt(s);
    const outExisted = existsSync(s.out);
    expectRefused(await train(s), re);
    if (!outExisted) expect(existsSync(s.out)).toBe(false);
  });
});

function patch(s: ReturnType<typeof trainSetup>, p: Record<string, unknown>): void {
  writeFileSync(s.config, JSON.stringify({ ...JSON.parse(readFileSync(s.config, 'utf8')), ...p }));
}

describe('tabzero train: the model and the step', () => {
  it('model.safetensors that is a directory', async () => {
    const s = trainSetup();
    rmSync(join(s.model, 'model.safetensors'));
    mkdirSync(join(s.model, 'model.safetensors'));
    expectRefused(await train(s), /model\.safetensors is a directory, not a file/);
    expect(existsSync(s.out)).toBe(false);
  });

  it('NaN weights name the tensor', async () => {
    const s = trainSetup();
    const path = join(s.model, 'model.safetensors');
    const tensors = parseSafetensors(new Uint8Array(readFileSync(path)));
    tensors.get('model.norm.weight')!.data[0] = Number.POSITIVE_INFINITY;
    writeFileSync(path, serializeSafetensors([...tensors].map(([k, v]) => [k, { shape: v.shape, data: v.data }])));
    expectRefused(await train(s), /tensor "model\.norm\.weight" holds Infinity at index 0/);
  });

  it('GPT-2 with n_embd not divisible by n_head', async () => {
    const s = trainSetup({ model: writeTinyModel('gpt2') });
    const cfgPath = join(JSON.parse(readFileSync(s.config, 'utf8')).model as string, 'config.json');
    writeFileSync(cfgPath, JSON.stringify({ ...JSON.parse(readFileSync(cfgPath, 'utf8')), n_head: 3 }));
    expectRefused(await train(s), /n_embd \(16\) is not divisible by n_head \(3\)/);
  });

  it('max_completion_length beyond any model', async () => {
    const s = trainSetup({ max_completion_length: 10_000_000 });
    expectRefused(await train(s), /GRPO config "max_completion_length": must be between 1 and 8192, got 10000000/);
    expect(existsSync(join(s.out, 'metrics.jsonl'))).toBe(false);
  });

  it('max_completion_length past the model context', async () => {
    const s = trainSetup({ max_completion_length: 5000 });
    expectRefused(await train(s), /max_completion_length 5000 it needs \d+ positions, but the model has 512 \(max_position_embeddings in config\.json\)\. Lower max_completion_length to \d+ or less/);
    expect(existsSync(join(s.out, 'metrics.jsonl'))).toBe(false);
  });

  it('a batch that cannot fit is refused with its memory before allocating', async () => {
    const s = trainSetup({ prompts_per_step: 1024, num_generations: 256 });
    expectRefused(await train(s), /1024 prompts × 256 generations = 262144 completions .* needs about [\d.]+ GiB.* does not fit\. Lower prompts_per_step, num_generations or max_completion_length/);
  });
});

describe('tabzero train --resume: damaged checkpoints', () => {
  /** A finished short run with a checkpoint, then `damage` applied to its checkpoint directory. */
  async function resumeAfter(damage: (ckpt: string, current: string) => void): Promise<Awaited<ReturnType<typeof cli>>> {
    const s = trainSetup({ max_steps: 1 });
    expect((await train(s)).code).toBe(0);
    const root = join(s.out, 'checkpoint');
    const current = readFileSync(join(root, 'CURRENT'), 'utf8').trim();
    damage(root, join(root, current));
    return train(s, '--resume', '--max-steps', '2');
  }

  it('no checkpoint at all', async () => {
    const s = trainSetup();
    expectRefused(await train(s, '--resume'), /there is no saved run of this model to resume/);
  });
  it('garbage session.json', async () => {
    expectRefused(await resumeAfter((_r, c) => writeFileSync(join(c, 'session.json'), '\u0000\u0001garbage')), /ckpt-[a-z0-9-]+\/session\.json is not valid JSON .* delete .*checkpoint to start a new run there, or run without --resume/);
  });
  it('session.json that describes no run', async () => {
    expectRefused(await resumeAfter((_r, c) => writeFileSync(join(c, 'session.json'), '{"model": "x"}')), /session\.json does not describe a run \(it needs "model", "state\.step" and "state\.config"\)/);
  });
  it('a deleted optimizer.safetensors', async () => {
    expectRefused(await resumeAfter((_r, c) => unlinkSync(join(c, 'optimizer.safetensors'))), /optimizer\.safetensors is missing, so the run cannot continue from step 1/);
  });
  it('a deleted model.safetensors', async () => {
    expectRefused(await resumeAfter((_r, c) => unlinkSync(join(c, 'model.safetensors'))), /model\.safetensors is missing/);
  });
  it('a truncated optimizer.safetensors', async () => {
    expectRefused(
      await resumeAfter((_r, c) => {
        const p = join(c, 'optimizer.safetensors');
        writeFileSync(p, readFileSync(p).subarray(0, 100));
      }),
      /optimizer\.safetensors is not a valid safetensors file/,
    );
  });
  it('a CURRENT pointer with garbage', async () => {
    expectRefused(await resumeAfter((r) => writeFileSync(join(r, 'CURRENT'), '../../etc')), /CURRENT does not name a checkpoint directory/);
  });
  it('a CURRENT pointer naming a deleted checkpoint', async () => {
    expectRefused(await resumeAfter((_r, c) => rmSync(c, { recursive: true })), /CURRENT names ckpt-[a-z0-9-]+, which is missing/);
  });
});

describe('tabzero generate: flags', () => {
  const cases: [string, string[], RegExp][] = [
    ['--temperature -1', ['--temperature', '-1'], /--temperature must be a number ≥ 0, got -1/],
    ['--top-p 7', ['--top-p', '7'], /--top-p must be a number > 0 and ≤ 1, got 7/],
    ['--top-p 0', ['--top-p', '0'], /--top-p must be a number > 0 and ≤ 1, got 0/],
    ['--top-k -3', ['--top-k', '-3'], /--top-k must be an integer ≥ 0, got -3/],
    ['--max-new-tokens 0', ['--max-new-tokens', '0'], /--max-new-tokens must be an integer ≥ 1/],
    ['--seed 1.5', ['--seed', '1.5'], /--seed needs an integer, got "1\.5"/],
    ['--temperature NaN', ['--temperature', 'NaN'], /--temperature needs a number, got "NaN"/],
    ['--prompt followed by a flag', ['--prompt', '--raw'], /--prompt needs a value, but the next argument is the option --raw/],
  ];
  it.each(cases)('%s', async (_what, flags, re) => {
    expectRefused(await cli(['generate', '--model', writeTinyModel('llama'), '--prompt', 'hi', ...flags]), re);
  });

  it('a model folder that does not exist', async () => {
    expectRefused(await cli(['generate', '--model', '/tmp/tabzero-no-such-model', '--prompt', 'hi', '--backend', 'cpu']), /\/tmp\/tabzero-no-such-model has no config\.json/);
  });
});

describe('tabzero pretrain: flags and the shipped model', () => {
  it('requires --out (never the shipped model by default)', async () => {
    expectRefused(await cli(['pretrain', '--steps', '1']), /--out <dir> is required/);
  });

  it('refuses to overwrite a model unless told to', async () => {
    const dir = writeTinyModel('llama');
    const before = readFileSync(join(dir, 'model.safetensors'));
    expectRefused(await cli(['pretrain', '--out', dir, '--steps', '1']), /already holds a model .* add --overwrite to replace it/);
    expect(readFileSync(join(dir, 'model.safetensors')).equals(before)).toBe(true);
    expect(readdirSync(dir)).not.toContain('pretrain-log.jsonl');
  });

  const cases: [string, string[], RegExp][] = [
    ['--steps -1', ['--steps', '-1'], /--steps must be an integer ≥ 1, got '-1'/],
    ['--lr 0', ['--lr', '0'], /--lr must be a number > 0, got '0'/],
    ['--batch 2.5', ['--batch', '2.5'], /--batch must be an integer ≥ 1/],
    ['--out followed by a flag', ['--out', '--seed', '3'], /--out needs a value, but the next argument is the option --seed/],
    ['--backend tpu', ['--backend', 'tpu'], /--backend must be wasm, cpu or webgpu, got 'tpu'/],
  ];
  it.each(cases)('%s', async (_what, flags, re) => {
    const r = await cli(['pretrain', ...(flags[0] === '--out' ? flags : ['--out', '/tmp/tabzero-pretrain-never', ...flags])]);
    expectRefused(r, re);
    expect(existsSync('/tmp/tabzero-pretrain-never')).toBe(false);
  });
});
