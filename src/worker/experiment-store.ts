/**
 * Where a session keeps its experiments: one JSON file per run, rewritten after every arm, so a
 * reload lists finished and stopped experiments with what they had. OPFS in the browser
 * (opfs-experiments.ts), a Map in tests.
 */
import type { ExperimentRecord } from './protocol';

/** What is stored: the record less what is derived from the result (table, plot, markdown). */
export type StoredExperiment = Pick<ExperimentRecord, 'id' | 'status' | 'error' | 'result'>;

export interface ExperimentStore {
  put(e: StoredExperiment): Promise<void>;
  /** Every stored experiment; files that do not parse are skipped (and named in `skipped`). */
  list(): Promise<{ experiments: StoredExperiment[]; skipped: string[] }>;
  remove(id: string): Promise<void>;
}

/** The file an experiment is stored in: its id, which is made of safe characters only. */
export function experimentFileName(id: string): string {
  return `${id.replace(/[^A-Za-z0-9_-]/g, '_')}.json`;
}

/** A stored file's experiment, or null when it is not one (a half-written or foreign file). */
export function parseStored(text: string): StoredExperiment | null {
  try {
    const v = JSON.parse(text) as StoredExperiment;
    if (typeof v !== 'object' || v === null || typeof v.id !== 'string' || typeof v.status !== 'string') return null;
    const r = v.result;
    if (typeof r !== 'object' || r === null || typeof r.experiment !== 'string' || typeof r.started !== 'string' || !Array.isArray(r.runs) || !Array.isArray(r.arms)) return null;
    return v;
  } catch {
    return null;
  }
}

export function memoryExperimentStore(): ExperimentStore {
  const files = new Map<string, string>();
  return {
    put: async (e) => void files.set(experimentFileName(e.id), JSON.stringify(e)),
    async list() {
      const experiments: StoredExperiment[] = [];
      const skipped: string[] = [];
      for (const [name, text] of files) {
        const e = parseStored(text);
        if (e) experiments.push(e);
        else skipped.push(name);
      }
      return { experiments, skipped };
    },
    remove: async (id) => void files.delete(experimentFileName(id)),
  };
}
