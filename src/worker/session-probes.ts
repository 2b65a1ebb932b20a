/** Held-out probes of the current model, run between steps (and once on the base model at Start). */
import { DEFAULT_CONFIG, ConfigError } from '../core/grpo/config';
import { generate } from '../core/model/generate';
import { createTask } from '../core/tasks/index';
import { makeCompleter } from '../core/probes/completer';
import { AVG_K_SAMPLES, AVG_K_TEMPERATURE, runProbes } from '../core/probes/run';
import { yieldToEventLoop } from './yield';
import { StopRequested } from './session-helpers';
import type { SessionContext } from './session-context';

export async function evalProbes(ctx: SessionContext, label?: 'base'): Promise<void> {
  if (!ctx.loaded) throw new ConfigError('model', 'load a model before running probes');
  const task = ctx.task ?? createTask({ kind: 'toy-world' });
  const problems = task.probeSet(ctx.opts.probeSeed ?? 1234, ctx.probeCount ?? ctx.opts.probeCount ?? 24);
  const tok = ctx.loaded.tokenizer;
  const complete = makeCompleter(ctx.loaded.model, tok, {
    generate,
    maxNewTokens: ctx.trainer?.config.max_completion_length ?? DEFAULT_CONFIG.max_completion_length,
    onProgress: async (done, total) => {
      ctx.emit(label ? { type: 'progress', phase: 'probe', done, total, message: label } : { type: 'progress', phase: 'probe', done, total });
      await yieldToEventLoop();
      // Checked between batches: Stop ends a long probe promptly.
      if (ctx.state === 'stopping') throw new StopRequested();
    },
  });
  const step = ctx.trainer?.step ?? 0;
  // Avg@k's samples are seeded per step, so a resumed run measures the same way again.
  const report = await runProbes(
    complete,
    problems,
    ctx.probeMode === 'avg@k' ? { step, mode: 'sampled', samples: AVG_K_SAMPLES, temperature: AVG_K_TEMPERATURE, seed: (ctx.opts.probeSeed ?? 1234) + step } : { step },
  );
  ctx.emit({ type: 'probes', report });
}
