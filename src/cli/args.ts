/** A small flag parser shared by the CLI commands: `--name value`, `--name=value`, boolean `--flag`. */

export class ArgsError extends Error {
  override name = 'ArgsError';
}

export type FlagType = 'string' | 'number' | 'int' | 'boolean';

/** A numeric flag with its allowed range (inclusive unless said otherwise). */
export interface NumberFlag {
  type: 'number' | 'int';
  min?: number;
  max?: number;
  /** The minimum itself is not allowed (e.g. top-p > 0). */
  minExclusive?: boolean;
}

export type FlagSpec = FlagType | NumberFlag;

export interface ParsedArgs {
  flags: Map<string, string | number | boolean>;
  positional: string[];
}

export function parseArgs(argv: string[], spec: Record<string, FlagSpec>, usage = ''): ParsedArgs {
  const flags = new Map<string, string | number | boolean>();
  const positional: string[] = [];
  const fail = (msg: string): never => {
    throw new ArgsError(usage ? `${msg}\n${usage}` : msg);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = a.slice(2, eq >= 0 ? eq : undefined);
    const flagSpec = spec[name];
    if (!flagSpec) fail(`Unknown option --${name}; options: ${Object.keys(spec).map((k) => `--${k}`).join(', ')}.`);
    const type = typeof flagSpec === 'string' ? flagSpec : flagSpec!.type;
    if (type === 'boolean') {
      flags.set(name, eq >= 0 ? a.slice(eq + 1) !== 'false' : true);
      continue;
    }
    let raw: string | undefined;
    if (eq >= 0) raw = a.slice(eq + 1);
    else raw = argv[++i];
    if (raw === undefined) fail(`Option --${name} needs a value.`);
    // "--out --resume" would otherwise train into a folder named "--resume".
    if (eq < 0 && /^--[a-z]/i.test(raw!)) fail(`Option --${name} needs a value, but the next argument is the option ${raw}; give --${name} a value first (or write --${name}=${raw} if you mean that literally).`);
    if (type === 'string') {
      if (raw === '') fail(`Option --${name} needs a non-empty value.`);
      flags.set(name, raw!);
    } else {
      const v = raw!.trim() === '' ? NaN : Number(raw);
      if (!Number.isFinite(v) || (type === 'int' && !Number.isInteger(v))) fail(`Option --${name} needs ${type === 'int' ? 'an integer' : 'a number'}, got "${raw}".`);
      if (typeof flagSpec === 'object') {
        const { min, max, minExclusive } = flagSpec;
        const low = min !== undefined && (minExclusive ? v <= min : v < min);
        if (low || (max !== undefined && v > max)) fail(`Option --${name} must be ${rangeText(flagSpec)}, got ${raw}.`);
      }
      flags.set(name, v);
    }
  }
  return { flags, positional };
}

function rangeText(f: NumberFlag): string {
  const kind = f.type === 'int' ? 'an integer' : 'a number';
  const lo = f.min === undefined ? '' : `${f.minExclusive ? '>' : '≥'} ${f.min}`;
  const hi = f.max === undefined ? '' : `≤ ${f.max}`;
  return `${kind} ${[lo, hi].filter(Boolean).join(' and ')}`.trim();
}

export function str(a: ParsedArgs, name: string, fallback?: string): string {
  const v = a.flags.get(name);
  if (typeof v === 'string') return v;
  if (fallback !== undefined) return fallback;
  throw new ArgsError(`Option --${name} is required.`);
}

export function num(a: ParsedArgs, name: string, fallback: number): number {
  const v = a.flags.get(name);
  return typeof v === 'number' ? v : fallback;
}

export function bool(a: ParsedArgs, name: string): boolean {
  return a.flags.get(name) === true;
}

export function oneOf<T extends string>(a: ParsedArgs, name: string, choices: readonly T[], fallback: T): T {
  const v = a.flags.get(name);
  if (v === undefined) return fallback;
  if (typeof v === 'string' && (choices as readonly string[]).includes(v)) return v as T;
  throw new ArgsError(`Option --${name} must be one of ${choices.join(', ')} (got "${String(v)}").`);
}
