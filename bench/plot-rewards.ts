/**
 * Draws the mean reward per GRPO step (raw points and a centred moving average, as the page's
 * chart smooths it) from a JSONL of {step, reward} lines, e.g. test-artifacts/lecture-rewards.jsonl.
 *   npx tsx bench/plot-rewards.ts <rewards.jsonl> <out.svg> [title]
 */
import { readFileSync, writeFileSync } from 'node:fs';

const [input, output, title = 'Mean reward per GRPO step'] = process.argv.slice(2);
if (!input || !output) {
  console.error('usage: npx tsx bench/plot-rewards.ts <rewards.jsonl> <out.svg> [title]');
  process.exit(2);
}
const rows = readFileSync(input, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as { step?: number; reward?: number }).filter((r): r is { step: number; reward: number } => typeof r.step === 'number' && typeof r.reward === 'number');
const smooth = rows.map((_, i) => {
  const w = rows.slice(Math.max(0, i - 2), i + 3);
  return w.reduce((a, r) => a + r.reward, 0) / w.length;
});
const W = 720, H = 360, L = 60, R = 40, T = 40, B = 50;
const maxStep = Math.max(1, ...rows.map((r) => r.step));
const maxY = Math.max(1, Math.ceil(Math.max(...rows.map((r) => r.reward)) * 10) / 10);
const x = (s: number): number => L + ((W - L - R) * s) / maxStep;
const y = (v: number): number => T + (H - T - B) * (1 - v / maxY);
const p: string[] = [];
p.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="13">`);
p.push(`<rect width="${W}" height="${H}" fill="white"/>`);
p.push(`<text x="${L}" y="24" font-size="16" font-weight="bold">${title}</text>`);
for (let v = 0; v <= maxY + 1e-9; v += 0.2) {
  p.push(`<line x1="${L}" x2="${W - R}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`);
  p.push(`<text x="${L - 8}" y="${y(v) + 4}" text-anchor="end">${v.toFixed(1)}</text>`);
}
for (let i = 0; i <= 5; i++) {
  const s = Math.round((maxStep * i) / 5);
  p.push(`<text x="${x(s)}" y="${H - B + 18}" text-anchor="middle">${s}</text>`);
}
p.push(`<text x="${(L + W - R) / 2}" y="${H - 10}" text-anchor="middle">GRPO step</text>`);
for (const r of rows) p.push(`<circle cx="${x(r.step)}" cy="${y(r.reward)}" r="3" fill="#1f77b4" fill-opacity="0.45"/>`);
p.push(`<polyline fill="none" stroke="#1f77b4" stroke-width="2.5" points="${rows.map((r, i) => `${x(r.step)},${y(smooth[i]!)}`).join(' ')}"/>`);
p.push(`<text x="${W - R}" y="${T + 14}" text-anchor="end" fill="#555" font-size="12">points: each step; line: 5-step moving average</text>`);
p.push('</svg>');
writeFileSync(output, p.join('\n') + '\n');
