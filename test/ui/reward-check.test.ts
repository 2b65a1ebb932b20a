import { describe, expect, it } from 'vitest';
import { checkRewardSyntax, findErrorLine, findUnbalancedBracket } from '../../src/ui/reward-check';

describe('reward syntax check in the page', () => {
  it('accepts arrow functions, function expressions and trailing comments', () => {
    expect(checkRewardSyntax('(completion, problem) => completion.includes(problem.answer) ? 1 : 0')).toEqual({ ok: true });
    expect(checkRewardSyntax('function (c, p) {\n  return /<answer>[(]/.test(c) ? 1 : 0;\n}')).toEqual({ ok: true });
    expect(checkRewardSyntax('(c) => 1 // always one')).toEqual({ ok: true });
  });

  it('never runs the code it checks', () => {
    const g = globalThis as { __rewardRan?: boolean };
    delete g.__rewardRan;
    expect(checkRewardSyntax('(globalThis.__rewardRan = true, (c) => 1)')).toEqual({ ok: true });
    expect(checkRewardSyntax('(() => { globalThis.__rewardRan = true; while (true) {} })()')).toEqual({ ok: true });
    expect(g.__rewardRan).toBeUndefined();
  });

  it('points at the line of an error inside balanced brackets', () => {
    const r = checkRewardSyntax('(completion, problem) => {\n  const x = completion.length;\n  return x +;\n}');
    expect(r).toMatchObject({ ok: false, line: 3 });
    // A line that continues on the next one is not blamed.
    expect(findErrorLine('(c, p) => {\n  const y = 1 +\n    2;\n  return y * ;\n}')).toBe(4);
  });

  it('points at an unclosed or stray bracket, ignoring brackets in strings, comments and regexes', () => {
    expect(findUnbalancedBracket('(c) => {\n  const s = "}";\n  // )\n  return /[)]/.test(c);\n')).toEqual({ line: 1, column: 8, message: "'{' is never closed" });
    expect(findUnbalancedBracket('(c) => {\n  return (1));\n}')).toMatchObject({ line: 2, column: 13 });
    const r = checkRewardSyntax('(c) => {\n  return [1, 2;\n}');
    expect(r).toMatchObject({ ok: false, line: 3, column: 1 });
  });

  it('says an empty reward is empty', () => {
    expect(checkRewardSyntax('  ')).toMatchObject({ ok: false, line: 1 });
  });
});
