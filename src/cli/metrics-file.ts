/**
 * metrics.jsonl and probes.jsonl: one JSON object per line, appended as the run goes. A row is
 * appended whole or not at all (a failed append is cut back off), and a resumed run first drops
 * the rows of steps after its checkpoint (they are trained again) and any half-written last row,
 * so the file holds exactly one row per step.
 */
import { closeSync, existsSync, fstatSync, ftruncateSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { writeDurable } from './checkpoint-dir';
import { faultPoint } from './fault-points';

/** Append one row; on failure (a full disk) the file is cut back to where it was and the error rethrown. */
export function appendRow(path: string, row: unknown): void {
  const bytes = new TextEncoder().encode(JSON.stringify(row) + '\n');
  const fd = openSync(path, 'a');
  const size = fstatSync(fd).size;
  try {
    const half = bytes.byteLength >> 1;
    writeSync(fd, bytes, 0, half);
    faultPoint(`append ${path}`);
    writeSync(fd, bytes, half, bytes.byteLength - half);
  } catch (e) {
    try {
      ftruncateSync(fd, size);
    } catch {
      // A half row left here is dropped on --resume.
    }
    throw e;
  } finally {
    closeSync(fd);
  }
}

/** The rows of a JSONL file that parse as objects with a step no later than `step`; a torn or foreign row is dropped. */
export function rowsUpTo(text: string, step: number): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch {
      continue;
    }
    const s = (row as { step?: unknown } | null)?.step;
    if (typeof s === 'number' && s <= step) out.push(line);
  }
  return out;
}

/** Keep only rows up to `step` (the checkpoint a run resumes from), replacing the file atomically. */
export function truncateRows(path: string, step: number): void {
  if (!existsSync(path)) return;
  const kept = rowsUpTo(readFileSync(path, 'utf8'), step);
  const tmp = `${path}.tmp`;
  writeDurable(tmp, new TextEncoder().encode(kept.map((l) => `${l}\n`).join('')), 'metrics rewrite');
  renameSync(tmp, path);
}

/** Start a file empty (a new run). */
export function resetRows(path: string): void {
  closeSync(openSync(path, 'w'));
}
