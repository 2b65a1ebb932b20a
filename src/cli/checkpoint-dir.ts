/**
 * The CLI's resumable checkpoint as files: <root>/ckpt-<id>/ holds one complete checkpoint and
 * <root>/CURRENT names it. A save writes a new ckpt-<id>.partial/ beside the current one (each file
 * fsynced), renames it into place, replaces CURRENT by renaming a fsynced CURRENT.tmp over it, and
 * only then removes the previous directory. Killed or out of disk at any point, the directory
 * still holds one complete checkpoint that CURRENT names.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointError, checkCheckpoint, checkpointDirName, COMPLETE, inWriteOrder, parsePointer, POINTER, type CheckpointStore } from '../worker/checkpoint-store';
import { faultPoint } from './fault-points';

/** Write a file and flush it to the disk; a fault point sits between its two halves. */
export function writeDurable(path: string, data: Uint8Array, label: string): void {
  faultPoint(`open ${label}`);
  const fd = openSync(path, 'w');
  try {
    const half = data.byteLength >> 1;
    writeSync(fd, data, 0, half);
    faultPoint(`write ${label}`);
    writeSync(fd, data, half, data.byteLength - half);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function fsyncDir(path: string): void {
  // Makes a rename durable; not every platform can open a directory (then the rename alone stands).
  try {
    const fd = openSync(path, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // best effort
  }
}

/** Remove a directory file by file, so a kill can land between two removals. */
function removeTree(path: string, label: string): void {
  if (!existsSync(path)) return;
  if (!statSync(path).isDirectory()) {
    faultPoint(`remove ${label}`);
    unlinkSync(path);
    return;
  }
  for (const n of readdirSync(path)) removeTree(join(path, n), `${label}/${n}`);
  faultPoint(`rmdir ${label}`);
  rmdirSync(path);
}

function readDir(dir: string): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (statSync(p).isFile()) out.set(n, new Uint8Array(readFileSync(p)));
  }
  return out;
}

function describeWriteError(e: unknown, where: string): CheckpointError {
  const code = (e as NodeJS.ErrnoException).code;
  const why =
    code === 'ENOSPC' ? 'the disk is full' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EROFS' ? 'the file system is read-only' : (e as Error).message;
  return new CheckpointError(`checkpoint not saved to ${where}: ${why}; the previous checkpoint is kept. Free space or choose another --out, then continue with --resume.`);
}

export function dirStore(root: string): CheckpointStore {
  /** The current checkpoint's directory: the one CURRENT names, or the root itself for the layout before CURRENT. */
  const current = (): string | null => {
    const pointer = join(root, POINTER);
    if (existsSync(pointer)) {
      const name = parsePointer(new Uint8Array(readFileSync(pointer)));
      if (!name) throw new CheckpointError(`${pointer} does not name a checkpoint directory; delete ${root} to start a new run there, or run without --resume.`);
      const dir = join(root, name);
      if (!existsSync(dir)) throw new CheckpointError(`${pointer} names ${name}, which is missing; delete ${root} to start a new run there, or run without --resume.`);
      return dir;
    }
    return existsSync(join(root, COMPLETE)) ? root : null;
  };
  return {
    async save(files) {
      const name = checkpointDirName();
      const partial = join(root, `${name}.partial`);
      const final = join(root, name);
      try {
        faultPoint('mkdir checkpoint');
        mkdirSync(partial, { recursive: true });
        for (const [f, data] of inWriteOrder(files)) writeDurable(join(partial, f), data, `${name}/${f}`);
        faultPoint(`rename ${name}`);
        renameSync(partial, final);
        fsyncDir(root);
        const tmp = join(root, `${POINTER}.tmp`);
        writeDurable(tmp, new TextEncoder().encode(`${name}\n`), POINTER);
        faultPoint(`rename ${POINTER}`);
        renameSync(tmp, join(root, POINTER));
        fsyncDir(root);
      } catch (e) {
        try {
          rmSync(partial, { recursive: true, force: true });
          if (!existsSync(join(root, POINTER)) || parsePointer(new Uint8Array(readFileSync(join(root, POINTER)))) !== name) rmSync(final, { recursive: true, force: true });
        } catch {
          // Leftovers are removed by the next complete save.
        }
        throw describeWriteError(e, root);
      }
      // The new checkpoint is current: the previous one, files of the layout before CURRENT and
      // leftovers of interrupted saves go.
      for (const n of readdirSync(root)) {
        if (n === name || n === POINTER) continue;
        try {
          removeTree(join(root, n), n);
        } catch {
          // A file that will not go is harmless: it is not current, and the next save tries again.
        }
      }
      return final;
    },
    async load() {
      const dir = current();
      if (!dir) return null;
      const files = readDir(dir);
      files.delete(POINTER);
      return checkCheckpoint(files, dir, `delete ${root} to start a new run there, or run without --resume`);
    },
    async peek(name) {
      let dir: string | null;
      try {
        dir = current();
      } catch {
        return null;
      }
      return dir && existsSync(join(dir, name)) ? new Uint8Array(readFileSync(join(dir, name))) : null;
    },
    async clear() {
      rmSync(root, { recursive: true, force: true });
    },
  };
}
