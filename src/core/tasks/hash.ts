/** FNV-1a, 32 bit: a stable content hash for problem ids and the held-out partition. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export function hashHex(text: string): string {
  return fnv1a(text).toString(16).padStart(8, '0');
}

/**
 * Probe problems are those whose content hash falls in one eighth of the space: training
 * samplers skip them, so the probe set stays unseen however long a run goes.
 */
export function isHeldOut(key: string): boolean {
  return fnv1a(`holdout:${key}`) % 8 === 0;
}
