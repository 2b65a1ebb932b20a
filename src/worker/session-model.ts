/**
 * The session's model: loading it from where the page says, the tokenizer and prompt renderer the
 * trainer uses with it, and making backend and model anew after the backend aborted (out of memory).
 */
import type { BackendName, ModelSourceSpec } from './protocol';
import type { PromptRenderer, TextTokenizer } from '../core/grpo/trainer';
import { loadModel, type LoadedModel, type ModelSource } from '../core/model/load';
import { renderPrompt } from '../core/tasks/prompt';
import { applyChatTemplate } from '../core/probes/completer';
import { recreateBackend } from '../core/backend-recover';
import { outOfMemoryMessage } from './session-helpers';
import { storedRecord } from './session-checkpoint';
import type { SessionContext } from './session-context';

function resolveSource(ctx: SessionContext, spec: ModelSourceSpec): ModelSource {
  switch (spec.kind) {
    case 'embedded':
      return ctx.env.embedded;
    case 'url':
      return { kind: 'url', baseUrl: spec.baseUrl };
    case 'hub':
      return { kind: 'hub', repo: spec.repo, ...(spec.revision ? { revision: spec.revision } : {}) };
    case 'files':
      return { kind: 'files', files: spec.files };
  }
}

export function loadFrom(ctx: SessionContext, source: ModelSourceSpec): Promise<LoadedModel> {
  return loadModel(resolveSource(ctx, source), {
    trainable: true,
    onProgress: (p) => ctx.emit({ type: 'progress', phase: 'load', done: Math.round(p.fraction * 100), total: 100, message: p.file }),
  });
}

/** Backend first, then the model; `resumable` tells the page whether a saved run of this model exists. */
export async function load(ctx: SessionContext, source: ModelSourceSpec, backend?: BackendName): Promise<void> {
  ctx.setState('loading');
  ctx.disposeRun();
  ctx.loaded?.model.dispose();
  ctx.loaded = null;
  ctx.backend = await ctx.env.initBackend(backend);
  ctx.broken = false;
  if (ctx.backend.fallbackReason) ctx.emit({ type: 'log', level: 'warn', message: ctx.backend.fallbackReason });
  else if (ctx.backend.why) ctx.emit({ type: 'log', level: 'info', message: `Backend: ${ctx.backend.why}` });
  ctx.loaded = await loadFrom(ctx, source);
  ctx.weightsChanged = false;
  ctx.source = source;
  const m = ctx.loaded.model;
  const resumable = (await storedRecord(ctx))?.model === ctx.loaded.label;
  ctx.emit({ type: 'loaded', backend: ctx.backend, model: { name: ctx.loaded.label, arch: m.config.arch, params: m.numParams, vocabSize: m.config.vocabSize }, resumable });
  ctx.setState('ready');
}

/** The out-of-memory message, with the micro_batch_size to set. */
export function outOfMemory(ctx: SessionContext): string {
  const backend = ctx.backend?.name ?? 'wasm';
  const r = ctx.memory.afterAbort(ctx.loaded?.model.config ?? null, ctx.trainer?.config ?? null, backend);
  return outOfMemoryMessage(backend, r?.[0] ?? null, r?.[1] ?? null);
}

/** After an abort: a fresh backend, and the model again from where it came from. */
export async function recover(ctx: SessionContext): Promise<void> {
  const name = ctx.backend?.name ?? 'wasm';
  ctx.emit({ type: 'log', level: 'info', message: `Restarting the ${name} backend after it ran out of memory, and reloading the model.` });
  ctx.trainer = null;
  ctx.loaded = null;
  await recreateBackend(name);
  ctx.loaded = await loadFrom(ctx, ctx.source!);
  ctx.weightsChanged = false;
  ctx.broken = false;
}

function useChat(loaded: LoadedModel): boolean {
  return loaded.tokenizer.hasChatTemplate === true;
}

export function textTokenizer(loaded: LoadedModel): TextTokenizer {
  const tok = loaded.tokenizer;
  const chat = useChat(loaded);
  return {
    // With a chat template the special tokens come from the template itself.
    encode: (text) => tok.encode(text, { addSpecialTokens: !chat }),
    decode: (ids) => tok.decode(ids, { skipSpecialTokens: false }),
  };
}

export function renderer(loaded: LoadedModel): PromptRenderer {
  const tok = loaded.tokenizer;
  if (!useChat(loaded)) return (p, o) => renderPrompt(p, o);
  return (p, o) => applyChatTemplate(renderPrompt(p, o), (t) => tok.formatPrompt(t));
}
