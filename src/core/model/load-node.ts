/** Node-only: a file fetcher over a local directory. Imported lazily so browser bundles never load node:fs. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FileFetcher } from './load';
import { ModelSourceError } from './errors';

export function dirFetcher(dir: string): FileFetcher {
  return async (name) => {
    try {
      return new Uint8Array(await readFile(join(dir, name)));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return null;
      if (code === 'EISDIR') throw new ModelSourceError(`${join(dir, name)} is a directory, not a file; a model folder holds ${name} as a file.`);
      if (code === 'ENOTDIR') throw new ModelSourceError(`${dir} is not a directory; give the model folder (with config.json, model.safetensors, tokenizer.json).`);
      if (code === 'EACCES' || code === 'EPERM') throw new ModelSourceError(`${join(dir, name)} cannot be read (permission denied).`);
      throw e;
    }
  };
}
