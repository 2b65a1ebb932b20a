import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng';
import { FACT_BY_ID, FACT_FREQUENCY, TOY_FACTS, factChains, factSentence } from '../../src/core/tasks/toy-kb';
import { generateToyProblem, generateToyProblems, isItemFact, slippedTrace, subproblemAsProblem, ToyWorldError } from '../../src/core/tasks/toy-world';
import type { Problem } from '../../src/core/types';

const MANY = generateToyProblems(12345, 4000);

/** Evaluate the "a op b = c" expressions of a solution independently of the generator. */
function evalSolution(solution: string): { ok: boolean; results: number[]; expressions: [number, string, number, number][] } {
  const expressions: [number, string, number, number][] = [];
  for (const m of solution.matchAll(/(-?\d+) ([*+-]) (\d+) = (-?\d+)/g)) {
    expressions.push([Number(m[1]), m[2]!, Number(m[3]), Number(m[4])]);
  }
  let ok = expressions.length > 0;
  for (const [a, op, b, c] of expressions) {
    const v = op === '*' ? a * b : op === '+' ? a + b : a - b;
    if (v !== c) ok = false;
  }
  return { ok, results: expressions.map((e) => e[3]), expressions };
}

describe('knowledge base', () => {
  it('has 20-40 unit facts with unique ids, counts 2..9, both frequency classes', () => {
    expect(TOY_FACTS.length).toBeGreaterThanOrEqual(20);
    expect(TOY_FACTS.length).toBeLessThanOrEqual(40);
    expect(new Set(TOY_FACTS.map((f) => f.id)).size).toBe(TOY_FACTS.length);
    // each container holds one kind of thing, so an unpack sentence names a unique fact
    expect(new Set(TOY_FACTS.map((f) => f.container.singular)).size).toBe(TOY_FACTS.length);
    for (const f of TOY_FACTS) {
      expect(f.count).toBeGreaterThanOrEqual(2);
      expect(f.count).toBeLessThanOrEqual(9);
    }
    const rare = Object.values(FACT_FREQUENCY).filter((x) => x === 'rare').length;
    expect(rare).toBeGreaterThan(5);
    expect(rare).toBeLessThan(TOY_FACTS.length / 2);
    expect(factSentence(FACT_BY_ID.get('crate-jar')!)).toBe('A crate holds 6 jars.');
    expect(factChains(3).length).toBeGreaterThan(5);
    expect(factChains(4).length).toBe(0);
  });
});

