/** Running the CLI in this process with its output captured, and the small training setup the CLI tests share. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vi } from 'vitest';
import { main } from '../../src/cli/main';
import { writeTinyModel } from '../fixtures/tiny-model';

export interface CliResult {
  code: number;
  /** Everything written to stderr, one entry per call. */
  errors: string[];
  /** The lines that start with "error" (what the user is told went wrong). */
  errorLines: string[];
}

export async function cli(argv: string[]): Promise<CliResult> {
  const errors: string[] = [];
  const err = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void errors.push(a.map(String).join(' ')));
  const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    const code = await main(argv);
    return { code, errors, errorLines: errors.filter((e) => /^error\b/.test(e)) };
  } finally {
    err.mockRestore();
    log.mockRestore();
    out.mockRestore();
  }
}

/** A directory with a tiny model, a short JSONL task and a config that trains in seconds on cpu. */
export function trainSetup(overrides: Record<string, unknown> = {}): { dir: string; config: string; model: string; out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tabzero-cli-'));
  const model = writeTinyModel('llama');
  writeFileSync(join(dir, 'sums.jsonl'), Array.from({ length: 16 }, (_, i) => JSON.stringify({ question: `${i}+1`, answer: String(i + 1) })).join('\n'));
  writeFileSync(join(dir, 'short.js'), '(completion) => completion.length / 5');
  const cfg = {
    model,
    task: { kind: 'jsonl', path: 'sums.jsonl' },
    rewards: [{ name: 'format', weight: 1 }],
    user_rewards: [{ name: 'short', file: 'short.js', weight: 1 }],
    num_generations: 2,
    prompts_per_step: 2,
    max_completion_length: 4,
    learning_rate: 1e-2,
    max_steps: 3,
    ...overrides,
  };
  const config = join(dir, 'cfg.json');
  writeFileSync(config, JSON.stringify(cfg));
  return { dir, config, model, out: join(dir, 'out') };
}
