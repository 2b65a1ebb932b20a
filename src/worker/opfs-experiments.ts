/**
 * Experiments in the Origin Private File System, beside the checkpoint: a directory with one JSON
 * file per run. A writable stream replaces a file only when it closes, so an interrupted write
 * leaves the previous version (the result up to the arm before).
 */
import { experimentFileName, parseStored, type ExperimentStore, type StoredExperiment } from './experiment-store';

type Storage = { getDirectory?: () => Promise<FileSystemDirectoryHandle> };

export function opfsExperimentStore(dirName = 'tabzero-experiments', storage = (globalThis as { navigator?: { storage?: Storage } }).navigator?.storage): ExperimentStore | null {
  if (!storage?.getDirectory) return null;
  const dir = async (): Promise<FileSystemDirectoryHandle> => (await storage.getDirectory!()).getDirectoryHandle(dirName, { create: true });
  return {
    async put(e) {
      const w = await (await (await dir()).getFileHandle(experimentFileName(e.id), { create: true })).createWritable();
      try {
        await w.write(JSON.stringify(e));
        await w.close();
      } catch (err) {
        await w.abort().catch(() => undefined);
        throw err;
      }
    },
    async list() {
      const experiments: StoredExperiment[] = [];
      const skipped: string[] = [];
      const d = await dir();
      for await (const [name, handle] of (d as unknown as { entries(): AsyncIterable<[string, FileSystemHandle]> }).entries()) {
        if (handle.kind !== 'file' || !name.endsWith('.json')) continue;
        const e = parseStored(await (await (handle as FileSystemFileHandle).getFile()).text());
        if (e) experiments.push(e);
        else skipped.push(name);
      }
      return { experiments, skipped };
    },
    async remove(id) {
      await (await dir()).removeEntry(experimentFileName(id)).catch(() => undefined);
    },
  };
}