describe('toy-world generator', () => {
  it('is deterministic per seed and differs across seeds', () => {
    expect(generateToyProblems(7, 50)).toEqual(generateToyProblems(7, 50));
    const a = generateToyProblems(7, 50).map((p) => p.question);
    const b = generateToyProblems(8, 50).map((p) => p.question);
    expect(a).not.toEqual(b);
  });

  it('covers every difficulty and keeps words short', () => {
    const byLevel = new Map<number, number>();
    for (const p of MANY) byLevel.set(p.difficulty!, (byLevel.get(p.difficulty!) ?? 0) + 1);
    expect([...byLevel.keys()].sort()).toEqual([1, 2, 3, 4]);
    // difficulty is drawn uniformly (the number-size cap's retries must not skew it)
    for (const c of byLevel.values()) expect(Math.abs(c / MANY.length - 0.25)).toBeLessThan(0.03);
    for (const p of MANY) {
      const words = `${p.question} ${p.solution}`.split(/\s+/).length;
      expect(words).toBeLessThanOrEqual(130);
      expect(p.subproblems!.length).toBe(p.difficulty);
      expect(p.plan!.length).toBe(p.difficulty);
    }
  });

  it('every answer equals its subproblem chain and its solution arithmetic (4000 problems)', () => {
    for (const p of MANY) {
      const subs = p.subproblems!;
      expect(subs[subs.length - 1]!.answer).toBe(p.answer);
      // each subproblem's answer feeds the next: it is the starting quantity of the next question
      for (let i = 0; i + 1 < subs.length; i++) {
        expect(subs[i + 1]!.question.startsWith(`${subs[i]!.question.split(' ')[0]} has ${subs[i]!.answer} `)).toBe(true);
      }
      const ev = evalSolution(p.solution!);
      expect(ev.ok, p.solution).toBe(true);
      expect(ev.results.map(String)).toEqual(subs.map((s) => s.answer));
      expect(String(ev.results[ev.results.length - 1])).toBe(p.answer);
      // the first operand of each step is the previous result (or the question's first number)
      const start = Number(/has (\d+) /.exec(p.question)![1]);
      ev.expressions.forEach(([a], i) => expect(a).toBe(i === 0 ? start : ev.results[i - 1]));
      expect(/^\d+$/.test(p.answer)).toBe(true);
      expect(Number(p.answer)).toBeGreaterThanOrEqual(2);
    }
  });

  it('knowledge lists exactly the KB facts used, none of them stated in the question', () => {
    for (const p of MANY) {
      const ids = p.meta!.facts as string[];
      expect(ids.length).toBeGreaterThanOrEqual(1);
      expect(p.knowledge).toEqual(ids.map((id) => factSentence(FACT_BY_ID.get(id)!)));
      expect(p.question).not.toMatch(/holds/);
      // each multiplication in the solution uses a fact's count, recalled right before it
      const muls = evalSolution(p.solution!).expressions.filter((e) => e[1] === '*');
      expect(muls.map((e) => e[2])).toEqual(ids.map((id) => FACT_BY_ID.get(id)!.count));
      for (const k of p.knowledge!) expect(p.solution).toContain(k.slice(0, -1));
      // consecutive facts chain: one's content is the next one's container
      for (let i = 0; i + 1 < ids.length; i++) {
        expect(FACT_BY_ID.get(ids[i]!)!.content.singular).toBe(FACT_BY_ID.get(ids[i + 1]!)!.container.singular);
      }
      // plans carry no results
      for (const step of p.plan!) expect(step).not.toMatch(/\d/);
    }
  });

  it('honours difficulty, withFact and the train/probe split', () => {
    const rng = new Rng(3);
    for (let i = 0; i < 200; i++) {
      const p = generateToyProblem(rng, { difficulty: 4, withFact: 'crate-jar', split: 'train' });
      expect(p.difficulty).toBe(4);
      expect(p.meta!.facts).toContain('crate-jar');
      expect(p.meta!.heldOut).toBe(false);
    }
    const probes = generateToyProblems(1, 200, { split: 'probe' });
    expect(probes.every((p) => p.meta!.heldOut === true)).toBe(true);
    const train = new Set(generateToyProblems(2, 3000, { split: 'train' }).map((p) => p.meta!.contentKey));
    expect(probes.some((p) => train.has(p.meta!.contentKey))).toBe(false);
    // about one in eight problems is held out
    const frac = MANY.filter((p) => p.meta!.heldOut).length / MANY.length;
    expect(frac).toBeGreaterThan(0.08);
    expect(frac).toBeLessThan(0.17);
  });

  it('rejects bad options with typed errors', () => {
    expect(() => generateToyProblem(new Rng(1), { difficulty: 5 })).toThrow(ToyWorldError);
    expect(() => generateToyProblem(new Rng(1), { withFact: 'nope' })).toThrow(/Unknown toy-world fact/);
    // a fact nothing contains cannot appear in a chain of two or more facts
    expect(() => generateToyProblem(new Rng(1), { difficulty: 4, withFact: 'truck-crate' })).not.toThrow();
    // nothing holds packs, so pack-pen only appears in one-fact chains: not at difficulty 4
    expect(() => generateToyProblem(new Rng(1), { difficulty: 4, withFact: 'pack-pen' })).toThrow(ToyWorldError);
    const rng = new Rng(5);
    for (let i = 0; i < 100; i++) expect(generateToyProblem(rng, { withFact: 'pack-pen' }).difficulty).toBeLessThanOrEqual(3);
  });

  it('turns a subproblem into a self-contained problem', () => {
    const p = MANY.find((q) => q.difficulty === 3) as Problem;
    const s = subproblemAsProblem(p, 1);
    expect(s.question).toBe(p.subproblems![1]!.question);
    expect(s.answer).toBe(p.subproblems![1]!.answer);
    expect(() => subproblemAsProblem(p, 3)).toThrow(ToyWorldError);
  });

  it('keeps every number small enough for a tiny model (steps of 2..9, values at most 200)', () => {
    for (const p of MANY) {
      const values = p.meta!.values as number[];
      expect(Math.max(...values)).toBeLessThanOrEqual(p.difficulty! <= 2 ? 100 : p.difficulty === 3 ? 150 : 200);
      for (const [, op, b] of evalSolution(p.solution!).expressions) if (op !== '*') expect(b).toBeLessThanOrEqual(9);
      expect(values[0]).toBeLessThanOrEqual(9);
      expect(values[0]).toBeGreaterThanOrEqual(2);
    }
  });
});

