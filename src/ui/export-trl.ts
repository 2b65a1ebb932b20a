/**
 * Writes a TRL script that reproduces the page's run settings: a GRPOConfig with the same knobs
 * and reward-function stubs, so a researcher can move from the tab to a GPU box.
 * Pure: config in, Python text out.
 */
import type { TaskSpec, UserRewardSpec } from '../worker/protocol';
import { CONFIG_FIELDS, type ConfigValue, type GrpoFormConfig } from './config-schema';

export interface TrlExportInput {
  config: GrpoFormConfig;
  /** A Hub repo id where the model came from the Hub; otherwise a local path the user fills in. */
  modelId: string;
  task: TaskSpec;
  builtinRewards: { name: string; weight: number }[];
  userRewards: UserRewardSpec[];
}

export function pythonLiteral(v: ConfigValue): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return v > 0 ? 'float("inf")' : v < 0 ? 'float("-inf")' : 'float("nan")';
    return String(v);
  }
  // JSON string escapes (\n, \", \uXXXX) mean the same in Python.
  return JSON.stringify(v);
}

export function pythonIdentifier(name: string): string {
  let id = name.replace(/[^A-Za-z0-9_]/g, '_');
  if (!/^[A-Za-z_]/.test(id)) id = `r_${id}`;
  return `${id}_reward`;
}

const BUILTIN_BODIES: Record<string, string[]> = {
  correctness: [
    '"""1.0 when the text inside <answer>...</answer> equals the reference answer."""',
    'out = []',
    'for c, a in zip(completions, answer):',
    '    text = c if isinstance(c, str) else c[0]["content"]',
    '    m = re.search(r"<answer>(.*?)</answer>", text, re.S)',
    '    out.append(1.0 if m and m.group(1).strip() == str(a).strip() else 0.0)',
    'return out',
  ],
  format: [
    '"""1.0 when the completion has the <think>...</think><answer>...</answer> shape."""',
    'pattern = re.compile(r"^\\s*<think>.*?</think>\\s*<answer>.*?</answer>\\s*$", re.S)',
    'return [1.0 if pattern.match(c if isinstance(c, str) else c[0]["content"]) else 0.0 for c in completions]',
  ],
  hierarchical: [
    '"""Partial credit per correct subproblem answer (TabZero\'s hierarchical reward); port it from src/core/rewards."""',
    'raise NotImplementedError("port TabZero\'s hierarchical reward")',
  ],
};

function indent(lines: string[], by = '    '): string {
  return lines.map((l) => (l ? by + l : l)).join('\n');
}

function datasetLines(task: TaskSpec): string[] {
  switch (task.kind) {
    case 'jsonl':
      return [`dataset = load_dataset("json", data_files=${pythonLiteral(task.name)}, split="train")`, '# Each row needs a "prompt" and an "answer" column.'];
    case 'countdown':
      return ['# TabZero generated Countdown problems in the page; export them as JSONL or use a Hub copy.', 'dataset = load_dataset("json", data_files="countdown.jsonl", split="train")'];
    case 'toy-world':
      return ['# TabZero generated toy-world problems in the page; export them as JSONL (prompt, answer) first.', 'dataset = load_dataset("json", data_files="toy-world.jsonl", split="train")'];
  }
}

export function exportTrlScript(input: TrlExportInput): string {
  const c = input.config;
  const num = (name: string): number => {
    const v = c[name];
    return typeof v === 'number' ? v : Number(CONFIG_FIELDS.find((f) => f.name === name)?.defaultValue ?? 0);
  };
  const args: string[] = ['output_dir="tabzero-grpo"'];
  const extensions: string[] = [];
  for (const f of CONFIG_FIELDS) {
    const v = c[f.name] ?? f.defaultValue;
    if (f.tabzeroOnly) {
      if (f.name !== 'prompts_per_step') extensions.push(`# ${f.name} = ${pythonLiteral(v)}  (TabZero only: ${f.help})`);
      continue;
    }
    if (f.name === 'epsilon_high' && v === null) continue; // TRL's None already means "same as epsilon"
    if (f.name === 'top_k') {
      args.push(`top_k=${v === 0 || v === null ? 'None' : pythonLiteral(v)}`);
      continue;
    }
    args.push(`${f.name}=${pythonLiteral(v)}`);
  }
  // TRL counts the batch in completions, TabZero in prompts.
  args.push(`per_device_train_batch_size=${num('prompts_per_step') * num('num_generations')}`);
  args.push('logging_steps=1');

  const rewards = [
    ...input.builtinRewards.filter((b) => b.weight !== 0).map((b) => ({ fn: pythonIdentifier(b.name), weight: b.weight, body: BUILTIN_BODIES[b.name] ?? ['raise NotImplementedError'], js: null as string | null })),
    ...input.userRewards.map((u) => ({
      fn: pythonIdentifier(u.name),
      weight: u.weight,
      body: [`"""Port of the JavaScript reward "${u.name.replace(/"/g, "'")}" (source above)."""`, `raise NotImplementedError("port ${u.name.replace(/["\\]/g, '')} from JavaScript")`],
      js: u.source,
    })),
  ];
  if (rewards.length > 0) args.push(`reward_weights=[${rewards.map((r) => pythonLiteral(r.weight)).join(', ')}]`);

  const fnBlocks = rewards.map((r) => {
    const head = r.js === null ? [] : ['# JavaScript source in TabZero:', ...r.js.split('\n').map((l) => `#   ${l}`)];
    return [...head, `def ${r.fn}(completions, answer, **kwargs):`, indent(r.body)].join('\n');
  });

  return [
    '# Generated by TabZero: the same GRPO run under TRL.',
    '# pip install trl datasets',
    'import re',
    '',
    'from datasets import load_dataset',
    'from trl import GRPOConfig, GRPOTrainer',
    '',
    ...datasetLines(input.task),
    '',
    ...fnBlocks.flatMap((b) => [b, '']),
    ...(extensions.length ? ['# Settings TRL has no name for:', ...extensions, ''] : []),
    'training_args = GRPOConfig(',
    indent(args.map((a) => `${a},`)),
    ')',
    '',
    'trainer = GRPOTrainer(',
    `    model=${pythonLiteral(input.modelId)},`,
    `    reward_funcs=[${rewards.map((r) => r.fn).join(', ')}],`,
    '    args=training_args,',
    '    train_dataset=dataset,',
    ')',
    'trainer.train()',
    '',
  ].join('\n');
}
