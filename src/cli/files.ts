/** Input and output paths of the CLI, checked up front so a mistake is one line naming the path, not a stack trace. */
import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

export class CliFileError extends Error {
  override name = 'CliFileError';
}

function reason(e: unknown): string {
  switch ((e as NodeJS.ErrnoException).code) {
    case 'ENOENT':
      return 'does not exist';
    case 'EISDIR':
      return 'is a directory, not a file';
    case 'ENOTDIR':
      return 'has a file where a directory is expected in its path';
    case 'EACCES':
    case 'EPERM':
      return 'cannot be read (permission denied)';
    default:
      return `cannot be read (${(e as Error).message})`;
  }
}

/** A text file the user named (config, task, reward source); `what` says which setting named it. */
export async function readInputFile(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new CliFileError(`${path} (${what}) ${reason(e)}; check the path.`);
  }
}

/**
 * An output directory that exists or can be made, and can be written: refused before any work
 * starts when it is a file, sits under a file, or is not writable.
 */
export function checkOutDir(dir: string, flag = '--out'): void {
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
    if (!isDir) throw new CliFileError(`${flag} ${dir} is a file; give a directory (it is created if missing).`);
  } catch (e) {
    if (e instanceof CliFileError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') throw new CliFileError(`${flag} ${dir} cannot be a directory: part of its path is a file; choose another path.`);
    if (code !== 'ENOENT') throw new CliFileError(`${flag} ${dir} cannot be used (${(e as Error).message}).`);
  }
  if (!isDir) {
    try {
      mkdirSync(dir, { recursive: true });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'ENOTDIR' || code === 'EEXIST' ? 'part of its path is a file' : code === 'EROFS' ? 'read-only file system' : (e as Error).message;
      throw new CliFileError(`${flag} ${dir} cannot be created (${why}); choose a directory you can write to.`);
    }
  }
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new CliFileError(`${flag} ${dir} is not writable (permission denied); choose a directory you can write to.`);
  }
}
