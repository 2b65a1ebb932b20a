/**
 * Draws a probes.jsonl trajectory (from `tabzero train --probe-every K`) as an SVG line chart
 * with Wilson-interval bands: plain, +plan, +knowledge, subproblem success over GRPO steps.
 *   npx tsx bench/plot-probes.ts <probes.jsonl> <out.svg> [title]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { ProbeReport, ProbeScore } from '../src/worker/protocol';

const [input, output, title = 'Probe scores during GRPO'] = process.argv.slice(2);
if (!input || !output) {
  console.error('usage: npx tsx bench/plot-probes.ts <probes.jsonl> <out.svg> [title]');
  process.exit(2);
}
const reports = readFileSync(input, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as ProbeReport);
const series: { key: 'plain' | 'plan' | 'knowledge' | 'subproblems'; label: string; color: string }[] = [
  { key: 'plain', label: 'plain', color: '#1f77b4' },
  { key: 'plan', label: '+plan', color: '#ff7f0e' },
  { key: 'knowledge', label: '+knowledge', color: '#2ca02c' },
  { key: 'subproblems', label: 'all subproblems right', color: '#9467bd' },
];
const W = 720, H = 420, L = 60, R = 200, T = 40, B = 50;
const maxStep = Math.max(1, ...reports.map((r) => r.step));
const maxY = Math.min(1, Math.ceil((Math.max(...reports.flatMap((r) => series.map((s) => r[s.key].hi))) + 0.05) * 10) / 10);
const x = (s: number): number => L + ((W - L - R) * s) / maxStep;
const y = (v: number): number => T + (H - T - B) * (1 - v / maxY);
const parts: string[] = [];
parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="13">`);
parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
parts.push(`<text x="${L}" y="24" font-size="16" font-weight="bold">${title}</text>`);
for (let v = 0; v <= maxY + 1e-9; v += 0.1) {
  parts.push(`<line x1="${L}" x2="${W - R}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`);
  parts.push(`<text x="${L - 8}" y="${y(v) + 4}" text-anchor="end">${Math.round(v * 100)}%</text>`);
}
const ticks = 5;
for (let i = 0; i <= ticks; i++) {
  const s = Math.round((maxStep * i) / ticks);
  parts.push(`<text x="${x(s)}" y="${H - B + 18}" text-anchor="middle">${s}</text>`);
}
parts.push(`<text x="${(L + W - R) / 2}" y="${H - 10}" text-anchor="middle">GRPO step</text>`);
series.forEach((s, i) => {
  const pts = reports.map((r) => ({ step: r.step, v: r[s.key] as ProbeScore }));
  const band = [...pts.map((p) => `${x(p.step)},${y(p.v.hi)}`), ...[...pts].reverse().map((p) => `${x(p.step)},${y(p.v.lo)}`)].join(' ');
  parts.push(`<polygon points="${band}" fill="${s.color}" opacity="0.12"/>`);
  parts.push(`<polyline points="${pts.map((p) => `${x(p.step)},${y(p.v.acc)}`).join(' ')}" fill="none" stroke="${s.color}" stroke-width="2.5"/>`);
  for (const p of pts) parts.push(`<circle cx="${x(p.step)}" cy="${y(p.v.acc)}" r="3.5" fill="${s.color}"/>`);
  parts.push(`<rect x="${W - R + 16}" y="${T + i * 24}" width="14" height="4" fill="${s.color}"/><text x="${W - R + 36}" y="${T + i * 24 + 6}">${s.label}</text>`);
});
parts.push(`<text x="${W - R + 16}" y="${T + series.length * 24 + 10}" fill="#666" font-size="11">bands: 95% Wilson intervals</text>`);
parts.push(`<text x="${W - R + 16}" y="${T + series.length * 24 + 26}" fill="#666" font-size="11">n = ${reports[0]?.plain.n ?? 0} held-out problems</text>`);
parts.push('</svg>');
writeFileSync(output, parts.join('\n') + '\n');
console.log(`wrote ${output} (${reports.length} evaluations, steps 0–${maxStep})`);
