/**
 * The run as a TRL script that runs: a GRPOConfig with the same knobs, the task as a dataset file
 * whose `prompt` column is TabZero's own prompt text, and the reward functions in Python with the
 * page's rules (answer reading, the format rule, SPARKLE's hierarchical reward, the Countdown check).
 * JavaScript rewards are translated where they are simple, otherwise stubbed with the source in a comment.
 * Pure: settings in, file texts out.
 */
import type { TaskSpec, UserRewardSpec } from '../worker/protocol';
import type { Problem } from '../core/types';
import { createTask, jsonlTask } from '../core/tasks';
import { parseJsonl } from '../core/tasks/jsonl';
import { renderPrompt } from '../core/tasks/prompt';
import { Rng } from '../core/rng';
import { CONFIG_FIELDS, type ConfigValue, type GrpoFormConfig } from './config-schema';
import { pyString, translateReward, UntranslatableError } from './trl/js-to-python';
import rewardsRuntime from './trl/tabzero_rewards.py?raw';

/** Where TRL loads the model from: a Hub repo id, or a local folder with the exported files. */
export type TrlModelRef = { kind: 'hub'; repo: string } | { kind: 'local'; path: string };

export interface TrlExportInput {
  config: GrpoFormConfig;
  model: TrlModelRef;
  task: TaskSpec;
  builtinRewards: { name: string; weight: number }[];
  userRewards: UserRewardSpec[];
  /** Problems to write for generated tasks (toy world, Countdown). */
  trainProblems?: number;
}

export interface TrlExport {
  script: { name: string; text: string };
  dataset: { name: string; text: string; rows: number };
  /** User rewards that became stubs, with the reason (shown in the page beside the download). */
  stubbed: { name: string; reason: string }[];
}

export class TrlExportError extends Error {
  override name = 'TrlExportError';
}

export const DEFAULT_TRAIN_PROBLEMS = 2000;

export function pythonLiteral(v: ConfigValue): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return v > 0 ? 'float("inf")' : v < 0 ? 'float("-inf")' : 'float("nan")';
    return String(v);
  }
  return pyString(v);
}

export function pythonIdentifier(name: string): string {
  let id = name.replace(/[^A-Za-z0-9_]/g, '_');
  if (!/^[A-Za-z_]/.test(id)) id = `r_${id}`;
  return `${id}_reward`;
}

/**
 * The model as TRL needs it. A Hub id stays a Hub id; a local path must be a folder path, not a URL or
 * a description of picked files, since `from_pretrained` reads a directory.
 */
