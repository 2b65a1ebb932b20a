/**
 * Numbered points between the CLI's file operations (checkpoint saves, metrics rows), so a test
 * can stop the process at any one of them. Off unless the environment asks:
 *   TABZERO_FAULT_TRACE=<file>       append "<n> <label>" for every point reached
 *   TABZERO_FAULT_KILL_AT=<n>        SIGKILL this process at point n (a power cut, a closed terminal)
 *   TABZERO_FAULT_ENOSPC_AT=<n>      fail the operation at point n with ENOSPC (a full disk)
 */
import { appendFileSync } from 'node:fs';

let count = 0;

function envInt(name: string): number | null {
  const v = process.env[name];
  return v && /^\d+$/.test(v) ? Number(v) : null;
}

export function faultPoint(label: string): void {
  const trace = process.env.TABZERO_FAULT_TRACE;
  const kill = envInt('TABZERO_FAULT_KILL_AT');
  const full = envInt('TABZERO_FAULT_ENOSPC_AT');
  if (!trace && kill === null && full === null) return;
  count++;
  if (trace) appendFileSync(trace, `${count} ${label}\n`);
  if (kill === count) process.kill(process.pid, 'SIGKILL');
  if (full === count) {
    const e = new Error(`ENOSPC: no space left on device, ${label}`) as NodeJS.ErrnoException;
    e.code = 'ENOSPC';
    throw e;
  }
}

/** Start counting again (tests that run the CLI more than once in one process). */
export function resetFaultPoints(): void {
  count = 0;
}
