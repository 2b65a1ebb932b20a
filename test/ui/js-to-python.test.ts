import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { translateRegex, translateReward, UntranslatableError } from '../../src/ui/trl/js-to-python';

function hasPython(): boolean {
  try {
    execFileSync('python3', ['-c', 'pass']);
    return true;
  } catch {
    return false;
  }
}

const RUNTIME = readFileSync(join(import.meta.dirname, '../../src/ui/trl/tabzero_rewards.py'), 'utf8');

/** JavaScript rewards beyond the simple ones, each with the constructs whose meaning differs between the languages. */
const FUNCTIONS: Record<string, string> = {
  loose_eq: '(c, p) => (c.length == p.answer ? 1 : 0) + (p.difficulty == "2" ? 0.5 : 0)',
  or_default: '(c, p) => { const ans = (c.match(/<answer>(.*?)<\\/answer>/) || [])[1] || "none"; return ans === p.answer ? 1 : ans === "none" ? -1 : 0; }',
  global_count: '(c) => { const all = c.match(/\\d+/g); return all ? Math.min(all.length, 5) / 5 : 0; }',
  dot_and_dollar: '(c) => (/^<think>.*<\\/think>/.test(c) ? 1 : 0) + (/answer>$/.test(c) ? 2 : 0) + (/answer>$/m.test(c) ? 4 : 0)',
  case_insensitive: '(c) => /ANSWER/i.test(c) ? 1 : 0',
  named_group: '(c, p) => { const m = /<answer>\\s*(?<n>-?\\d+)\\s*<\\/answer>/.exec(c); if (m === null) return null; return Number(m.groups.n) === Number(p.answer) ? 1 : 0; }',
  replace_and_numbers: '(c, p) => { const t = c.replace(/,/g, ""); const v = parseInt(t.slice(t.lastIndexOf(">") + 1), 10); return isNaN(v) ? 0 : 1; }',
  utf16_length: '(c) => c.length % 7',
  arithmetic: '(c, p) => { let s = c.split(" ").length * 2 - 3; s = s / 4; return s % 3; }',
  elif_chain: '(c) => { if (c.length > 40) { return 3; } else if (c.includes("<answer>")) { return 2; } else if (!c) return 0; return 1; }',
  fixed: '(c) => Number((c.length / 3).toFixed(2))',
  trims: '(c) => c.trimStart().startsWith("<think>") ? (c.trimEnd().endsWith("</answer>") ? 1 : 0.5) : 0',
  shadowing: '(c, float) => { const len = c.length; const str = NaN; return len > 10 && float.answer && !str ? 1 : 0; }',
  long_chain: '(c, p) => c && p && c.length && p.answer && c.includes("a") && c.includes("n") && c.includes("s") && c.includes("w") && c.includes("e") && c.includes("r") ? 1 : 0',
};
// `isNaN` is a global the translator does not know: it must refuse, not guess.
const REFUSED: Record<string, RegExp> = {
  replace_and_numbers: /isNaN/,
  loop: /statement starting with 'for'/,
  object: /object literal/,
  template: /template string/,
  arrow_inside: /the name 'x'/,
};
const REFUSED_SOURCES: Record<string, string> = {
  replace_and_numbers: FUNCTIONS.replace_and_numbers!,
  loop: '(c) => { let n = 0; for (const x of c) n++; return n; }',
  object: '(c) => ({ a: 1 }).a',
  template: '(c) => `${c}`.length',
  arrow_inside: '(c) => [1, 2].map((x) => x * 2)[0]',
};

const COMPLETIONS = [
  ' First add 3 and 4. </think> <answer>7</answer>',
  '<think> long reasoning 1,234 and 5 </think>\n<answer>1234</answer>\n',
  ' no answer here',
  ' </think> <answer> -12 </answer>',
  '',
  ' ANSWER: 7 🍎🍎 </think> <answer>7</answer>',
  'line one\nanswer>\nline three',
  ' </think> <answer>7</answer> <answer>8</answer>',
];
const PROBLEMS = [
  { id: 'a', task: 'toy-world', question: 'q', answer: '7', difficulty: 2, plan: ['x'] },
  { id: 'b', task: 'jsonl:x', question: 'q', answer: '1234' },
  { id: 'c', task: 'jsonl:x', question: 'q', answer: '-12' },
];

describe('JavaScript rewards to Python', () => {
  it('translates regular expressions with JavaScript’s meaning of ., $, ^, \\d, \\s and named groups', () => {
    expect(translateRegex('a.b$', '')).toEqual({ pattern: 'a[^\\n\\r\\u2028\\u2029]b\\Z', reFlags: '0', global: false });
    expect(translateRegex('a.b$', 'sg').pattern).toBe('a.b\\Z');
    expect(translateRegex('^x', 'm').pattern).toBe('(?:(?<=[\\n\\r\\u2028\\u2029])|\\A)x');
    expect(translateRegex('[\\d.]+\\/(?<n>\\w)', 'i')).toMatchObject({ pattern: '[0-9.]+/(?P<n>[A-Za-z0-9_])', reFlags: 're.I' });
    expect(translateRegex('[\\s\\S]*?', '').pattern).toBe('[\\s\\S]*?');
    expect(() => translateRegex('x', 'y')).toThrow(UntranslatableError);
    expect(() => translateRegex('[^\\D]', '')).toThrow(/inside a character class/);
  });

  it('refuses what it cannot carry over, naming it', () => {
    for (const [name, re] of Object.entries(REFUSED)) expect(() => translateReward(REFUSED_SOURCES[name]!, 'f'), name).toThrow(re);
  });

  it.skipIf(!hasPython())('gives the same values in Python as in JavaScript', () => {
    const translated = Object.entries(FUNCTIONS).filter(([name]) => !(name in REFUSED));
    const code = [
      RUNTIME,
      'import json, sys',
      ...translated.map(([name, src]) => translateReward(src, `fn_${name}`).python),
      `cases = json.loads(sys.stdin.read())`,
      'out = {}',
      ...translated.map(([name]) => `out[${JSON.stringify(name)}] = [js_reward_value("${name}", fn_${name}(c["c"], c["p"]), i) for i, c in enumerate(cases)]`),
      'print(json.dumps(out))',
    ].join('\n');
    const cases = COMPLETIONS.flatMap((c) => PROBLEMS.map((p) => ({ c, p })));
    const got = JSON.parse(execFileSync('python3', ['-c', code], { input: JSON.stringify(cases), encoding: 'utf8' })) as Record<string, (number | null)[]>;
    for (const [name, src] of translated) {
      const fn = new Function(`return (${src});`)() as (c: string, p: unknown) => number | null;
      const want = cases.map(({ c, p }) => fn(c, p));
      expect(got[name], name).toEqual(want);
      // Each function must see more than one outcome on these cases, or agreeing proves little.
      expect(new Set(want).size, name).toBeGreaterThan(1);
    }
  });
});
