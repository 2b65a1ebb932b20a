/** Small pieces of the training session that need no session state. */
import { Rng } from '../core/rng';
import type { Task } from '../core/tasks/index';
import type { PromptRenderer, TextTokenizer } from '../core/grpo/trainer';
import type { BackendName } from './protocol';

/** Thrown between probe batches when the user pressed Stop. */
export class StopRequested extends Error {
  override name = 'StopRequested';
  constructor() {
    super('stopped');
  }
}

/**
 * The longest prompt, in tokens, among a sample of the task's problems (at the deepest scaffold
 * level when scaffolding is on): the update pads every row to it.
 */
export function longestPrompt(task: Task, render: PromptRenderer, tok: TextTokenizer, scaffold: boolean, n = 128): number {
  let longest = 1;
  for (const p of task.sample(new Rng(0x5eed), n)) {
    const text = render(p, scaffold && p.solution ? { scaffoldLevel: 4 } : {});
    longest = Math.max(longest, tok.encode(text).length);
  }
  return longest;
}

/** The out-of-memory message, with the concrete micro_batch_size to set when it is known. */
export function outOfMemoryMessage(backend: BackendName, used: number | null, suggested: number | null): string {
  const where = backend === 'wasm' ? 'The wasm backend' : `The ${backend} backend`;
  const fix =
    used !== null && suggested !== null
      ? `Set micro_batch_size to ${suggested} (this step used ${used} completions per backward pass) and press Start again`
      : 'Lower micro_batch_size, prompts_per_step × num_generations or max_completion_length and press Start again';
  return `${where} ran out of memory in this step. ${fix}; the backend and the model are reloaded first (Resume continues from the last checkpoint).`;
}
