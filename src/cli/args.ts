/** A small flag parser shared by the CLI commands: `--name value`, `--name=value`, boolean `--flag`. */

export class ArgsError extends Error {
  override name = 'ArgsError';
}

export type FlagType = 'string' | 'number' | 'int' | 'boolean';

export interface ParsedArgs {
  flags: Map<string, string | number | boolean>;
  positional: string[];
}

export function parseArgs(argv: string[], spec: Record<string, FlagType>, usage = ''): ParsedArgs {
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
    const type = spec[name];
    if (!type) fail(`Unknown option --${name}; options: ${Object.keys(spec).map((k) => `--${k}`).join(', ')}.`);
    if (type === 'boolean') {
      flags.set(name, eq >= 0 ? a.slice(eq + 1) !== 'false' : true);
      continue;
    }
    let raw: string | undefined;
    if (eq >= 0) raw = a.slice(eq + 1);
    else raw = argv[++i];
    if (raw === undefined) fail(`Option --${name} needs a value.`);
    if (type === 'string') flags.set(name, raw!);
    else {
      const v = Number(raw);
      if (!Number.isFinite(v) || (type === 'int' && !Number.isInteger(v))) fail(`Option --${name} needs ${type === 'int' ? 'an integer' : 'a number'}, got "${raw}".`);
      flags.set(name, v);
    }
  }
  return { flags, positional };
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
