/**
 * A run's history as the page draws it (each step's metrics, every probe report with the base
 * probe first, the log), kept by the session and stored with every checkpoint so that a resumed
 * run shows what happened before the reload.
 */
import type { RunHistory, WorkerEvent } from './protocol';

/** Written with the checkpoint, before session.json (the completion marker). */
export const HISTORY_FILE = 'history.json';

/** Log lines kept: a long run's log is capped so a checkpoint stays small. */
const MAX_LOG = 2000;

export class RunHistoryRecorder {
  private h: RunHistory = { metrics: [], probes: [], log: [] };

  /** Start over (a new run). */
  reset(h?: RunHistory): void {
    this.h = h ? { metrics: [...h.metrics], probes: [...h.probes], log: [...h.log] } : { metrics: [], probes: [], log: [] };
  }

  /** Keep what the page would have drawn from this event. */
  record(e: WorkerEvent): void {
    switch (e.type) {
      case 'metrics':
        this.h.metrics.push({ step: e.step, metrics: e.metrics });
        return;
      case 'probes':
        this.h.probes.push(e.report);
        return;
      case 'log':
        this.pushLog(e.level, e.message);
        return;
      case 'error':
        this.pushLog('error', e.message);
        return;
      default:
        return;
    }
  }

  private pushLog(level: 'info' | 'warn' | 'error', message: string): void {
    this.h.log.push({ time: Date.now(), level, message });
    if (this.h.log.length > MAX_LOG) this.h.log.splice(0, this.h.log.length - MAX_LOG);
  }

  get value(): RunHistory {
    return this.h;
  }

  /** Only the steps up to `step`: a checkpoint's history ends where its weights do. */
  upTo(step: number): RunHistory {
    return { metrics: this.h.metrics.filter((m) => m.step <= step), probes: this.h.probes.filter((p) => p.step <= step), log: [...this.h.log] };
  }

  encode(step: number): Uint8Array {
    return new TextEncoder().encode(JSON.stringify(this.upTo(step)));
  }
}

/** The stored history, or an empty one for a checkpoint written before histories were stored. */
export function decodeHistory(bytes: Uint8Array | undefined): RunHistory {
  const empty: RunHistory = { metrics: [], probes: [], log: [] };
  if (!bytes) return empty;
  try {
    const v = JSON.parse(new TextDecoder().decode(bytes)) as Partial<RunHistory>;
    return { metrics: Array.isArray(v.metrics) ? v.metrics : [], probes: Array.isArray(v.probes) ? v.probes : [], log: Array.isArray(v.log) ? v.log : [] };
  } catch {
    return empty;
  }
}
