/**
 * The toy world's fictional knowledge base: what each container holds and how many.
 * Every container holds exactly one kind of thing, so "unpack the crates into jars" names
 * the structure while the count stays a fact the model has to know (or be handed).
 * Counts are deliberately arbitrary: they cannot be guessed from common sense.
 */

export type FactFrequency = 'common' | 'rare';

export interface Noun {
  singular: string;
  plural: string;
}

export interface Fact {
  /** Stable id, e.g. 'crate-jar'. Pretraining scripts key their frequency control on it. */
  id: string;
  container: Noun;
  content: Noun;
  count: number;
  /** How often the pretraining corpus should show it: rare facts are where supplied knowledge can help. */
  frequency: FactFrequency;
}

function noun(singular: string, plural?: string): Noun {
  return { singular, plural: plural ?? `${singular}s` };
}

// [container, content, count, frequency]. Three layers: big -> middle -> small -> items,
// so the longest chain of facts is three (truck -> crate -> jar -> beans).
const TABLE: [Noun, Noun, number, FactFrequency][] = [
  // small containers -> items
  [noun('jar'), noun('bean'), 9, 'common'],
  [noun('bag'), noun('coin'), 7, 'common'],
  [noun('tray'), noun('egg'), 6, 'rare'],
  [noun('bowl'), noun('apple'), 4, 'common'],
  [noun('tin'), noun('button'), 8, 'rare'],
  [noun('pouch', 'pouches'), noun('bead'), 5, 'common'],
  [noun('pot'), noun('seed'), 3, 'rare'],
  [noun('cup'), noun('nut'), 6, 'common'],
  [noun('tub'), noun('stone'), 4, 'rare'],
  [noun('pack'), noun('pen'), 2, 'common'],
  [noun('dish', 'dishes'), noun('grape'), 7, 'rare'],
  [noun('sack'), noun('shell'), 9, 'common'],
  // middle containers -> small containers
  [noun('crate'), noun('jar'), 6, 'common'],
  [noun('chest', 'chests'), noun('bag'), 4, 'rare'],
  [noun('rack'), noun('tray'), 3, 'common'],
  [noun('basket'), noun('bowl'), 5, 'common'],
  [noun('drawer'), noun('tin'), 2, 'rare'],
  [noun('box', 'boxes'), noun('pouch', 'pouches'), 7, 'common'],
  [noun('shelf', 'shelves'), noun('pot'), 8, 'rare'],
  [noun('carton'), noun('cup'), 3, 'common'],
  [noun('barrel'), noun('tub'), 5, 'rare'],
  // big containers -> middle containers
  [noun('truck'), noun('crate'), 4, 'common'],
  [noun('vault'), noun('chest', 'chests'), 3, 'rare'],
  [noun('van'), noun('rack'), 6, 'common'],
  [noun('cart'), noun('basket'), 2, 'rare'],
  [noun('cabinet'), noun('drawer'), 5, 'common'],
  [noun('wagon'), noun('box', 'boxes'), 3, 'common'],
  [noun('shed'), noun('shelf', 'shelves'), 2, 'common'],
];

export const TOY_FACTS: readonly Fact[] = TABLE.map(([container, content, count, frequency]) => ({
  id: `${container.singular}-${content.singular}`,
  container,
  content,
  count,
  frequency,
}));

export const FACT_BY_ID: ReadonlyMap<string, Fact> = new Map(TOY_FACTS.map((f) => [f.id, f]));

/** The fact whose container is `unit` (each container holds one kind of thing), if any. */
export const FACT_BY_CONTAINER: ReadonlyMap<string, Fact> = new Map(TOY_FACTS.map((f) => [f.container.singular, f]));

export const FACT_FREQUENCY: Readonly<Record<string, FactFrequency>> = Object.fromEntries(
  TOY_FACTS.map((f) => [f.id, f.frequency]),
);

export function factFrequency(id: string): FactFrequency {
  const f = FACT_BY_ID.get(id);
  if (!f) throw new Error(`Unknown toy-world fact id '${id}'`);
  return f.frequency;
}

function article(word: string): string {
  return /^[aeiou]/.test(word) ? 'An' : 'A';
}

/** The fact as the sentence the knowledge block and the solution use: "A crate holds 6 jars." */
export function factSentence(f: Fact): string {
  return `${article(f.container.singular)} ${f.container.singular} holds ${f.count} ${f.content.plural}.`;
}

/** Chains of `length` facts, each one's content the next one's container. */
export function factChains(length: number): Fact[][] {
  const out: Fact[][] = [];
  const extend = (chain: Fact[]): void => {
    if (chain.length === length) {
      out.push(chain);
      return;
    }
    const next = FACT_BY_CONTAINER.get(chain[chain.length - 1]!.content.singular);
    if (next) extend([...chain, next]);
  };
  for (const f of TOY_FACTS) extend([f]);
  return out;
}
