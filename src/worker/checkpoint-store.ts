/**
 * Where a session keeps its one resumable checkpoint: the model in Hub layout plus
 * optimizer.safetensors and session.json. OPFS in the browser (survives a reload), a Map in
 * tests, a directory in the CLI.
 *
 * A save never touches the checkpoint it replaces until the new one is complete: the new files go
 * into a directory of their own beside the old one, then the pointer file CURRENT, written last
 * and atomically (a rename in the CLI; in OPFS a writable stream, which only replaces the file when
 * closed), names it; only then is the previous directory removed. A save interrupted at any point
 * (killed process, closed tab, full disk) leaves the previous checkpoint current and whole.
 */

/** Written last; a checkpoint without it is incomplete. */
export const COMPLETE = 'session.json';

/** The files in the order a store writes them: COMPLETE last, so an interrupted save leaves no complete-looking checkpoint. */
export function inWriteOrder(files: Map<string, Uint8Array>): [string, Uint8Array][] {
  return [...files].sort(([a], [b]) => Number(a === COMPLETE) - Number(b === COMPLETE));
}

export interface CheckpointStore {
  /** Replace the stored checkpoint; returns where it went, in words. */
  save(files: Map<string, Uint8Array>): Promise<string>;
  /** The stored checkpoint's files, or null when there is none. */
  load(): Promise<Map<string, Uint8Array> | null>;
  /** One small file of the checkpoint without reading the weights (session.json, to match the model). */
  peek(name: string): Promise<Uint8Array | null>;
  clear(): Promise<void>;
}

export function memoryStore(): CheckpointStore {
  let files: Map<string, Uint8Array> | null = null;
  return {
    save: async (f) => {
      files = new Map(f);
      return 'memory';
    },
    load: async () => (files ? new Map(files) : null),
    peek: async (name) => files?.get(name) ?? null,
    clear: async () => {
      files = null;
    },
  };
}

/** Names the directory of the current checkpoint; written last. */
export const POINTER = 'CURRENT';
export const CHECKPOINT_PREFIX = 'ckpt-';

/** A fresh directory name for one save: unique even for two saves in the same millisecond. */
export function checkpointDirName(): string {
  return `${CHECKPOINT_PREFIX}${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** A pointer file's content, or null when it does not name a checkpoint directory (garbage, empty). */
export function parsePointer(bytes: Uint8Array | null): string | null {
  if (!bytes) return null;
  const name = new TextDecoder().decode(bytes).trim();
  return new RegExp(`^${CHECKPOINT_PREFIX}[a-z0-9-]+$`).test(name) ? name : null;
}

/** A stored checkpoint that cannot be resumed; the message names the file and what to do. */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

/** Files a resumable checkpoint must have, besides session.json. */
const REQUIRED = ['model.safetensors', 'optimizer.safetensors'];

/**
 * Check a loaded checkpoint before anything is built from it: session.json parses and records a
 * step and a config, and the weight files are there. `where` names the checkpoint in messages,
 * `remedy` says how to get past it in this environment.
 */
export function checkCheckpoint(files: Map<string, Uint8Array>, where: string, remedy: string): Map<string, Uint8Array> {
  const fix = `; ${remedy}`;
  const raw = files.get(COMPLETE);
  if (!raw) throw new CheckpointError(`${where}/${COMPLETE} is missing: the checkpoint is incomplete${fix}.`);
  let record: unknown;
  try {
    record = JSON.parse(new TextDecoder().decode(raw));
  } catch (e) {
    throw new CheckpointError(`${where}/${COMPLETE} is not valid JSON (${(e as Error).message.slice(0, 80)})${fix}.`);
  }
  const state = (record as { state?: { step?: unknown; config?: unknown } } | null)?.state;
  if (typeof record !== 'object' || record === null || typeof (record as { model?: unknown }).model !== 'string' || !state || !Number.isInteger(state.step) || (state.step as number) < 0 || typeof state.config !== 'object' || state.config === null) {
    throw new CheckpointError(`${where}/${COMPLETE} does not describe a run (it needs "model", "state.step" and "state.config")${fix}.`);
  }
  for (const f of REQUIRED) {
    if (!files.has(f)) throw new CheckpointError(`${where}/${f} is missing, so the run cannot continue from step ${state.step as number}${fix}.`);
  }
  return files;
}