describe('slipped traces (the planted additive misconception)', () => {
  const itemUnpacks = (p: Problem) => (p.meta!.facts as string[]).filter((id) => isItemFact(FACT_BY_ID.get(id)!)).length;

  it('at rate 0 is the reference solution, word for word', () => {
    const rng = new Rng(3);
    for (const p of MANY.slice(0, 1000)) {
      expect(slippedTrace(p, 0, rng)).toEqual({ solution: p.solution, answer: p.answer, slips: 0 });
    }
  });

  it('only the smallest containers (into items) are slipped: 12 facts', () => {
    const items = TOY_FACTS.filter(isItemFact);
    expect(items.map((f) => f.container.singular)).toEqual(['jar', 'bag', 'tray', 'bowl', 'tin', 'pouch', 'pot', 'cup', 'tub', 'pack', 'dish', 'sack']);
  });

  it('at rate 1 adds at every unpack into items and carries the wrong value on with correct arithmetic', () => {
    const rng = new Rng(3);
    let slipped = 0;
    for (const p of MANY) {
      const t = slippedTrace(p, 1, rng);
      expect(t.slips).toBe(itemUnpacks(p));
      const ev = evalSolution(t.solution);
      expect(ev.ok, t.solution).toBe(true);
      const factOps = (p.meta!.facts as string[]).map((id) => (isItemFact(FACT_BY_ID.get(id)!) ? '+' : '*'));
      const ops = (p.meta!.steps as string[]).map((k) => (k === 'unpack' ? factOps.shift()! : k === 'add' ? '+' : '-'));
      expect(ev.expressions.map((e) => e[1])).toEqual(ops);
      expect(String(ev.results[ev.results.length - 1])).toBe(t.answer);
      // the fact is still recalled right: only the operation is wrong
      for (const k of p.knowledge!) expect(t.solution).toContain(k.slice(0, -1));
      if (t.slips > 0) slipped++;
      else expect(t.solution).toBe(p.solution);
    }
    expect(slipped).toBeGreaterThan(1500);
  });

  it('slips each unpack into items with the given probability', () => {
    const rng = new Rng(9);
    let slips = 0;
    let eligible = 0;
    for (const p of MANY) {
      slips += slippedTrace(p, 0.6, rng).slips;
      eligible += itemUnpacks(p);
    }
    expect(eligible).toBeGreaterThan(1500);
    expect(Math.abs(slips / eligible - 0.6)).toBeLessThan(0.03);
  });

  it('refuses a problem without toy-world step metadata', () => {
    expect(() => slippedTrace({ id: 'x', task: 'jsonl:x', question: 'q', answer: '1' }, 0.5, new Rng(1))).toThrow(ToyWorldError);
  });
});
