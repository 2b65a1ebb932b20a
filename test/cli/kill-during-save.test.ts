/**
 * `tabzero train` SIGKILLed at many points of its saves: while the new checkpoint's files are
 * written (between the two halves of a file), before and after its directory is renamed into
 * place, while CURRENT is replaced, while the previous checkpoint's files are removed, and in the
 * middle of a metrics row. After each kill, --resume continues from the last checkpoint that was
 * complete before the kill, at its step, and metrics.jsonl ends with exactly one well-formed row
 * per step.
 *
 * The kill points come from a traced run: TABZERO_FAULT_TRACE lists every file operation, and
 * TABZERO_FAULT_KILL_AT=n makes the process SIGKILL itself at operation n.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../e2e/harness';
import { cli, trainSetup } from './helpers';

const MAX_STEPS = 3;

function runChild(args: string[], env: Record<string, string>): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [join(ROOT, 'bin/tabzero.mjs'), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('exit', (code, signal) => resolve({ code, signal, stderr }));
  });
}

interface Op {
  n: number;
  label: string;
  /** Steps whose checkpoint was complete (CURRENT renamed) before this operation. */
  savedStep: number | null;
}

describe('SIGKILL during a save', () => {
  let ops: Op[] = [];
  let setup: () => ReturnType<typeof trainSetup>;

  beforeAll(async () => {
    await tf.setBackend('cpu');
    setup = () => trainSetup({ max_steps: MAX_STEPS });
    const s = setup();
    const trace = join(mkdtempSync(join(tmpdir(), 'tabzero-trace-')), 'ops.txt');
    const r = await runChild(['train', '--config', s.config, '--out', s.out, '--backend', 'cpu', '--checkpoint-every', '1'], { TABZERO_FAULT_TRACE: trace });
    expect(r.code, r.stderr).toBe(0);
    // Which step each operation's checkpoint belongs to: saves follow the metrics row of their step.
    let rows = 0;
    let saved: number | null = null;
    ops = readFileSync(trace, 'utf8')
      .trim()
      .split('\n')
      .map((line) => {
        const [n, ...rest] = line.split(' ');
        const label = rest.join(' ');
        const op = { n: Number(n), label, savedStep: saved };
        if (/^append .*metrics\.jsonl$/.test(label)) rows++;
        if (label === 'rename CURRENT') saved = rows;
        return op;
      });
  }, 120_000);

  /** The operations to kill at: each kind in the first save and in the second (which removes the first). */
  function killPoints(): Op[] {
    const saves = ops.filter((o) => o.label === 'mkdir checkpoint').map((o) => o.n);
    const second = (o: Op) => o.n > saves[1]! && o.n < saves[2]!;
    const first = (o: Op) => o.n > saves[0]! && o.n < saves[1]!;
    const pick = (pred: (o: Op) => boolean, re: RegExp, nth = 0) => ops.filter((o) => pred(o) && re.test(o.label))[nth];
    const points = [
      ops.find((o) => o.n === saves[0]),
      pick(first, /^write ckpt-[^/]+\/model\.safetensors$/),
      pick(first, /^rename ckpt-/),
      pick(first, /^write CURRENT$/),
      pick(first, /^rename CURRENT$/),
      pick(() => true, /^append .*metrics\.jsonl$/, 1),
      pick(second, /^write ckpt-[^/]+\/optimizer\.safetensors$/),
      pick(second, /^write ckpt-[^/]+\/session\.json$/),
      pick(second, /^rename ckpt-/),
      pick(second, /^rename CURRENT$/),
      pick(second, /^remove /, 0),
      pick(second, /^remove /, 3),
      pick(second, /^rmdir /),
    ];
    return points.filter((p): p is Op => p !== undefined);
  }

  it('the traced run has saves with every kind of operation', () => {
    const labels = ops.map((o) => o.label.split(' ')[0]);
    for (const k of ['mkdir', 'open', 'write', 'rename', 'remove', 'rmdir', 'append']) expect(labels).toContain(k);
    expect(killPoints().length).toBe(13);
  });

  it('after a kill at any of them, --resume continues from the last complete checkpoint with one row per step', async () => {
    const outcomes: string[] = [];
    for (const op of killPoints()) {
      const s = setup();
      const killed = await runChild(['train', '--config', s.config, '--out', s.out, '--backend', 'cpu', '--checkpoint-every', '1'], { TABZERO_FAULT_KILL_AT: String(op.n) });
      expect(killed.signal, `kill at ${op.n} ${op.label}: ${killed.stderr.slice(-500)}`).toBe('SIGKILL');
      const resumed = await cli(['train', '--config', s.config, '--out', s.out, '--backend', 'cpu', '--checkpoint-every', '1', '--resume']);
      if (op.savedStep === null) {
        // Killed before any checkpoint was complete: nothing to resume, and it says so.
        expect(resumed.code).toBe(1);
        expect(resumed.errorLines[0]).toMatch(/no saved run of this model to resume/);
        outcomes.push(`${op.label}: no checkpoint yet, refused`);
        continue;
      }
      expect(resumed.code, `kill at ${op.n} ${op.label}\n${resumed.errors.join('\n')}`).toBe(0);
      const at = resumed.errors.map((e) => /Resumed at step (\d+)/.exec(e)).find(Boolean);
      expect(Number(at?.[1]), `kill at ${op.n} ${op.label}`).toBe(op.savedStep);
      const lines = readFileSync(join(s.out, 'metrics.jsonl'), 'utf8').split('\n');
      expect(lines.pop()).toBe('');
      const steps = lines.map((l) => (JSON.parse(l) as { step: number }).step);
      expect(steps, `kill at ${op.n} ${op.label}`).toEqual(Array.from({ length: MAX_STEPS }, (_, i) => i + 1));
      // One checkpoint directory and its pointer are all that is left.
      expect(readdirSync(join(s.out, 'checkpoint')).length).toBe(2);
      outcomes.push(`${op.label}: resumed at ${op.savedStep}`);
    }
    expect(outcomes.length).toBe(13);
  }, 600_000);
});
