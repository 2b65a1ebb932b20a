import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng';
import { parseExpression, ArithError } from '../../src/core/tasks/arith';
import { checkCountdown, generateCountdownProblem, readCountdownMeta } from '../../src/core/tasks/countdown';

describe('arith parser', () => {
  it('evaluates with precedence, parentheses and unary minus', () => {
    expect(parseExpression('2 + 3 * 4').value).toBe(14);
    expect(parseExpression('(2 + 3) * 4').value).toBe(20);
    expect(parseExpression('10 / 4 - -1').value).toBe(3.5);
    expect(parseExpression('(44 - 19) * 4').numbers).toEqual([44, 19, 4]);
  });
  it('rejects malformed input and division by zero', () => {
    for (const bad of ['2 +', '(1 + 2', '1 / 0', 'abc', '2 3', 'Math.max(1)', '']) {
      expect(() => parseExpression(bad), bad).toThrow(ArithError);
    }
  });
});

describe('countdown', () => {
  it('generates solvable problems whose reference equation checks', () => {
    const rng = new Rng(11);
    for (let i = 0; i < 500; i++) {
      const p = generateCountdownProblem(rng);
      const meta = readCountdownMeta(p)!;
      expect(meta.numbers.length === 3 || meta.numbers.length === 4).toBe(true);
      expect(meta.target).toBeGreaterThanOrEqual(1);
      expect(meta.target).toBeLessThanOrEqual(100);
      expect(checkCountdown(p.answer, meta).ok, p.answer).toBe(true);
      expect(p.question).toContain(`equals ${meta.target}`);
    }
  });
  it('checks hand-written equations', () => {
    const meta = { numbers: [44, 19, 35], target: 98 };
    expect(checkCountdown('44 + 19 + 35', meta)).toMatchObject({ ok: true });
    expect(checkCountdown('(44 + 19) + 35 = 98', meta)).toMatchObject({ ok: true });
    expect(checkCountdown('44 + 19 + 35 = 97', meta)).toMatchObject({ ok: false, reason: 'wrong-value' });
    expect(checkCountdown('44 + 54', meta)).toMatchObject({ ok: false, reason: 'wrong-numbers' });
    expect(checkCountdown('44 + 19 + 35 + 0', meta)).toMatchObject({ ok: false, reason: 'wrong-numbers' });
    expect(checkCountdown('44 + 19 + 19 + 16', meta)).toMatchObject({ ok: false, reason: 'wrong-numbers' });
    expect(checkCountdown('44 * 19 - 35', meta)).toMatchObject({ ok: false, reason: 'wrong-value', value: 801 });
    expect(checkCountdown('ninety eight', meta)).toMatchObject({ ok: false, reason: 'unparseable' });
    expect(checkCountdown('1 = 2 = 3', meta)).toMatchObject({ ok: false, reason: 'unparseable' });
    expect(checkCountdown('(8 / 3) * 3', { numbers: [8, 3, 3], target: 8 })).toMatchObject({ ok: true });
  });
});
