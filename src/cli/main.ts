/**
 * `tabzero <command> [options]`: each command lives in ./commands/<command>.ts and exports
 * run(argv) → exit code. Typed errors print as one line; anything else prints its stack.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

function commandNames(): string[] {
  try {
    return readdirSync(fileURLToPath(new URL('./commands/', import.meta.url)))
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
      .map((f) => f.slice(0, -3))
      .sort();
  } catch {
    return [];
  }
}

function usage(): string {
  return `usage: tabzero <command> [options]\ncommands: ${commandNames().join(', ')}\nrun "tabzero <command> --help" for a command's options`;
}

interface CommandModule {
  run(argv: string[]): Promise<number>;
}

/** Errors with their own class name are ones a user can act on: print the message alone. */
function isTyped(e: unknown): e is Error {
  return e instanceof Error && e.name !== 'Error' && e.name !== 'TypeError' && e.name !== 'RangeError' && e.name !== 'ReferenceError';
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    (cmd ? console.log : console.error)(usage());
    return cmd ? 0 : 1;
  }
  if (!/^[a-z][a-z0-9-]*$/.test(cmd) || !commandNames().includes(cmd)) {
    console.error(`error: unknown command "${cmd}"\n${usage()}`);
    return 1;
  }
  let mod: CommandModule;
  try {
    mod = (await import(`./commands/${cmd}.ts`)) as CommandModule;
  } catch (e) {
    console.error(`error: command "${cmd}" failed to load: ${(e as Error).message}`);
    return 1;
  }
  try {
    return await mod.run(rest);
  } catch (e) {
    if (isTyped(e)) {
      console.error(`error: ${e.message}`);
    } else {
      console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
    }
    return 1;
  }
}
