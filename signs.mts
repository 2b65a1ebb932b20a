// Diagnostic: on held-out problems with remove steps, how often does the model write a subtraction?
import { loadModel } from './src/core/model/load';
import { generate } from './src/core/model/generate';
import { makeCompleter } from './src/core/probes/completer';
import { createTask } from './src/core/tasks/index';
import { renderPrompt } from './src/core/tasks/prompt';
import { initNodeBackend } from './src/cli/node-webgpu';
import { extractAnswer } from './src/core/rewards/extract';
await initNodeBackend('wasm');
const dir = process.argv[2]!;
const temp = Number(process.argv[3] ?? 0);
const samples = Number(process.argv[4] ?? 1);
const { model, tokenizer } = await loadModel({ kind: 'dir', path: dir });
const complete = makeCompleter(model, tokenizer as any, { generate, maxNewTokens: 160, batchSize: 64 });
const ps = (createTask({ kind: 'toy-world' } as any) as any).probeSet(1234, 96);
const out = await complete(ps.map((p: any) => renderPrompt(p, {})), { temperature: temp, seed: 1, samples });
let minus = 0, plus = 0, correct = 0; const byD = [0,0,0,0,0], nD=[0,0,0,0,0];
ps.forEach((p: any, i: number) => out[i]!.forEach((text) => {
  const ok = extractAnswer(text) === p.answer; if (ok) correct++; byD[p.difficulty]+= ok?1:0; nD[p.difficulty]++;
  minus += (text.match(/\d+ - \d+ =/g) ?? []).length;
  plus += (text.match(/\d+ \+ \d+ =/g) ?? []).length;
}));
const count = (k: string) => samples * ps.reduce((s: number, p: any) => s + p.meta.steps.filter((x: string) => x === k).length, 0);
console.log(JSON.stringify({ dir, temp, acc: +(correct / ps.length / samples).toFixed(3), byD: byD.slice(1).map((c, d) => `${c}/${nD[d+1]}`), removes: count('remove'), adds: count('add'), minusWritten: minus, plusWritten: plus }));
