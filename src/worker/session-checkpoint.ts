/**
 * The run's checkpoint: weights, optimizer state, session.json and the run history saved together
 * (session.json last, as the completion marker), read back on Resume; and Export of the weights alone.
 */
import { ConfigError } from '../core/grpo/config';
import { exportModel, loadModel } from '../core/model/load';
import { parseSafetensors, serializeSafetensors } from '../core/model/safetensors';
import { COMPLETE } from './checkpoint-store';
import { HISTORY_FILE } from './run-history';
import type { SessionContext, SessionRecord } from './session-context';

export type OptimizerTensors = Map<string, { shape: number[]; data: Float32Array }>;

/** The stored session.json, or null when there is none (or it is unreadable). */
export async function storedRecord(ctx: SessionContext): Promise<SessionRecord | null> {
  const bytes = await ctx.env.checkpoints?.peek(COMPLETE).catch(() => null);
  if (!bytes) return null;
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as SessionRecord;
  } catch {
    return null;
  }
}

/**
 * Resume: the stored record and optimizer state, with the checkpoint's weights put in place of the
 * loaded ones; the files stay on the context until the trainer has taken the history.
 */
export async function restoreCheckpoint(ctx: SessionContext): Promise<{ record: SessionRecord; optimizer: OptimizerTensors }> {
  const loaded = ctx.loaded!;
  const files = await ctx.env.checkpoints?.load();
  const record = files ? (JSON.parse(new TextDecoder().decode(files.get(COMPLETE)!)) as SessionRecord) : null;
  if (!files || !record || record.model !== loaded.label) {
    throw new ConfigError('resume', 'there is no saved run of this model to resume; press Start for a new run');
  }
  const optimizer = parseSafetensors(files.get('optimizer.safetensors')!, 'optimizer.safetensors');
  ctx.resumeFiles = files;
  // The checkpoint's weights replace the loaded ones; the engine puts them in its own layout.
  const model = files.get('model.safetensors')!;
  const reloaded = await loadModel({ kind: 'files', files: [...loaded.files, ['model.safetensors', model] as const].map(([name, data]) => ({ name, data })) }, { trainable: true });
  loaded.model.dispose();
  ctx.loaded = { ...loaded, model: reloaded.model };
  ctx.weightsChanged = true;
  return { record, optimizer };
}

async function modelFiles(ctx: SessionContext): Promise<Map<string, Uint8Array>> {
  if (!ctx.loaded) throw new ConfigError('model', 'no model is loaded');
  ctx.emit({ type: 'progress', phase: 'save', done: 0, total: 1 });
  const files = await exportModel(ctx.loaded.model, ctx.loaded.files);
  ctx.emit({ type: 'progress', phase: 'save', done: 1, total: 1 });
  return files;
}

export async function save(ctx: SessionContext): Promise<void> {
  if (!ctx.env.checkpoints) throw new ConfigError('save', 'checkpoints are not available here (no browser storage); use Export instead');
  if (!ctx.trainer || !ctx.runRecord) throw new ConfigError('save', 'start a run first; Export saves the weights alone');
  if (ctx.savedStep === ctx.trainer.step) {
    // Pause then Stop with no step between: the stored checkpoint already is this step.
    ctx.emit({ type: 'log', level: 'info', message: `Step ${ctx.trainer.step} is already saved.` });
    return;
  }
  const files = await modelFiles(ctx);
  const { state, optimizer } = await ctx.trainer.exportState();
  files.set('optimizer.safetensors', serializeSafetensors(optimizer));
  const record: SessionRecord = { ...ctx.runRecord, state, microBatchAuto: ctx.memory.plan?.auto ?? false };
  files.set(HISTORY_FILE, ctx.history.encode(state.step));
  // session.json is the completion marker: the store writes it last.
  files.set(COMPLETE, new TextEncoder().encode(JSON.stringify(record)));
  const where = await ctx.env.checkpoints.save(files);
  ctx.savedStep = state.step;
  ctx.emit({ type: 'checkpoint', step: state.step, where });
}

/** A checkpoint without failing the run: a full disk is worth a warning, not a stop. */
export async function autoSave(ctx: SessionContext): Promise<void> {
  // Step 0 holds nothing a new run would not have.
  if (!ctx.env.checkpoints || !ctx.trainer || ctx.trainer.step === 0 || ctx.broken) return;
  try {
    await save(ctx);
  } catch (e) {
    ctx.emit({ type: 'log', level: 'warn', message: `Checkpoint not saved: ${(e as Error).message}` });
  }
}

export async function exportFiles(ctx: SessionContext): Promise<void> {
  const files = await modelFiles(ctx);
  ctx.emit({
    type: 'exported',
    files: [...files].map(([name, data]) => ({ name, data: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer })),
  });
}
