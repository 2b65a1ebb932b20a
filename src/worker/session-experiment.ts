/**
 * Experiments in the session: a named recipe run end to end on the loaded model's weights, with
 * progress events, the result after every arm (stored, so a reload lists it), and Stop between
 * chunks of work. The session's own model and training run are left as they were: the recipe
 * trains copies of the weights, and a training run must be stopped before an experiment starts.
 */
import type { Command, ExperimentRecord, WorkerEvent } from './protocol';
import { exportModel } from '../core/model/load';
import { runExperiment, type ExperimentResult } from '../core/experiments/runner';
import { summarise, tableMarkdown } from '../core/experiments/table';
import { experimentSvg } from '../core/experiments/plot';
import { isBackendAbort } from '../core/backend-recover';
import { RewardError } from '../core/rewards/runner';
import { ConfigError } from '../core/grpo/config';
import type { ExperimentStore, StoredExperiment } from './experiment-store';
import { StopRequested } from './session-helpers';
import { loadFrom, recover } from './session-model';
import { yieldToEventLoop } from './yield';
import type { SessionContext } from './session-context';

type StartCommand = Extract<Command, { type: 'experimentStart' }>;

function store(ctx: SessionContext): ExperimentStore | null {
  return ctx.env.experiments ?? null;
}

/** The command line that runs the same recipe and size from a terminal. */
export function cliCommand(cmd: StartCommand, backend: string | undefined): string {
  const s = cmd.size;
  return `npx tabzero experiment ${cmd.name} --out runs/${cmd.name} --seeds ${s.seeds} --steps ${s.steps}${s.stage2Steps > 0 ? ` --stage2-steps ${s.stage2Steps}` : ''} --probe-n ${s.probeN} --samples ${s.samples}${backend ? ` --backend ${backend}` : ''}`;
}

export function toRecord(e: StoredExperiment, command?: string): ExperimentRecord {
  return { ...e, table: summarise(e.result), svg: experimentSvg(e.result), markdown: tableMarkdown(e.result, command) };
}

/** Why an experiment cannot start now, in words; null when it can. */
export function refusal(ctx: SessionContext): { code: 'busy' | 'not-loaded'; message: string } | null {
  if (ctx.experiment) return { code: 'busy', message: `The experiment '${ctx.experiment.name}' is running; stop it first (its finished arms are kept).` };
  if (ctx.state === 'running' || ctx.state === 'paused' || ctx.state === 'stopping')
    return {
      code: 'busy',
      message: `A training run is ${ctx.state === 'paused' ? 'paused' : ctx.state === 'stopping' ? 'stopping' : 'running'}. Stop it first (its checkpoint is kept): an experiment trains its own copies of the model, and both at once would share the CPU and the memory.`,
    };
  if (ctx.state === 'loading') return { code: 'busy', message: 'The model is still loading; start the experiment once it has loaded.' };
  if (!ctx.loaded || !ctx.source) return { code: 'not-loaded', message: 'Load a model before running an experiment.' };
  return null;
}

/** The weights the recipe starts from: the model as loaded, not as a training run changed it. */
export async function baseFiles(ctx: SessionContext): Promise<Map<string, Uint8Array>> {
  if (ctx.broken) await recover(ctx);
  const loaded = ctx.loaded!;
  if (!ctx.weightsChanged) return exportModel(loaded.model, loaded.files);
  const fresh = await loadFrom(ctx, ctx.source!);
  try {
    return await exportModel(fresh.model, fresh.files);
  } finally {
    fresh.model.dispose();
  }
}

async function findStored(ctx: SessionContext, id: string): Promise<StoredExperiment | null> {
  const mine = ctx.experimentCopies.get(id);
  if (mine) return mine;
  const s = store(ctx);
  return (s ? (await s.list()).experiments.find((e) => e.id === id) : undefined) ?? null;
}

export async function listExperiments(ctx: SessionContext): Promise<void> {
  const s = store(ctx);
  let stored: StoredExperiment[] = [...ctx.experimentCopies.values()];
  if (s) {
    try {
      const r = await s.list();
      // The page's copy wins: it is never older than the store's, and it has runs full storage refused.
      stored = [...r.experiments.filter((e) => !ctx.experimentCopies.has(e.id)), ...stored];
      if (r.skipped.length > 0) ctx.emit({ type: 'log', level: 'warn', message: `Skipped stored experiment files that do not parse: ${r.skipped.join(', ')}.` });
    } catch (e) {
      ctx.emit({ type: 'log', level: 'warn', message: `Could not read the stored experiments (${(e as Error).message}).` });
    }
  }
  const records = stored
    // A run left 'running' by a closed or reloaded page ended there, with the arms it had finished.
    .map((e) => (e.status === 'running' && e.id !== ctx.experiment?.id ? { ...e, status: 'stopped' as const, error: 'interrupted: the page was closed or reloaded while it ran' } : e))
    .sort((a, b) => b.result.started.localeCompare(a.result.started))
    .flatMap((e) => {
      // A file of a recipe this version does not have (renamed, or a later version's) is skipped, not fatal.
      try {
        return [toRecord(e)];
      } catch (err) {
        ctx.emit({ type: 'log', level: 'warn', message: `Skipped the stored experiment ${e.id}: ${(err as Error).message}` });
        return [];
      }
    });
  ctx.emit({ type: 'experiments', records });
}

