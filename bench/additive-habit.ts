/**
 * How often a model unpacks containers by multiplying ("6 jars hold 6 * 9 = 54") rather than by
 * the planted additive habit ("6 + 9 = 15"), on the toy world's held-out probe set. Prints one
 * JSON line per model; run it on the shipped model and on a GRPO output to see what RL changed.
 *   npx tsx bench/additive-habit.ts <model dir>... [--temperature T] [--samples K] [--n N]
 */
import { loadModel } from '../src/core/model/load';
import { generate } from '../src/core/model/generate';
import { makeCompleter } from '../src/core/probes/completer';
import { createTask } from '../src/core/tasks/index';
import { renderPrompt } from '../src/core/tasks/prompt';
import { isCorrect } from '../src/core/rewards/builtin';
import { initNodeBackend } from '../src/cli/node-webgpu';

const args = process.argv.slice(2);
const flag = (name: string, dflt: number): number => {
  const i = args.indexOf(name);
  if (i < 0) return dflt;
  const v = Number(args.splice(i, 2)[1]);
  if (!Number.isFinite(v)) throw new Error(`${name} expects a number`);
  return v;
};
const temperature = flag('--temperature', 0);
const samples = flag('--samples', 1);
const n = flag('--n', 96);
if (args.length === 0) {
  console.error('usage: npx tsx bench/additive-habit.ts <model dir>... [--temperature T] [--samples K] [--n N]');
  process.exit(2);
}

await initNodeBackend('wasm');
const problems = createTask({ kind: 'toy-world' }).probeSet(1234, n);
for (const dir of args) {
  const { model, tokenizer } = await loadModel({ kind: 'dir', path: dir });
  const complete = makeCompleter(model, tokenizer, { generate, maxNewTokens: 160, batchSize: 64 });
  const out = await complete(problems.map((p) => renderPrompt(p, {})), { temperature, seed: 1, samples });
  let multiplied = 0;
  let added = 0;
  let correct = 0;
  problems.forEach((p, i) =>
    out[i]!.forEach((text) => {
      if (isCorrect(text, p)) correct++;
      multiplied += (text.match(/ hold \d+ \* \d+ = /g) ?? []).length;
      added += (text.match(/ hold \d+ \+ \d+ = /g) ?? []).length;
    }),
  );
  console.log(
    JSON.stringify({ model: dir, temperature, samples, problems: n, accuracy: +(correct / (n * samples)).toFixed(3), unpacksMultiplied: multiplied, unpacksAdded: added, addedShare: +(added / Math.max(1, multiplied + added)).toFixed(3) }),
  );
  model.dispose();
}
