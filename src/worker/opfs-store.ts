/**
 * The browser's checkpoint store, in the Origin Private File System: each save in a directory of
 * its own, then the pointer file naming it (a writable stream only replaces the file when closed),
 * then the previous directory removed.
 */
import { checkCheckpoint, checkpointDirName, CheckpointError, COMPLETE, inWriteOrder, parsePointer, POINTER, type CheckpointStore } from './checkpoint-store';

type Storage = { getDirectory?: () => Promise<FileSystemDirectoryHandle> };

async function openRoot(storage: Storage, dirName: string, create: boolean): Promise<FileSystemDirectoryHandle | null> {
  const top = await storage.getDirectory!();
  try {
    return await top.getDirectoryHandle(dirName, { create });
  } catch {
    return null;
  }
}

async function readFile(d: FileSystemDirectoryHandle, name: string): Promise<Uint8Array | null> {
  try {
    return new Uint8Array(await (await (await d.getFileHandle(name)).getFile()).arrayBuffer());
  } catch {
    return null;
  }
}

async function writeFile(d: FileSystemDirectoryHandle, name: string, data: Uint8Array): Promise<void> {
  // The file changes only when the stream closes: a write cut short leaves the old content.
  const w = await (await d.getFileHandle(name, { create: true })).createWritable();
  try {
    await w.write(data as unknown as ArrayBuffer);
    await w.close();
  } catch (e) {
    await w.abort().catch(() => undefined);
    throw e;
  }
}

async function entries(d: FileSystemDirectoryHandle): Promise<[string, FileSystemHandle][]> {
  const out: [string, FileSystemHandle][] = [];
  for await (const e of (d as unknown as { entries(): AsyncIterable<[string, FileSystemHandle]> }).entries()) out.push(e);
  return out;
}

/** The current checkpoint's directory; the root itself for a checkpoint saved before CURRENT existed. */
async function current(storage: Storage, dirName: string): Promise<{ dir: FileSystemDirectoryHandle; where: string } | null> {
  const r = await openRoot(storage, dirName, false);
  if (!r) return null;
  const name = parsePointer(await readFile(r, POINTER));
  if (name) {
    try {
      return { dir: await r.getDirectoryHandle(name), where: `${dirName}/${name}` };
    } catch {
      return null;
    }
  }
  return (await readFile(r, COMPLETE)) ? { dir: r, where: dirName } : null;
}

async function save(storage: Storage, dirName: string, files: Map<string, Uint8Array>): Promise<string> {
  const r = (await openRoot(storage, dirName, true))!;
  const name = checkpointDirName();
  const d = await r.getDirectoryHandle(name, { create: true });
  try {
    for (const [f, data] of inWriteOrder(files)) await writeFile(d, f, data);
  } catch (e) {
    await r.removeEntry(name, { recursive: true }).catch(() => undefined);
    throw new CheckpointError(`the checkpoint was not saved (browser storage: ${(e as Error).message}); the previous checkpoint is kept. Free some space (site data) or Export the weights instead.`);
  }
  await writeFile(r, POINTER, new TextEncoder().encode(name));
  // The new checkpoint is current: everything else (the previous one, leftovers of interrupted saves) goes.
  for (const [n] of await entries(r)) {
    if (n !== name && n !== POINTER) await r.removeEntry(n, { recursive: true }).catch(() => undefined);
  }
  return `browser storage (OPFS: ${dirName}/${name}/)`;
}

async function load(storage: Storage, dirName: string): Promise<Map<string, Uint8Array> | null> {
  const c = await current(storage, dirName);
  if (!c) return null;
  const out = new Map<string, Uint8Array>();
  for (const [n, handle] of await entries(c.dir)) {
    if (handle.kind === 'file' && n !== POINTER) out.set(n, new Uint8Array(await (await (handle as FileSystemFileHandle).getFile()).arrayBuffer()));
  }
  return checkCheckpoint(out, `browser storage ${c.where}`, 'start a new run (Start) to replace it');
}

/** Origin Private File System; null where the browser has none (then Save reports that). */
export function opfsStore(dirName = 'tabzero-checkpoint', storage = (globalThis as { navigator?: { storage?: Storage } }).navigator?.storage): CheckpointStore | null {
  if (!storage?.getDirectory) return null;
  const s = storage;
  return {
    save: (files) => save(s, dirName, files),
    load: () => load(s, dirName),
    async peek(name) {
      const c = await current(s, dirName);
      return c ? readFile(c.dir, name) : null;
    },
    async clear() {
      const top = await s.getDirectory!();
      await top.removeEntry(dirName, { recursive: true }).catch(() => undefined);
    },
  };
}
