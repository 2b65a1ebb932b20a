import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng';
import { createTask, jsonlTask } from '../../src/core/tasks/index';
import { JsonlError, lastBoxed, parseJsonl } from '../../src/core/tasks/jsonl';

const GSM8K = [
  JSON.stringify({
    question: 'Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. How many clips did Natalia sell altogether in April and May?',
    answer: 'Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nNatalia sold 48+24 = <<48+24=72>>72 clips altogether in April and May.\n#### 72',
  }),
  '',
  JSON.stringify({ question: 'Weng earns $12 an hour. How much for 50 minutes?', answer: 'Weng earns 12/60 = $<<12/60=0.2>>0.2 per minute.\n#### 10' }),
].join('\n');

describe('parseJsonl', () => {
  it('loads a GSM8K-style file', () => {
    const ps = parseJsonl(GSM8K, 'gsm8k');
    expect(ps).toHaveLength(2);
    expect(ps[0]!.answer).toBe('72');
    expect(ps[0]!.solution).toBe('Natalia sold 48/2 = 24 clips in May.\nNatalia sold 48+24 = 72 clips altogether in April and May.');
    expect(ps[0]!.task).toBe('jsonl:gsm8k');
    expect(ps[1]!.answer).toBe('10');
  });
  it('accepts the other field names and the optional annotations', () => {
    const line = JSON.stringify({ prompt: 'p?', solution: 'so \\boxed{\\frac{1}{2}}', plan: ['a', 'b'], knowledge: 'k', subproblems: [{ question: 's?', answer: 3 }], difficulty: '2', id: 7 });
    const [p] = parseJsonl(line);
    expect(p).toEqual({ id: '7', task: 'jsonl:data', question: 'p?', answer: '\\frac{1}{2}', solution: 'so \\boxed{\\frac{1}{2}}', plan: ['a', 'b'], knowledge: ['k'], subproblems: [{ question: 's?', answer: '3' }], difficulty: 2 });
    expect(parseJsonl('{"problem": "x", "answer": 5}')[0]!.answer).toBe('5');
    expect(lastBoxed('a \\boxed{1} b \\boxed{{2}}')).toBe('{2}');
  });
  it('gives line-numbered typed errors', () => {
    const cases: [string, RegExp][] = [
      ['{"question": "a", "answer": "1"}\n{not json}', /^Line 2: not valid JSON/],
      ['{"question": "a", "answer": "1"}\n\n[1, 2]', /^Line 3: each line must be a JSON object/],
      ['{"answer": "1"}', /^Line 1: no question/],
      ['{"question": "a"}', /^Line 1: no answer/],
      ['{"question": "a", "solution": "no final line"}', /^Line 1: no answer/],
      ['{"question": ["a"], "answer": "1"}', /^Line 1: field "question" must be a string/],
      ['{"question": "a", "answer": "1", "plan": 3}', /^Line 1: field "plan"/],
      ['{"question": "a", "answer": "1", "subproblems": [{"question": "b"}]}', /^Line 1: subproblems\[0\]/],
      ['{"question": "a", "answer": "1", "difficulty": "hard"}', /^Line 1: field "difficulty"/],
      ['\n\n', /no problems/],
    ];
    for (const [text, re] of cases) {
      let err: unknown;
      try {
        parseJsonl(text);
      } catch (e) {
        err = e;
      }
      expect(err, text).toBeInstanceOf(JsonlError);
      expect((err as Error).message, text).toMatch(re);
    }
    try {
      parseJsonl('{"question": "a", "answer": "1"}\n{');
    } catch (e) {
      expect((e as JsonlError).line).toBe(2);
    }
  });
});

describe('task registry', () => {
  it('toy world: probe set is fixed and disjoint from training samples', () => {
    const task = createTask({ kind: 'toy-world' });
    const probes = task.probeSet(42, 200);
    expect(probes).toHaveLength(200);
    expect(new Set(probes.map((p) => p.id)).size).toBe(200);
    expect(task.probeSet(42, 200)).toEqual(probes);
    const train = task.sample(new Rng(1), 5000);
    const probeKeys = new Set(probes.map((p) => p.meta!.contentKey));
    expect(train.filter((p) => probeKeys.has(p.meta!.contentKey))).toHaveLength(0);
    expect(createTask({ kind: 'toy-world', difficulty: 2 }).sample(new Rng(2), 50).every((p) => p.difficulty === 2)).toBe(true);
    expect(() => createTask({ kind: 'toy-world', difficulty: 9 })).toThrow(/difficulty/);
  });
  it('countdown: probe set disjoint from training samples', () => {
    const task = createTask({ kind: 'countdown' });
    const probeKeys = new Set(task.probeSet(1, 100).map((p) => p.meta!.contentKey));
    expect(task.sample(new Rng(3), 2000).some((p) => probeKeys.has(p.meta!.contentKey))).toBe(false);
  });
  it('jsonl: holds out an eighth, independent of line order, never sampled', () => {
    const lines = Array.from({ length: 40 }, (_, i) => JSON.stringify({ question: `q${i}`, answer: String(i) }));
    const a = createTask({ kind: 'jsonl', name: 'd', text: lines.join('\n') });
    const b = createTask({ kind: 'jsonl', name: 'd', text: [...lines].reverse().join('\n') });
    const held = a.probeSet(0, 100).map((p) => p.question).sort();
    expect(held).toHaveLength(5);
    expect(b.probeSet(0, 100).map((p) => p.question).sort()).toEqual(held);
    const sampled = new Set(a.sample(new Rng(1), 500).map((p) => p.question));
    expect(sampled.size).toBe(35);
    for (const q of held) expect(sampled.has(q)).toBe(false);
    expect(createTask({ kind: 'jsonl', name: 'g', text: GSM8K }).probeSet(0, 5)).toHaveLength(1);
    expect(() => jsonlTask('one', parseJsonl('{"question": "a", "answer": "1"}'))).toThrow(/at least 2/);
  });
});
