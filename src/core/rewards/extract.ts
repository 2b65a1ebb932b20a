/** Reading a model's answer out of its completion, and comparing answers as numbers where they are numbers. */

const ANSWER_RE = /<answer>([\s\S]*?)<\/answer>/g;

/**
 * The text inside the last complete <answer>…</answer>; with no complete pair, the last number
 * in the text; null when there is neither (or the last answer block is empty).
 */
export function extractAnswer(completion: string): string | null {
  const tagged = extractTaggedAnswer(completion);
  if (tagged !== undefined) return tagged;
  const nums = completion.match(/[-+]?\d[\d,]*(?:\.\d+)?/g);
  if (!nums) return null;
  return nums[nums.length - 1]!.replace(/,+$/, '');
}

/** The content of the last complete answer block: undefined if there is none, null if it is empty. */
export function extractTaggedAnswer(completion: string): string | null | undefined {
  let last: string | undefined;
  for (const m of completion.matchAll(ANSWER_RE)) last = m[1];
  if (last === undefined) return undefined;
  // A block that contains another opening tag was two answers with one close: keep the inner one.
  const k = last.lastIndexOf('<answer>');
  const t = (k < 0 ? last : last.slice(k + '<answer>'.length)).trim();
  return t === '' ? null : t;
}

/**
 * A number from answer text tolerant of the ways people write one: " 42 ", "42.0", "1,000",
 * "$5", "5.", "50%", "-3", "1/2", "\frac{1}{2}". Null when the text is not a number.
 */
export function parseNumber(text: string): number | null {
  let t = text.trim().replace(/^\$\s*/, '').replace(/\s*%$/, '').replace(/\.$/, '').trim();
  const frac = /^([-+]?)\\[dt]?frac\{([^{}]+)\}\{([^{}]+)\}$/.exec(t);
  if (frac) t = `${frac[1]}${frac[2]}/${frac[3]}`;
  const ratio = /^([-+]?[\d,]*\.?\d+)\s*\/\s*([\d,]*\.?\d+)$/.exec(t);
  if (ratio) {
    const a = parseNumber(ratio[1]!);
    const b = parseNumber(ratio[2]!);
    return a === null || b === null || b === 0 ? null : a / b;
  }
  // Thousands separators only between digit groups, so "1,2" is not read as 12.
  if (/^[-+]?\d{1,3}(,\d{3})+(\.\d+)?$/.test(t)) t = t.replace(/,/g, '');
  if (!/^[-+]?(\d+(\.\d*)?|\.\d+)(e[-+]?\d+)?$/i.test(t)) return null;
  const v = Number(t);
  return Number.isFinite(v) ? v : null;
}

/** Numeric comparison when both are numbers (relative tolerance 1e-6), else normalised text equality. */
export function answersMatch(pred: string | null | undefined, gold: string): boolean {
  if (pred === null || pred === undefined) return false;
  const a = parseNumber(pred);
  const b = parseNumber(gold);
  if (a !== null && b !== null) return Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));
  if (a !== null || b !== null) return false;
  const norm = (s: string): string => s.trim().replace(/\s+/g, ' ').toLowerCase();
  return norm(pred) !== '' && norm(pred) === norm(gold);
}
