/**
 * `tabzero generate --model <dir|url|hub:owner/name> --prompt <text> [--max-new-tokens N]
 *   [--temperature T] [--top-k K] [--top-p P] [--seed S] [--backend cpu|wasm|webgpu] [--raw]`
 * Prints the completion. The prompt goes through the model's chat template unless --raw.
 */
import { ArgsError, parseArgs, str, num, bool, oneOf } from '../args';
import { initNodeBackend } from '../node-webgpu';
import { loadModel, type ModelSource } from '../../core/model/load';
import { generate } from '../../core/model/generate';

const USAGE =
  'usage: tabzero generate --model <dir|url|hub:owner/name> --prompt <text> [--max-new-tokens N] [--temperature T (0 = greedy)] [--top-k K] [--top-p P] [--seed S] [--backend cpu|wasm|webgpu] [--raw]';

export function modelSource(spec: string): ModelSource {
  if (spec.startsWith('hub:')) return { kind: 'hub', repo: spec.slice(4) };
  if (/^https?:\/\//.test(spec)) return { kind: 'url', baseUrl: spec };
  return { kind: 'dir', path: spec };
}

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help')) {
    console.log(USAGE);
    return 0;
  }
  const a = parseArgs(
    argv,
    {
      model: 'string',
      prompt: 'string',
      'max-new-tokens': { type: 'int', min: 1 },
      temperature: { type: 'number', min: 0 },
      'top-k': { type: 'int', min: 0 },
      'top-p': { type: 'number', min: 0, minExclusive: true, max: 1 },
      seed: { type: 'int', min: 0 },
      backend: 'string',
      raw: 'boolean',
    },
    USAGE,
  );
  if (a.positional.length > 0) throw new ArgsError(`unexpected argument "${a.positional[0]}"; every option is --name value (quote a prompt with spaces).`);
  const modelSpec = str(a, 'model');
  const prompt = str(a, 'prompt');
  const backendName = oneOf(a, 'backend', ['cpu', 'wasm', 'webgpu'] as const, 'wasm');
  const backend = await initNodeBackend(backendName);
  if (backend.fallbackReason) console.error(`note: ${backend.fallbackReason}`);
  const { model, tokenizer } = await loadModel(modelSource(modelSpec));
  try {
    const text = bool(a, 'raw') ? prompt : tokenizer.formatPrompt(prompt);
    const ids = tokenizer.encode(text, { addSpecialTokens: true });
    const result = await generate(model, [ids], {
      maxNewTokens: num(a, 'max-new-tokens', 64),
      temperature: num(a, 'temperature', 0),
      topK: num(a, 'top-k', 0),
      topP: num(a, 'top-p', 1),
      seed: num(a, 'seed', 0),
      eosTokenIds: tokenizer.eosTokenIds,
      padTokenId: tokenizer.padTokenId,
    });
    process.stdout.write(tokenizer.decode(result.tokens[0]!, { skipSpecialTokens: true }) + '\n');
    return 0;
  } finally {
    model.dispose();
  }
}
