/**
 * `tabzero logits --model <dir|url|hub:owner/name> --text <text> [--backend cpu|wasm|webgpu]`
 * Prints {"ids": [...], "logits": [[...], ...]}: the ids as the model's tokenizer encodes the text
 * (special tokens added) and the logits at every position. For comparing against Python transformers.
 */
import { parseArgs, str, oneOf } from '../args';
import { initNodeBackend } from '../node-webgpu';
import { loadModel } from '../../core/model/load';
import { modelSource } from './generate';

const USAGE = 'usage: tabzero logits --model <dir|url|hub:owner/name> --text <text> [--backend cpu|wasm|webgpu]';

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help')) {
    console.log(USAGE);
    return 0;
  }
  const a = parseArgs(argv, { model: 'string', text: 'string', backend: 'string' }, USAGE);
  const modelSpec = str(a, 'model');
  const text = str(a, 'text');
  await initNodeBackend(oneOf(a, 'backend', ['cpu', 'wasm', 'webgpu'] as const, 'cpu'));
  const { model, tokenizer } = await loadModel(modelSource(modelSpec));
  try {
    const ids = tokenizer.encode(text, { addSpecialTokens: true });
    const T = ids.length;
    const { logits } = model.forward({
      ids: Int32Array.from(ids),
      batch: 1,
      length: T,
      positions: Int32Array.from(ids.keys()),
      attentionMask: new Int32Array(T).fill(1),
    });
    const data = await logits.data();
    logits.dispose();
    const V = model.config.vocabSize;
    const rows: number[][] = [];
    for (let t = 0; t < T; t++) rows.push(Array.from(data.subarray(t * V, (t + 1) * V)));
    process.stdout.write(JSON.stringify({ ids, logits: rows }) + '\n');
    return 0;
  } finally {
    model.dispose();
  }
}
