/**
 * `tabzero pretrain` end to end at a tiny budget: it writes a Hub-layout model that the engine
 * loads, and the same seed and step count give byte-identical weights (the embedded model is
 * reproducible from its recorded command).
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/cli/commands/pretrain';
import { loadModel } from '../../src/core/model/load';

async function pretrain(seed: number): Promise<string> {
  const out = mkdtempSync(join(tmpdir(), 'tabzero-pretrain-'));
  const code = await run(['--out', out, '--seed', String(seed), '--steps', '4', '--batch', '2', '--backend', 'cpu', '--save-every', '1000']);
  expect(code).toBe(0);
  return out;
}

describe('tabzero pretrain', () => {
  it('writes a loadable Hub-layout model, reproducibly from its seed', async () => {
    const a = await pretrain(5);
    const b = await pretrain(5);
    const c = await pretrain(6);
    const weights = (d: string): Buffer => readFileSync(join(d, 'model.safetensors'));
    expect(weights(a).equals(weights(b))).toBe(true);
    expect(weights(a).equals(weights(c))).toBe(false);

    const record = JSON.parse(readFileSync(join(a, 'PRETRAIN.json'), 'utf8')) as { steps: number; finished: boolean; final_loss_ema: number };
    expect(record.steps).toBe(4);
    expect(record.finished).toBe(true);
    expect(Number.isFinite(record.final_loss_ema)).toBe(true);
    const log = readFileSync(join(a, 'pretrain-log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { loss: number });
    // Untrained, the loss is near ln(vocab) = ln(384) ≈ 5.95.
    expect(log[0]!.loss).toBeGreaterThan(5);
    expect(log[0]!.loss).toBeLessThan(7);

    const { model, tokenizer } = await loadModel({ kind: 'dir', path: a });
    expect(model.config.arch).toBe('llama');
    expect(model.config.vocabSize).toBe(tokenizer.vocabSize);
    const text = 'Sam has 12 crates.\n<think> 12 + 3 = 15. </think> <answer>15</answer>';
    expect(tokenizer.decode(tokenizer.encode(text, { addSpecialTokens: false }), { skipSpecialTokens: false })).toBe(text);
    model.dispose();
  }, 300_000);
});
