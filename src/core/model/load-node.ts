/** Node-only: a file fetcher over a local directory. Imported lazily so browser bundles never load node:fs. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FileFetcher } from './load';

export function dirFetcher(dir: string): FileFetcher {
  return async (name) => {
    try {
      return new Uint8Array(await readFile(join(dir, name)));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  };
}
