/**
 * The pretraining corpus: training partition only, the difficulty mix it claims, and the planted
 * additive misconception at its stated rate with every other trace the reference one.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng';
import { DEFAULT_CORPUS, sampleExample, usesRareFact } from '../../src/core/pretrain/corpus';
import { FACT_BY_ID } from '../../src/core/tasks/toy-kb';
import { isItemFact } from '../../src/core/tasks/toy-world';
import { renderTarget } from '../../src/core/tasks/prompt';

const N = 3000;
const examples = (() => {
  const rng = new Rng(2024);
  return Array.from({ length: N }, () => sampleExample(rng));
})();

describe('pretraining corpus', () => {
  it('never contains a held-out problem and follows the difficulty weights', () => {
    expect(examples.every((e) => e.problem.meta!.heldOut === false)).toBe(true);
    const counts = [1, 2, 3, 4].map((d) => examples.filter((e) => e.problem.difficulty === d).length / N);
    // rare-fact rejection removes more long problems (more facts each), so only roughly the weights
    counts.forEach((c, i) => expect(Math.abs(c - DEFAULT_CORPUS.difficultyWeights[i]!)).toBeLessThan(0.08));
    const rare = examples.filter((e) => usesRareFact(e.problem)).length / N;
    expect(rare).toBeGreaterThan(0.02);
    expect(rare).toBeLessThan(0.15);
  });

  it(`writes unpacks into items as additions at rate ${DEFAULT_CORPUS.additiveSlipRate}, everything else as the reference`, () => {
    let itemUnpacks = 0;
    let added = 0;
    for (const e of examples) {
      const facts = (e.problem.meta!.facts as string[]).map((id) => FACT_BY_ID.get(id)!);
      itemUnpacks += facts.filter(isItemFact).length;
      const slips = (e.target.match(/ hold -?\d+ \+ \d+ = /g) ?? []).length;
      added += slips;
      if (slips === 0) expect(e.target).toBe(renderTarget(e.problem));
      else expect(e.target).not.toBe(renderTarget(e.problem));
      // only unpacks into items ever slip
      for (const m of e.target.matchAll(/A (\w+) holds \d+ \w+, so -?\d+ \w+ hold -?\d+ \+/g)) {
        const fact = facts.find((f) => f.container.singular === m[1]);
        expect(fact && isItemFact(fact), m[0]).toBe(true);
      }
    }
    expect(itemUnpacks).toBeGreaterThan(1000);
    expect(Math.abs(added / itemUnpacks - DEFAULT_CORPUS.additiveSlipRate)).toBeLessThan(0.04);
  });
});
