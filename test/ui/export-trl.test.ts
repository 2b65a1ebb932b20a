import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyPreset, defaultConfig } from '../../src/ui/config-schema';
import { checkModelRef, datasetRow, defaultModelRef, exportTrl, plainAnswer, pythonIdentifier, pythonLiteral, trainProblems, TrlExportError, type TrlExportInput } from '../../src/ui/export-trl';
import { correctnessReward, formatReward, hierarchicalReward } from '../../src/core/rewards/builtin';
import { renderPrompt } from '../../src/core/tasks/prompt';
import { DEFAULT_REWARD_SOURCE } from '../../src/ui/store';
import type { Problem } from '../../src/core/types';
import type { UserRewardSpec } from '../../src/worker/protocol';

function findPython(): string | null {
  for (const p of ['python3', '/usr/bin/python3']) {
    try {
      execFileSync(p, ['-c', 'pass']);
      return p;
    } catch {
      // try the next
    }
  }
  return null;
}
const python = findPython();

const GSM8K = [
  { question: 'Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. How many clips did she sell altogether?', answer: 'Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nNatalia sold 48+24 = <<48+24=72>>72 clips altogether.\n#### 72' },
  { question: 'A farm has 1,000 hens and buys 72 more. How many hens?', answer: '1000 + 72 = 1072\n#### 1,072' },
  { question: 'Weng earns $12 an hour. She did 50 minutes of babysitting. How much did she earn?', answer: 'Weng earns 12/60 = $0.2 per minute.\n#### 10' },
  { question: 'Betty needs $100 for a wallet and has half. How much more?', answer: '#### 5' },
  { question: 'James writes 3 pages to 2 friends twice a week. How many pages a year?', answer: '#### 624' },
  { question: 'Mark has a garden with 10 yellow flowers. How many flowers?', answer: '#### 35' },
  { question: 'Albert buys 2 large pizzas and 2 small pizzas. How many slices?', answer: '#### 48' },
  { question: 'Ken made a care package. What was the final weight?', answer: '#### 16' },
  { question: 'Alexis spent $200 on clothes. How much did she pay for the shoes?', answer: '#### 41' },
].map((r) => JSON.stringify(r)).join('\n');

const USER_REWARDS: UserRewardSpec[] = [
  { name: 'default_answer', weight: 1, source: DEFAULT_REWARD_SOURCE },
  { name: 'short', weight: 0.5, source: '(c, p) => c.length < 60 ? 1 : 0' },
  {
    name: 'close-enough',
    weight: 0.3,
    source: `(completion, problem) => {
  const m = /<answer>\\s*([\\d,]+)\\s*<\\/answer>/.exec(completion);
  if (!m) return 0;
  const v = Number(m[1].replace(/,/g, ''));
  return Math.abs(v - parseFloat(problem.answer.replace(',', ''))) <= 1 ? 1 : 0.5;
}`,
  },
  { name: 'thinks', weight: 0.2, source: "(c, p) => { if (c.includes('</think>')) { return c.split('</think>')[0].trim().length > 10 ? 0.5 : 0; } else return -1; }" },
  { name: 'uses_plan', weight: 0.1, source: "(c, p) => p.plan ? (c.toLowerCase().includes('first') ? 1 : 0) : null" },
  { name: 'multiline', weight: 0.1, source: '(c) => /^<answer>/m.test(c) || /answer>$/.test(c) ? 1 : 0' },
  { name: 'counts', weight: 0.1, source: 'function (c, p) {\n  let n = 0;\n  for (const ch of c) if (ch === "<") n++;\n  return n;\n}' },
];

/** Completions for a problem: right and wrong, well and badly formatted, with the edge cases of answer reading. */
function completionsFor(p: Problem): string[] {
  const a = p.answer;
  const n = Number(plainAnswer(a));
  const wrong = Number.isFinite(n) ? String(n + 3) : 'banana';
  return [
    ` First multiply. Then add. </think> <answer>${a}</answer>`,
    `<think> First count. </think>\n<answer> ${a} </answer>`,
    ` reasoning </think> <answer>${a}</answer>\n`,
    ` reasoning </think> <answer>${a}</answer><|im_end|>`,
    ` reasoning </think> <answer>${a}</answer> trailing words`,
    ` no tags, the answer is ${a}`,
    ` so the total is ${Number.isFinite(n) ? n.toLocaleString('en') : a}.`,
    ` reasoning </think> <answer>${wrong}</answer>`,
    ` reasoning </think> <answer></answer>`,
    ` </think> <answer>1</answer> <answer>${a}</answer>`,
    ` <think> nested </think> <answer>${a}</answer>`,
    `\u00a0 First \u2028 </think>\u3000<answer>${a}</answer>`,
    ` reasoning </think> <answer>$${a}</answer>`,
    ` reasoning </think> <answer>${a}.0</answer>`,
    ` reasoning </think> <answer>\\frac{${Number.isFinite(n) ? 2 * n : 1}}{2}</answer>`,
    ` I do not know. </think> <answer>I don't know</answer>`,
    '',
  ];
}

