import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { applyPreset, defaultConfig } from '../../src/ui/config-schema';
import { exportTrlScript, pythonIdentifier, pythonLiteral } from '../../src/ui/export-trl';

const python = ['/usr/bin/python3', '/usr/local/bin/python3'].find((p) => existsSync(p));

describe('TRL export', () => {
  const script = exportTrlScript({
    config: { ...applyPreset('researcher').config, top_k: 0, seed: 7 },
    modelId: 'HuggingFaceTB/SmolLM2-135M-Instruct',
    task: { kind: 'jsonl', name: 'gsm8k "mini".jsonl', text: '' },
    builtinRewards: [
      { name: 'correctness', weight: 1 },
      { name: 'format', weight: 0.2 },
      { name: 'hierarchical', weight: 0 },
    ],
    userRewards: [{ name: 'short-answers', weight: 0.5, source: '(c, p) => c.length < 100 ? 1 : 0' }],
  });

  it('writes every TRL knob as a GRPOConfig argument with Python literals', () => {
    expect(script).toContain('from trl import GRPOConfig, GRPOTrainer');
    expect(script).toContain('    learning_rate=0.000001,');
    expect(script).toContain('    beta=0.04,');
    expect(script).toContain('    epsilon_high=0.28,');
    expect(script).toContain('    loss_type="dapo",');
    expect(script).toContain('    mask_truncated_completions=False,');
    expect(script).toContain('    top_k=None,');
    expect(script).toContain('    seed=7,');
    expect(script).toContain('    num_iterations=2,');
    // 8 prompts × 8 generations: TRL counts completions.
    expect(script).toContain('    per_device_train_batch_size=64,');
    expect(script).not.toContain('prompts_per_step=');
    expect(script).toContain('# scaffold_hard_problems = False  (TabZero only');
    expect(script).toContain('model="HuggingFaceTB/SmolLM2-135M-Instruct"');
  });

  it('lists the reward functions with their weights, zero-weight built-ins left out', () => {
    expect(script).toContain('reward_funcs=[correctness_reward, format_reward, short_answers_reward]');
    expect(script).toContain('reward_weights=[1, 0.2, 0.5],');
    expect(script).not.toContain('def hierarchical_reward');
    expect(script).toContain('#   (c, p) => c.length < 100 ? 1 : 0');
    expect(script).toContain('load_dataset("json", data_files="gsm8k \\"mini\\".jsonl", split="train")');
  });

  it('leaves epsilon_high out when it follows epsilon', () => {
    const s = exportTrlScript({ config: defaultConfig(), modelId: 'm', task: { kind: 'toy-world' }, builtinRewards: [], userRewards: [] });
    expect(s).not.toContain('epsilon_high');
    expect(s).not.toContain('reward_weights');
  });

  it('maps values and names to Python', () => {
    expect(pythonLiteral(true)).toBe('True');
    expect(pythonLiteral(null)).toBe('None');
    expect(pythonLiteral(1e-7)).toBe('1e-7');
    expect(pythonLiteral('a"b')).toBe('"a\\"b"');
    expect(pythonIdentifier('3-way check')).toBe('r_3_way_check_reward');
  });

  it.skipIf(!python)('is valid Python (parsed by the real interpreter)', () => {
    expect(() => execFileSync(python!, ['-c', 'import ast,sys; ast.parse(sys.stdin.read())'], { input: script })).not.toThrow();
  });
});
