/**
 * The layers of docs/ARCHITECTURE.md, checked on the source: core imports nothing from the worker,
 * the UI or the CLI; the worker nothing from the UI or the CLI; the UI reaches the worker only
 * through its protocol (and the mock worker, which speaks it).
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const SRC = resolve(import.meta.dirname, '../../src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : /\.(ts|tsx)$/.test(name) ? [p] : [];
  });
}

/** Every relative import of a file, as a path under src/ ("worker/protocol", "core/grpo/config", ...). */
function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g)) {
    const spec = m[1] ?? m[2]!;
    out.push(relative(SRC, resolve(dirname(file), spec)).replace(/\\/g, '/'));
  }
  return out;
}

function violations(layer: string, forbidden: RegExp): string[] {
  return files(join(SRC, layer)).flatMap((f) => imports(f).filter((i) => forbidden.test(i)).map((i) => `${relative(SRC, f)} imports ${i}`));
}

describe('layers', () => {
  it('core imports nothing from worker, ui or cli', () => {
    expect(violations('core', /^(worker|ui|cli)\//)).toEqual([]);
  });
  it('the worker imports nothing from ui or cli', () => {
    expect(violations('worker', /^(ui|cli)\//)).toEqual([]);
  });
  it('the UI reaches the worker only through the protocol', () => {
    expect(violations('ui', /^worker\/(?!protocol$)/)).toEqual([]);
  });
});