export function checkModelRef(ref: TrlModelRef): string {
  if (ref.kind === 'hub') {
    if (!/^[\w.-]+\/[\w.-]+$/.test(ref.repo.trim())) throw new TrlExportError(`"${ref.repo}" is not a Hub repo id (owner/name).`);
    return ref.repo.trim();
  }
  const p = ref.path.trim();
  if (p === '') throw new TrlExportError('Type the folder the model files are in (for example ./tabzero-tiny after downloading the trained model).');
  if (/^[a-z]+:\/\//i.test(p)) throw new TrlExportError(`"${p}" is an address, not a folder: download the model files and give their folder.`);
  if (/\bpicked files\b/.test(p)) throw new TrlExportError(`"${p}" is not a folder path: type the folder the model files are in.`);
  return p;
}

/** A GSM8K-style thousands separator is not part of the number: "1,000" is written as 1000. */
export function plainAnswer(answer: string): string {
  const t = answer.trim();
  return /^[-+]?\d{1,3}(,\d{3})+(\.\d+)?$/.test(t) ? t.replace(/,/g, '') : t;
}

/** One dataset row: TabZero's prompt text plus the fields its reward functions read. */
export function datasetRow(p: Problem): Record<string, unknown> {
  const answer = plainAnswer(p.answer);
  const row: Record<string, unknown> = { prompt: renderPrompt(p), answer, question: p.question, id: p.id, task: p.task };
  // JavaScript rewards saw the answer as written ("1,072"); their Python versions get the same text.
  if (answer !== p.answer) row.tabzero_answer = p.answer;
  if (p.plan) row.plan = p.plan;
  if (p.knowledge) row.knowledge = p.knowledge;
  if (p.subproblems) row.subproblems = p.subproblems;
  if (p.solution) row.solution = p.solution;
  if (p.difficulty !== undefined) row.difficulty = p.difficulty;
  if (p.meta) row.meta = p.meta;
  return row;
}

/** The problems TabZero trains on: a generated task's training split, or an imported file without its held-out probe problems. */
export function trainProblems(task: TaskSpec, n: number, seed: number): Problem[] {
  if (task.kind === 'jsonl') {
    const all = parseJsonl(task.text, task.name);
    const held = new Set(jsonlTask(task.name, all).probeSet(0, all.length).map((p) => p.question));
    return all.filter((p) => !held.has(p.question));
  }
  const t = createTask(task);
  const rng = new Rng(seed);
  const seen = new Set<string>();
  const out: Problem[] = [];
  for (let tries = 0; out.length < n && tries < n * 20; tries++) {
    const [p] = t.sample(rng, 1);
    if (!p || seen.has(p.id)) continue;
    seen.add(p.id);
    out.push(p);
  }
  return out;
}

export function datasetFileName(task: TaskSpec): string {
  if (task.kind === 'jsonl') return `tabzero-${task.name.replace(/\.[^.]*$/, '').replace(/[^\w.-]+/g, '_') || 'data'}-train.jsonl`;
  if (task.kind === 'toy-world') return `tabzero-toy-world${task.difficulty ? `-d${task.difficulty}` : ''}-train.jsonl`;
  return 'tabzero-countdown-train.jsonl';
}

function indent(lines: string[], by = '    '): string {
  return lines.map((l) => (l ? by + l : l)).join('\n');
}

function jsComment(source: string): string[] {
  return source.split('\n').map((l) => `#   ${l}`);
}

const BUILTIN_FUNCTIONS: Record<string, string> = {
  correctness: 'correctness_reward',
  format: 'format_reward',
  hierarchical: 'hierarchical_reward',
};

interface RewardEntry {
  fn: string;
  weight: number;
  code: string | null;
}

function userReward(u: UserRewardSpec, taken: Set<string>, stubbed: TrlExport['stubbed']): RewardEntry {
  let fn = pythonIdentifier(u.name);
  while (taken.has(fn)) fn = `${fn}_`;
  taken.add(fn);
  const jsFn = `${fn}_js`;
  const head = [`# JavaScript reward "${u.name.replace(/\n/g, ' ')}" in TabZero:`, ...jsComment(u.source)];
  let inner: string;
  try {
    inner = ['# Translated with JavaScript\'s meaning (tabzero_rewards helpers above).', translateReward(u.source, jsFn).python].join('\n');
  } catch (e) {
    if (!(e instanceof UntranslatableError)) throw e;
    stubbed.push({ name: u.name, reason: e.message });
    inner = [
      `# Not translated automatically (it uses ${e.message}): port the JavaScript above by hand.`,
      `def ${jsFn}(completion, problem):`,
      `    raise NotImplementedError(${pyString(`port the JavaScript reward "${u.name}" (see the comment above)`)})`,
    ].join('\n');
  }
  const wrapper = [
    `def ${fn}(completions, **kwargs):`,
    `    rows = problem_rows(len(completions), kwargs)`,
    `    return [js_reward_value(${pyString(u.name)}, ${jsFn}(completion_text(c), r), i) for i, (c, r) in enumerate(zip(completions, rows))]`,
  ].join('\n');
  return { fn, weight: u.weight, code: [...head, inner, '', '', wrapper].join('\n') };
}

export function exportTrl(input: TrlExportInput): TrlExport {
  const modelPath = checkModelRef(input.model);
  const c = input.config;
  const num = (name: string): number => {
    const v = c[name];
    return typeof v === 'number' ? v : Number(CONFIG_FIELDS.find((f) => f.name === name)?.defaultValue ?? 0);
  };
  // TRL: generation batch = per_device_train_batch_size × steps_per_generation (one process); empty = gradient_accumulation_steps.
  const sliceCount = (): number => (typeof c.steps_per_generation === 'number' ? c.steps_per_generation : Math.max(1, num('gradient_accumulation_steps')));
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
  // With steps_per_generation (or gradient accumulation) TRL's per-device batch is one slice of the generation batch.
  args.push(`per_device_train_batch_size=${Math.max(1, Math.round((num('prompts_per_step') * num('num_generations')) / sliceCount()))}`);
  args.push('logging_steps=1');

  const stubbed: TrlExport['stubbed'] = [];
  const taken = new Set(Object.values(BUILTIN_FUNCTIONS));
  const rewards: RewardEntry[] = [
    ...input.builtinRewards
      .filter((b) => b.weight !== 0)
      .map((b) => {
        const fn = BUILTIN_FUNCTIONS[b.name];
        if (!fn) throw new TrlExportError(`The built-in reward "${b.name}" has no Python version; give it weight 0 to export.`);
        return { fn, weight: b.weight, code: null };
      }),
    ...input.userRewards.map((u) => userReward(u, taken, stubbed)),
  ];
  if (rewards.length === 0) throw new TrlExportError('The run has no reward function with a non-zero weight.');
  args.push(`reward_weights=[${rewards.map((r) => pythonLiteral(r.weight)).join(', ')}]`);

  const problems = trainProblems(input.task, input.trainProblems ?? DEFAULT_TRAIN_PROBLEMS, num('seed'));
  const datasetName = datasetFileName(input.task);
  const datasetText = problems.map((p) => JSON.stringify(datasetRow(p))).join('\n') + '\n';

  const script = [
    '# Generated by TabZero: the same GRPO run under TRL.',
    '#   pip install trl datasets transformers',
    `#   python ${'tabzero_grpo_trl.py'}    (with ${datasetName} beside it)`,
    '# The prompts are TabZero\'s own text, ending in <think>, so completions start inside the reasoning.',
    '',
    rewardsRuntime.trim(),
    '',
    '',
    '# ---- This run ----',
    `MODEL = ${pyString(modelPath)}`,
    `DATA_FILE = ${pyString(datasetName)}`,
    '',
    ...rewards.filter((r) => r.code !== null).flatMap((r) => [r.code!, '', '']),
    `REWARD_FUNCS = [${rewards.map((r) => r.fn).join(', ')}]`,
    '',
    ...(extensions.length ? ['# Settings TRL has no name for:', ...extensions, ''] : []),
    '',
    'def with_chat_template(tokenizer, prompt):',
    '    """As TabZero does for chat models: the question goes through the template, <think> stays raw after it."""',
    '    i = prompt.rfind("\\n<think>")',
    '    head, tail = (prompt, "") if i < 0 else (prompt[:i], prompt[i + 1:])',
    '    return tokenizer.apply_chat_template([{"role": "user", "content": head}], tokenize=False, add_generation_prompt=True) + tail',
    '',
    '',
    'def main():',
    '    from datasets import load_dataset',
    '    from transformers import AutoTokenizer',
    '    from trl import GRPOConfig, GRPOTrainer',
    '',
    '    dataset = load_dataset("json", data_files=DATA_FILE, split="train")',
    '    tokenizer = AutoTokenizer.from_pretrained(MODEL)',
    '    if tokenizer.chat_template:',
    '        dataset = dataset.map(lambda row: {"prompt": with_chat_template(tokenizer, row["prompt"])})',
    '    training_args = GRPOConfig(',
    indent(args.map((a) => `${a},`), '        '),
    '    )',
    '    trainer = GRPOTrainer(',
    '        model=MODEL,',
    '        processing_class=tokenizer,',
    '        reward_funcs=REWARD_FUNCS,',
    '        args=training_args,',
    '        train_dataset=dataset,',
    '    )',
    '    trainer.train()',
    '',
    '',
    'if __name__ == "__main__":',
    '    main()',
    '',
  ].join('\n');
  return { script: { name: 'tabzero_grpo_trl.py', text: script }, dataset: { name: datasetName, text: datasetText, rows: problems.length }, stubbed };
}

/** The folder name a model was loaded from, as a default local path for the export ("./tabzero-tiny"). */
export function defaultModelRef(source: { kind: string; repo?: string; baseUrl?: string } | null, modelName: string | null, folder: string | null): TrlModelRef {
  if (source?.kind === 'hub' && source.repo) return { kind: 'hub', repo: source.repo };
  if (source?.kind === 'files') return { kind: 'local', path: folder ? `./${folder}` : '' };
  const m = /([^/]+)\/?$/.exec((source?.kind === 'url' ? source.baseUrl : modelName) ?? '');
  const name = m?.[1] && !/^https?:$/.test(m[1]) ? m[1] : 'tabzero-tiny';
  return { kind: 'local', path: `./${name}` };
}
