/**
 * --resume continues from the last complete checkpoint at its step, and metrics.jsonl ends with
 * exactly one well-formed row per step: rows past the checkpoint (steps trained again) and a torn
 * last row are dropped. A full disk while saving keeps the previous checkpoint; a full disk while
 * writing a row stops the run with an error and leaves no half row.
 */
import { appendFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { resetFaultPoints } from '../../src/cli/fault-points';
import { cli, trainSetup } from './helpers';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

afterEach(() => {
  delete process.env.TABZERO_FAULT_ENOSPC_AT;
  delete process.env.TABZERO_FAULT_TRACE;
  resetFaultPoints();
});

const train = (s: ReturnType<typeof trainSetup>, ...extra: string[]) => cli(['train', '--config', s.config, '--out', s.out, '--backend', 'cpu', ...extra]);

/** Every line parses as an object; the step rows (not probe rows) in file order. */
function stepRows(out: string): { step: number; reward: number }[] {
  const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8').split('\n');
  expect(lines.pop()).toBe('');
  return lines.map((l) => JSON.parse(l) as { step: number; reward: number; probes?: unknown }).filter((r) => !r.probes);
}

function savedStep(out: string): number {
  const root = join(out, 'checkpoint');
  const current = readFileSync(join(root, 'CURRENT'), 'utf8').trim();
  return (JSON.parse(readFileSync(join(root, current, 'session.json'), 'utf8')) as { state: { step: number } }).state.step;
}

describe('resume and metrics.jsonl', () => {
  it('drops rows past the checkpoint and a torn last row, then writes one row per step', async () => {
    const s = trainSetup({ max_steps: 2 });
    expect((await train(s)).code).toBe(0);
    expect(savedStep(s.out)).toBe(2);
    // As if the run had gone on to steps 3 and 4 and been killed mid-row, without a checkpoint.
    appendFileSync(join(s.out, 'metrics.jsonl'), '{"step":3,"reward":-99}\n{"step":4,"reward":-99}\n{"step":5,"rew');
    const r = await train(s, '--resume', '--max-steps', '4');
    expect(r.code).toBe(0);
    expect(r.errors.some((e) => /Resumed at step 2/.test(e))).toBe(true);
    const rows = stepRows(s.out);
    expect(rows.map((x) => x.step)).toEqual([1, 2, 3, 4]);
    expect(rows.every((x) => x.reward !== -99)).toBe(true);
    expect(savedStep(s.out)).toBe(4);
  });

  it('a full disk while saving keeps the previous checkpoint whole and says so', async () => {
    const s = trainSetup({ max_steps: 3 });
    // Find the operations of the second save, then fail the write of its weights.
    process.env.TABZERO_FAULT_TRACE = join(s.dir, 'trace.txt');
    expect((await train(s, '--checkpoint-every', '1')).code).toBe(0);
    const ops = readFileSync(join(s.dir, 'trace.txt'), 'utf8').trim().split('\n');
    const secondSave = ops.filter((l) => / write ckpt-[^/]+\/model\.safetensors$/.test(l))[1]!;
    delete process.env.TABZERO_FAULT_TRACE;
    resetFaultPoints();

    const t = trainSetup({ max_steps: 2 });
    process.env.TABZERO_FAULT_ENOSPC_AT = secondSave.split(' ')[0]!;
    const r = await train(t, '--checkpoint-every', '1');
    delete process.env.TABZERO_FAULT_ENOSPC_AT;
    expect(r.errors.some((e) => /Checkpoint not saved: checkpoint not saved to .*: the disk is full; the previous checkpoint is kept/.test(e)), r.errors.join('\n')).toBe(true);
    // The step-2 save failed; the final save at max_steps is the same step and succeeds: what is
    // left is one complete checkpoint, no partial directory, nothing else.
    const left = readdirSync(join(t.out, 'checkpoint')).sort();
    expect(left.length).toBe(2);
    expect(left.filter((n) => n.endsWith('.partial'))).toEqual([]);
    expect(savedStep(t.out)).toBe(2);
  });

  it('a full disk while writing a row stops the run, leaves no half row, and --resume continues', async () => {
    const s = trainSetup({ max_steps: 3 });
    process.env.TABZERO_FAULT_TRACE = join(s.dir, 'trace.txt');
    expect((await train(s, '--checkpoint-every', '1')).code).toBe(0);
    const ops = readFileSync(join(s.dir, 'trace.txt'), 'utf8').trim().split('\n');
    const thirdRow = ops.filter((l) => / append .*metrics\.jsonl$/.test(l))[2]!;
    delete process.env.TABZERO_FAULT_TRACE;
    resetFaultPoints();

    const t = trainSetup({ max_steps: 3 });
    process.env.TABZERO_FAULT_ENOSPC_AT = thirdRow.split(' ')[0]!;
    const r = await train(t, '--checkpoint-every', '1');
    delete process.env.TABZERO_FAULT_ENOSPC_AT;
    expect(r.code).toBe(1);
    expect(r.errorLines[0]).toMatch(/metrics\.jsonl could not be written \(the disk is full\); the run stopped\. Free space, then continue with --resume/);
    expect(stepRows(t.out).map((x) => x.step)).toEqual([1, 2]);
    resetFaultPoints();
    const again = await train(t, '--resume');
    expect(again.code).toBe(0);
    expect(stepRows(t.out).map((x) => x.step)).toEqual([1, 2, 3]);
    expect(existsSync(join(t.out, 'model.safetensors'))).toBe(true);
  });
});
