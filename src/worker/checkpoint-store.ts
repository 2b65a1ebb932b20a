/**
 * Where a session keeps its one resumable checkpoint: the model in Hub layout plus
 * optimizer.safetensors and session.json (which holds the trainer state). OPFS in the browser (survives a
 * reload), a Map in tests, a directory in the CLI.
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

/** Origin Private File System; null where the browser has none (then Save reports that). */
export function opfsStore(dirName = 'tabzero-checkpoint'): CheckpointStore | null {
  const storage = (globalThis as { navigator?: { storage?: { getDirectory?: () => Promise<FileSystemDirectoryHandle> } } }).navigator?.storage;
  if (!storage?.getDirectory) return null;
  const dir = async (create: boolean): Promise<FileSystemDirectoryHandle | null> => {
    const root = await storage.getDirectory!();
    try {
      return await root.getDirectoryHandle(dirName, { create });
    } catch {
      return null;
    }
  };
  // session.json is written last and load() requires it: a reload mid-save leaves no half checkpoint.
  return {
    async save(files) {
      const root = await storage.getDirectory!();
      await root.removeEntry(dirName, { recursive: true }).catch(() => undefined);
      const d = await root.getDirectoryHandle(dirName, { create: true });
      for (const [name, data] of inWriteOrder(files)) {
        const w = await (await d.getFileHandle(name, { create: true })).createWritable();
        await w.write(data as unknown as ArrayBuffer);
        await w.close();
      }
      return `browser storage (OPFS: ${dirName}/)`;
    },
    async load() {
      const d = await dir(false);
      if (!d) return null;
      const out = new Map<string, Uint8Array>();
      for await (const [name, handle] of (d as unknown as { entries(): AsyncIterable<[string, FileSystemHandle]> }).entries()) {
        if (handle.kind === 'file') out.set(name, new Uint8Array(await (await (handle as FileSystemFileHandle).getFile()).arrayBuffer()));
      }
      return out.has(COMPLETE) ? out : null;
    },
    async peek(name) {
      const d = await dir(false);
      if (!d) return null;
      try {
        return new Uint8Array(await (await (await d.getFileHandle(name)).getFile()).arrayBuffer());
      } catch {
        return null;
      }
    },
    async clear() {
      const root = await storage.getDirectory!();
      await root.removeEntry(dirName, { recursive: true }).catch(() => undefined);
    },
  };
}
