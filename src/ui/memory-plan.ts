/** The memory plan in words: which micro_batch_size the run uses and how its estimate compares with the limit. */
import type { MemoryPlan } from '../worker/protocol';

export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '?';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v >= 100 || u === 0 ? 0 : 1)} ${units[u]}`;
}

/** "auto → 32" or "32 (yours)"; before a run has a plan, what the setting means. */
export function microBatchText(plan: MemoryPlan | null, formValue: number | string | boolean | null): string {
  if (plan) return plan.auto ? `auto → ${plan.microBatchSize}` : `${plan.microBatchSize} (as set)`;
  return formValue === 0 ? 'auto (chosen at Start to fit memory)' : `${String(formValue)} (as set)`;
}

export function memoryText(plan: MemoryPlan): string {
  const share = plan.limitBytes > 0 ? Math.round((100 * plan.estimatedBytes) / plan.limitBytes) : null;
  return `estimated peak ${formatBytes(plan.estimatedBytes)} of ${formatBytes(plan.limitBytes)}${share === null ? '' : ` (${share}%)`}`;
}