function runPython(dir: string, code: string): string {
  return execFileSync(python!, ['-c', code], { cwd: dir, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}

/** Scores every (problem, completion) pair with the exported Python rewards and with TabZero's own. */
function compareRewards(input: TrlExportInput, problems: Problem[]) {
  const out = exportTrl(input);
  const dir = mkdtempSync(join(tmpdir(), 'tabzero-trl-'));
  writeFileSync(join(dir, out.script.name), out.script.text);
  writeFileSync(join(dir, out.dataset.name), out.dataset.text);
  execFileSync(python!, ['-m', 'py_compile', out.script.name], { cwd: dir });

  const cases = problems.flatMap((p) => completionsFor(p).map((c) => ({ row: datasetRow(p), completion: c })));
  writeFileSync(join(dir, 'cases.json'), JSON.stringify(cases));
  const py = runPython(
    dir,
    [
      'import importlib.util, json, math',
      `spec = importlib.util.spec_from_file_location("exported", ${JSON.stringify(out.script.name)})`,
      'mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)',
      'cases = json.load(open("cases.json"))',
      'cols = {}',
      'keys = set(k for c in cases for k in c["row"])',
      'for k in keys: cols[k] = [c["row"].get(k) for c in cases]',
      'comps = [c["completion"] for c in cases]',
      'res = {}',
      'for f in mod.REWARD_FUNCS:',
      '    try:',
      '        res[f.__name__] = f(prompts=cols["prompt"], completions=comps, **cols)',
      '    except NotImplementedError:',
      '        res[f.__name__] = "stub"',
      'print(json.dumps(res))',
    ].join('\n'),
  );
  const got = JSON.parse(py) as Record<string, (number | null)[] | 'stub'>;
  return { out, got, cases, problems };
}

function tsUser(source: string): (c: string, p: Problem) => unknown {
  return new Function(`return (${source});`)() as (c: string, p: Problem) => unknown;
}

describe('TRL export', () => {
  const input = (over: Partial<TrlExportInput>): TrlExportInput => ({
    config: { ...applyPreset('lecture').config, seed: 7 },
    model: { kind: 'local', path: './tabzero-tiny' },
    task: { kind: 'toy-world' },
    builtinRewards: [
      { name: 'correctness', weight: 1 },
      { name: 'format', weight: 0.2 },
      { name: 'hierarchical', weight: 0.5 },
    ],
    userRewards: [],
    trainProblems: 50,
    ...over,
  });

  it('writes every TRL knob as a GRPOConfig argument with Python literals', () => {
    const { script } = exportTrl(input({ config: { ...applyPreset('researcher').config, top_k: 0, seed: 7 }, model: { kind: 'hub', repo: 'HuggingFaceTB/SmolLM2-135M-Instruct' } }));
    const t = script.text;
    expect(t).toContain('        learning_rate=0.000001,');
    expect(t).toContain('        beta=0.04,');
    expect(t).toContain('        epsilon_high=0.28,');
    expect(t).toContain('        loss_type="dapo",');
    expect(t).toContain('        top_k=None,');
    expect(t).toContain('        seed=7,');
    // 8 prompts × 8 generations: TRL counts completions.
    expect(t).toContain('        per_device_train_batch_size=64,');
    expect(t).not.toContain('prompts_per_step=');
    expect(t).toContain('# scaffold_hard_problems = False  (TabZero only');
    expect(t).toContain('MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct"');
    expect(t).toContain('reward_weights=[1, 0.2, 0.5],');
    expect(t).toContain('REWARD_FUNCS = [correctness_reward, format_reward, hierarchical_reward]');
  });

  it('names the model by a Hub id or a folder, never by a URL or "picked files"', () => {
    expect(defaultModelRef({ kind: 'embedded' }, 'http://127.0.0.1:5303/models/tabzero-tiny/', null)).toEqual({ kind: 'local', path: './tabzero-tiny' });
    expect(defaultModelRef({ kind: 'url', baseUrl: 'https://example.org/m/my-model/' }, 'x', null)).toEqual({ kind: 'local', path: './my-model' });
    expect(defaultModelRef({ kind: 'hub', repo: 'Qwen/Qwen2.5-0.5B' }, 'Qwen/Qwen2.5-0.5B', null)).toEqual({ kind: 'hub', repo: 'Qwen/Qwen2.5-0.5B' });
    expect(defaultModelRef({ kind: 'files' }, '5 picked files', 'SmolLM2-135M')).toEqual({ kind: 'local', path: './SmolLM2-135M' });
    expect(defaultModelRef({ kind: 'files' }, '5 picked files', null)).toEqual({ kind: 'local', path: '' });
    expect(() => checkModelRef({ kind: 'local', path: 'http://127.0.0.1:5303/models/tabzero-tiny/' })).toThrow(TrlExportError);
    expect(() => checkModelRef({ kind: 'local', path: './5 picked files' })).toThrow(/not a folder/);
    expect(() => checkModelRef({ kind: 'local', path: ' ' })).toThrow(/Type the folder/);
    const t = exportTrl(input({ model: { kind: 'local', path: '/home/me/models/tiny' } })).script.text;
    expect(t).toContain('MODEL = "/home/me/models/tiny"');
    expect(t).not.toMatch(/\.\/http/);
  });

  it('exports the toy world training split with prompts in TabZero’s template', () => {
    const { dataset, script } = exportTrl(input({ trainProblems: 40 }));
    expect(dataset.name).toBe('tabzero-toy-world-train.jsonl');
    expect(script.text).toContain('DATA_FILE = "tabzero-toy-world-train.jsonl"');
    const rows = dataset.text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows).toHaveLength(40);
    expect(dataset.rows).toBe(40);
    const problems = trainProblems({ kind: 'toy-world' }, 40, 7);
    expect(rows.map((r) => r.prompt)).toEqual(problems.map((p) => renderPrompt(p)));
    for (const r of rows) {
      expect(r.prompt as string).toMatch(/\n<think>$/);
      expect((r.meta as { heldOut: boolean }).heldOut).toBe(false);
      expect(r.plan).toBeInstanceOf(Array);
    }
    expect(new Set(rows.map((r) => r.id)).size).toBe(40);
  });

  it('extracts GSM8K answers as the reward reads them and leaves out the held-out probe problems', () => {
    const { dataset } = exportTrl(input({ task: { kind: 'jsonl', name: 'gsm8k mini.jsonl', text: GSM8K } }));
    expect(dataset.name).toBe('tabzero-gsm8k_mini-train.jsonl');
    const rows = dataset.text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
    // 9 problems, one eighth (rounded up: 2) held out for probes.
    expect(rows).toHaveLength(7);
    const byQ = new Map(rows.map((r) => [r.question, r]));
    const first = byQ.get(JSON.parse(GSM8K.split('\n')[0]!).question) ?? byQ.get(JSON.parse(GSM8K.split('\n')[1]!).question);
    expect(first).toBeDefined();
    for (const r of rows) {
      expect(r.answer).toMatch(/^\d+$/);
      expect(r.prompt).toBe(`${r.question}\n<think>`);
    }
    if (byQ.has('A farm has 1,000 hens and buys 72 more. How many hens?')) expect(byQ.get('A farm has 1,000 hens and buys 72 more. How many hens?')!.answer).toBe('1072');
    expect(plainAnswer('1,072')).toBe('1072');
    expect(plainAnswer('1,2')).toBe('1,2');
    expect(plainAnswer(' 72 ')).toBe('72');
  });

  it('translates simple JavaScript rewards and stubs the rest with the source in a comment', () => {
    const { script, stubbed } = exportTrl(input({ userRewards: USER_REWARDS }));
    expect(stubbed.map((s) => s.name)).toEqual(['counts']);
    expect(stubbed[0]!.reason).toMatch(/for/);
    expect(script.text).toContain('#     for (const ch of c) if (ch === "<") n++;');
    expect(script.text).toContain('raise NotImplementedError("port the JavaScript reward \\"counts\\"');
    expect(script.text).toContain('def default_answer_reward(completions, **kwargs):');
    expect(script.text).toContain('def close_enough_reward(completions, **kwargs):');
    expect(script.text).not.toContain('NotImplementedError("port the JavaScript reward \\"short');
  });

  it('maps values and names to Python', () => {
    expect(pythonLiteral(true)).toBe('True');
    expect(pythonLiteral(null)).toBe('None');
    expect(pythonLiteral(1e-7)).toBe('1e-7');
    expect(pythonLiteral('a"b')).toBe('"a\\"b"');
    expect(pythonIdentifier('3-way check')).toBe('r_3_way_check_reward');
  });

  it('refuses a run without rewards', () => {
    expect(() => exportTrl(input({ builtinRewards: [{ name: 'correctness', weight: 0 }], userRewards: [] }))).toThrow(/no reward function/);
    expect(() => exportTrl(input({ config: defaultConfig() }))).not.toThrow();
  });

  describe.skipIf(!python)('in Python', () => {
    const setups: [string, Partial<TrlExportInput>][] = [
      ['toy world, all built-ins and JavaScript rewards', { userRewards: USER_REWARDS }],
      ['GSM8K-style JSONL', { task: { kind: 'jsonl', name: 'gsm8k.jsonl', text: GSM8K }, userRewards: USER_REWARDS.slice(0, 3) }],
      ['Countdown', { task: { kind: 'countdown' }, userRewards: [USER_REWARDS[1]!] }],
      ['a Hub model and a single reward', { model: { kind: 'hub', repo: 'HuggingFaceTB/SmolLM2-135M-Instruct' }, builtinRewards: [{ name: 'hierarchical', weight: 1 }] }],
    ];
    for (const [label, over] of setups) {
      it(`compiles and scores completions exactly as TabZero does: ${label}`, () => {
        const inp = input(over);
        const problems = trainProblems(inp.task, 12, 7).slice(0, 12);
        if (inp.task.kind === 'countdown') {
          // Countdown answers are equations: add completions with right, wrong and reordered ones.
          for (const p of problems) p.answer = p.answer;
        }
        const { got, cases } = compareRewards({ ...inp, trainProblems: 12 }, problems);
        const byCase = cases.map((c, i) => ({ ...c, i, problem: problems.find((p) => p.id === c.row.id)! }));
        const builtin: Record<string, (c: string, p: Problem) => number | null> = {
          correctness_reward: correctnessReward,
          format_reward: formatReward,
          hierarchical_reward: hierarchicalReward,
        };
        let compared = 0;
        for (const [fn, values] of Object.entries(got)) {
          if (values === 'stub') continue;
          const user = inp.userRewards.find((u) => pythonIdentifier(u.name) === fn);
          const ref = builtin[fn] ?? (user ? tsUser(user.source) : null);
          expect(ref, fn).not.toBeNull();
          for (const c of byCase) {
            const want = ref!(c.completion, c.problem);
            expect(values[c.i], `${fn} on ${JSON.stringify(c.completion)} for answer ${c.problem.answer}`).toBe(want === null || want === undefined ? null : want);
            compared++;
          }
        }
        expect(compared).toBeGreaterThan(100);
        // The cases must exercise both outcomes of every built-in, or the comparison proves little.
        for (const fn of Object.keys(builtin)) if (got[fn] && got[fn] !== 'stub') expect(new Set(got[fn] as number[]).size, fn).toBeGreaterThan(1);
      });
    }

    it('checks Countdown equations as the page does', () => {
      const problems = trainProblems({ kind: 'countdown' }, 4, 3);
      const inp = input({ task: { kind: 'countdown' }, trainProblems: 4 });
      const out = exportTrl(inp);
      const dir = mkdtempSync(join(tmpdir(), 'tabzero-trl-cd-'));
      writeFileSync(join(dir, 'x.py'), out.script.text);
      const cases = problems.flatMap((p) => {
        const meta = p.meta as { numbers: number[]; target: number };
        const rev = [...meta.numbers].reverse().join(' + ');
        return [
          `</think> <answer>${p.answer}</answer>`,
          `</think> <answer>${p.answer} = ${meta.target}</answer>`,
          `</think> <answer>${p.answer} = ${meta.target + 1}</answer>`,
          `</think> <answer>${rev}</answer>`,
          `</think> <answer>(${p.answer}) * 1</answer>`,
          `</think> <answer>${p.answer.replace(/\*/g, '×')}</answer>`,
          `the answer is ${meta.target}`,
        ].map((c) => ({ c, p }));
      });
      writeFileSync(join(dir, 'c.json'), JSON.stringify(cases.map((x) => ({ c: x.c, row: datasetRow(x.p) }))));
      const res = JSON.parse(
        runPython(dir, 'import importlib.util,json\ns=importlib.util.spec_from_file_location("m","x.py");m=importlib.util.module_from_spec(s);s.loader.exec_module(m)\nprint(json.dumps([m.correctness_reward([x["c"]], **{k:[v] for k,v in x["row"].items()})[0] for x in json.load(open("c.json"))]))'),
      ) as number[];
      expect(res).toEqual(cases.map((x) => correctnessReward(x.c, x.p)));
      expect(res.filter((v) => v === 1).length).toBeGreaterThanOrEqual(problems.length * 2);
      expect(res.filter((v) => v === 0).length).toBeGreaterThanOrEqual(problems.length * 2);
    });
  });
});
