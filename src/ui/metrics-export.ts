/** The run's metrics as files a spreadsheet or pandas reads: CSV (one column per metric) and JSONL (one step per line). */
import type { MetricsHistory } from './store';

function csvCell(text: string): string {
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function metricsToCsv(h: MetricsHistory): string {
  const names = Object.keys(h.series).sort();
  const lines = [['step', ...names].map(csvCell).join(',')];
  h.steps.forEach((step, i) => {
    lines.push([String(step), ...names.map((n) => {
      const v = h.series[n]![i];
      return v === null || v === undefined ? '' : String(v);
    })].join(','));
  });
  return lines.join('\n') + '\n';
}

export function metricsToJsonl(h: MetricsHistory): string {
  const names = Object.keys(h.series).sort();
  return h.steps
    .map((step, i) => {
      const row: Record<string, number> = { step };
      for (const n of names) {
        const v = h.series[n]![i];
        if (v !== null && v !== undefined) row[n] = v;
      }
      return JSON.stringify(row) + '\n';
    })
    .join('');
}