export async function deleteExperiment(ctx: SessionContext, id: string): Promise<void> {
  if (ctx.experiment?.id === id) {
    ctx.emit({ type: 'error', code: 'busy', message: 'This experiment is running; stop it before deleting it.' });
    return;
  }
  ctx.experimentCopies.delete(id);
  await store(ctx)?.remove(id);
  await listExperiments(ctx);
}

/**
 * Runs the experiment the command names. Called with ctx.experiment already set (so commands that
 * would touch the model are refused meanwhile); clears it when the run ends, however it ends.
 */
export async function runExperimentCommand(ctx: SessionContext, cmd: StartCommand): Promise<void> {
  const mine = ctx.experiment!;
  const id = mine.id;
  // Before the final record goes out: a Continue or Run sent as soon as it arrives must be accepted.
  const release = (): void => {
    if (ctx.experiment === mine) ctx.experiment = null;
  };
  const command = cliCommand(cmd, ctx.backend?.name);
  let last: StoredExperiment | null = null;
  let storeWarned = false;
  const persist = async (e: StoredExperiment): Promise<void> => {
    last = e;
    ctx.experimentCopies.set(e.id, e);
    const s = store(ctx);
    if (s) {
      try {
        await s.put(e);
      } catch (err) {
        // The result stays in the page (and downloadable); only the copy that outlives a reload is missing.
        if (!storeWarned) ctx.emit({ type: 'log', level: 'warn', message: `The experiment could not be stored in browser storage (${(err as Error).message}); download its files before closing the page.` });
        storeWarned = true;
      }
    }
    ctx.emit({ type: 'experiment', record: toRecord(e, command) });
  };
  let lastProgress = 0;
  let lastKey = '';
  try {
    const previous = cmd.continueId ? await findStored(ctx, cmd.continueId) : null;
    if (cmd.continueId && !previous) throw new Error(`there is no stored experiment '${cmd.continueId}' to continue.`);
    if (previous) last = previous;
    const files = await baseFiles(ctx);
    const s = cmd.size;
    const result = await runExperiment(
      cmd.name,
      {
        seeds: Array.from({ length: s.seeds }, (_, i) => i + 1),
        steps: s.steps,
        stage2Steps: s.stage2Steps,
        probeN: s.probeN,
        probeSamples: s.samples,
        ...(cmd.grpo ? { grpo: cmd.grpo as ExperimentResult['settings']['grpo'] } : {}),
        ...(previous ? { previous: previous.result } : {}),
      },
      {
        baseFiles: files,
        ...(cmd.task ? { task: cmd.task } : {}),
        ...(ctx.backend ? { backend: ctx.backend.name } : {}),
        log: (message) => ctx.emit({ type: 'log', level: 'info', message }),
        // A copy: the runner keeps adding to its result, and events and the store must hold this moment's.
        // The complete result goes out once the run has let go of the session (below).
        onProgress: (r) => (r.complete ? undefined : persist({ id, status: 'running', result: JSON.parse(JSON.stringify(r)) as ExperimentResult })),
        onPhase: async (phase) => {
          const key = `${phase.arm}/${phase.seed}/${phase.phase}/${phase.done}`;
          const t = performance.now();
          if (key !== lastKey || t - lastProgress > 250) {
            ctx.emit({ type: 'experimentProgress', id, phase });
            lastKey = key;
            lastProgress = t;
          }
          await yieldToEventLoop();
          if (ctx.experiment?.stop) throw new StopRequested();
        },
      },
    );
    release();
    await persist({ id, status: 'complete', result: JSON.parse(JSON.stringify(result)) as ExperimentResult });
    ctx.emit({ type: 'log', level: 'info', message: `Experiment ${cmd.name} finished.` });
  } catch (e) {
    const stopped = e instanceof StopRequested;
    let message = e instanceof Error ? e.message : String(e);
    let code: Extract<WorkerEvent, { type: 'error' }>['code'] = 'internal';
    if (isBackendAbort(e)) {
      // The backend and the session's model are made anew before the next run or experiment.
      ctx.broken = true;
      code = 'out-of-memory';
      const again = last ? 'Press Continue to run the rest with the same settings, or start it again' : 'Start it again';
      message = `the ${ctx.backend?.name ?? 'wasm'} backend ran out of memory. ${again} with fewer probe problems or samples (the quick size); the backend and the model are made anew first.`;
    } else if (e instanceof RewardError) code = 'reward';
    else if (e instanceof ConfigError) code = 'config';
    release();
    const prev: StoredExperiment | null = last;
    if (prev) await persist({ id, status: stopped ? 'stopped' : 'failed', ...(stopped ? {} : { error: message }), result: (prev as StoredExperiment).result });
    if (stopped) ctx.emit({ type: 'log', level: 'info', message: `Experiment ${cmd.name} stopped; its finished arms are kept.` });
    else ctx.emit({ type: 'error', code, message: `Experiment ${cmd.name} failed: ${message}${prev ? ' Its finished arms are kept.' : ''}` });
  } finally {
    release();
  }
}
