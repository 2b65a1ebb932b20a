import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../../src/cli/commands/train';
import { loadModel } from '../../src/core/model/load';
import { writeTinyModel } from '../fixtures/tiny-model';

describe('tabzero train', () => {
  it('writes metrics.jsonl per step and a Hub-layout checkpoint that loads back with changed weights', async () => {
    const modelDir = writeTinyModel('llama');
    const dir = mkdtempSync(join(tmpdir(), 'tabzero-train-'));
    const out = join(dir, 'out');
    writeFileSync(join(dir, 'short.js'), '(completion) => completion.length / 5');
    // Short questions keep the char-level sequences short, so the test takes seconds.
    writeFileSync(join(dir, 'sums.jsonl'), Array.from({ length: 16 }, (_, i) => JSON.stringify({ question: `${i}+1`, answer: String(i + 1) })).join('\n'));
    writeFileSync(
      join(dir, 'cfg.json'),
      JSON.stringify({
        model: modelDir,
        task: { kind: 'jsonl', path: 'sums.jsonl' },
        rewards: [{ name: 'format', weight: 1 }],
        user_rewards: [{ name: 'short', file: 'short.js', weight: 1 }],
        num_generations: 4,
        prompts_per_step: 2,
        max_completion_length: 5,
        learning_rate: 1e-2,
        max_steps: 3,
      }),
    );
    expect(await run(['--config', join(dir, 'cfg.json'), '--out', out, '--backend', 'cpu', '--probe-every', '3'])).toBe(0);
    const rows = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const lines = rows.filter((r) => !('probes' in r)) as Record<string, number>[];
    expect(lines.map((l) => l.step)).toEqual([1, 2, 3]);
    expect(lines[0]!['rewards/short/mean']).toBeTypeOf('number');
    // probes of the base model (step 0) and after step 3, in metrics.jsonl and in probes.jsonl
    const probeRows = rows.filter((r) => 'probes' in r) as { step: number; probes: { step: number; plain: { n: number } } }[];
    expect(probeRows.map((r) => r.step)).toEqual([0, 3]);
    expect(probeRows[1]!.probes.plain.n).toBeGreaterThan(0);
    const trajectory = readFileSync(join(out, 'probes.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { step: number }).step);
    expect(trajectory).toEqual([0, 3]);
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json']) expect(existsSync(join(out, f)), f).toBe(true);
    const before = await loadModel({ kind: 'dir', path: modelDir });
    const after = await loadModel({ kind: 'dir', path: out });
    const a = before.model.weights.get('model.embed_tokens.weight')!.dataSync();
    const b = after.model.weights.get('model.embed_tokens.weight')!.dataSync();
    expect(b.length).toBe(a.length);
    expect(b.some((x, i) => x !== a[i])).toBe(true);
    before.model.dispose();
    after.model.dispose();
    // The run left a resumable checkpoint; --resume continues from step 3 to max_steps 5.
    expect(existsSync(join(out, 'checkpoint', 'CURRENT'))).toBe(true);
    expect(await run(['--config', join(dir, 'cfg.json'), '--out', out, '--backend', 'cpu', '--resume', '--max-steps', '5', '--checkpoint-every', '1'])).toBe(0);
    const all = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; probes?: unknown });
    expect(all.filter((r) => !r.probes).map((r) => r.step)).toEqual([1, 2, 3, 4, 5]);
  });

  it('refuses an unknown GRPO key with its name', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tabzero-train-'));
    writeFileSync(join(dir, 'cfg.json'), JSON.stringify({ model: writeTinyModel('llama'), num_generation: 4 }));
    expect(await run(['--config', join(dir, 'cfg.json'), '--out', join(dir, 'o'), '--backend', 'cpu'])).toBe(1);
  });
});
