/**
 * An experiment's focus figures as a grouped bar chart in SVG: one group per figure, one bar per
 * arm, whiskers at the 95% interval over problems. Plain SVG text, no fonts or scripts, so it
 * renders the same in a README, a browser and an image viewer.
 */
import { recipe } from './recipes';
import type { ExperimentResult } from './runner';
import { FIGURE_LABELS, isEffect, summarise } from './table';

const COLORS = ['#6b7280', '#2563eb', '#16a34a', '#d97706', '#9333ea', '#dc2626'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function experimentSvg(result: ExperimentResult): string {
  const t = summarise(result);
  const figures = recipe(result.experiment).focus.slice(0, 4);
  const W = 760;
  const H = 360;
  const left = 56;
  const right = 16;
  const top = 40;
  const bottom = 70 + 16 * t.arms.length;
  const plotH = H - top - 70;
  const values = t.arms.flatMap((a) => figures.flatMap((f) => (a.cells[f].n > 0 ? [a.cells[f].lo, a.cells[f].hi] : [])));
  const lo = Math.min(0, ...values);
  const hi = Math.max(10, ...values);
  const y = (v: number): number => top + plotH - ((v - lo) / (hi - lo)) * plotH;
  const groupW = (W - left - right) / figures.length;
  const barW = Math.min(36, (groupW * 0.8) / Math.max(1, t.arms.length));
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H + bottom - 70}" viewBox="0 0 ${W} ${H + bottom - 70}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="100%" height="100%" fill="white"/>`);
  out.push(`<text x="${left}" y="20" font-size="15" font-weight="bold">${esc(t.title)}${t.complete ? '' : ' (incomplete)'}</text>`);
  // Gridlines every 10 points.
  for (let v = Math.ceil(lo / 10) * 10; v <= hi; v += 10) {
    out.push(`<line x1="${left}" x2="${W - right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="${v === 0 ? '#111' : '#e5e7eb'}"/>`);
    out.push(`<text x="${left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" fill="#374151">${v}</text>`);
  }
  figures.forEach((f, gi) => {
    const gx = left + gi * groupW;
    const x0 = gx + (groupW - barW * t.arms.length) / 2;
    t.arms.forEach((a, ai) => {
      const c = a.cells[f];
      const x = x0 + ai * barW;
      if (c.n === 0) {
        out.push(`<text x="${(x + barW / 2).toFixed(1)}" y="${(y(0) - 4).toFixed(1)}" text-anchor="middle" fill="#6b7280">n/a</text>`);
        return;
      }
      const yTop = Math.min(y(c.mean), y(0));
      const h = Math.abs(y(c.mean) - y(0));
      out.push(`<rect x="${(x + 2).toFixed(1)}" y="${yTop.toFixed(1)}" width="${(barW - 4).toFixed(1)}" height="${Math.max(0.5, h).toFixed(1)}" fill="${COLORS[ai % COLORS.length]}"><title>${esc(`${a.label}: ${c.mean.toFixed(1)} (${c.lo.toFixed(1)} to ${c.hi.toFixed(1)})`)}</title></rect>`);
      const cx = (x + barW / 2).toFixed(1);
      out.push(`<line x1="${cx}" x2="${cx}" y1="${y(c.lo).toFixed(1)}" y2="${y(c.hi).toFixed(1)}" stroke="#111"/>`);
      out.push(`<line x1="${(x + barW / 2 - 5).toFixed(1)}" x2="${(x + barW / 2 + 5).toFixed(1)}" y1="${y(c.lo).toFixed(1)}" y2="${y(c.lo).toFixed(1)}" stroke="#111"/>`);
      out.push(`<line x1="${(x + barW / 2 - 5).toFixed(1)}" x2="${(x + barW / 2 + 5).toFixed(1)}" y1="${y(c.hi).toFixed(1)}" y2="${y(c.hi).toFixed(1)}" stroke="#111"/>`);
    });
    out.push(`<text x="${(gx + groupW / 2).toFixed(1)}" y="${(top + plotH + 18).toFixed(1)}" text-anchor="middle">${esc(FIGURE_LABELS[f])}${isEffect(f) ? ' (points)' : ' (%)'}</text>`);
  });
  t.arms.forEach((a, ai) => {
    const ly = top + plotH + 40 + ai * 16;
    out.push(`<rect x="${left}" y="${ly - 10}" width="12" height="12" fill="${COLORS[ai % COLORS.length]}"/>`);
    out.push(`<text x="${left + 18}" y="${ly}">${esc(`${a.label} (${a.seeds.length} seed${a.seeds.length === 1 ? '' : 's'})`)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
