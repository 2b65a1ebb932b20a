/** Draws a ChartModel with uPlot: created once per set of lines, fed new data with setData (cheap for thousands of points). */
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { toAligned, type ChartModel } from '../chart-data';

export const LINE_COLORS = ['#4f8cff', '#f0883e', '#3fb950', '#d2a8ff', '#f85149', '#e3b341', '#39c5cf', '#ff7b72'];

function withAlpha(hex: string, alpha: number): string {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

function cssVar(name: string, fallback: string): string {
  if (typeof getComputedStyle === 'undefined') return fallback;
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

const initQueue: (() => void)[] = [];
let draining = false;

function drain() {
  const next = initQueue.shift();
  if (!next) {
    draining = false;
    return;
  }
  next();
  const later = typeof requestAnimationFrame === 'function' ? requestAnimationFrame : (f: () => void) => setTimeout(f, 16);
  later(drain);
}

/** Queues a chart construction; returns a cancel function for a chart unmounted before its turn. */
function scheduleInit(fn: () => void): () => void {
  let cancelled = false;
  initQueue.push(() => {
    if (!cancelled) fn();
  });
  if (!draining) {
    draining = true;
    setTimeout(drain, 0);
  }
  return () => {
    cancelled = true;
  };
}

/** The palette from the theme (--series-colors), so the projector theme can use brighter lines. */
function palette(): string[] {
  const v = cssVar('--series-colors', '');
  const list = v.split(',').map((c) => c.trim()).filter((c) => /^#[0-9a-f]{6}$/i.test(c));
  return list.length > 0 ? list : LINE_COLORS;
}

export interface UPlotChartProps {
  model: ChartModel;
  height?: number;
  /** Take the height of the surrounding box instead of `height` (the projector view's grid sizes the charts). */
  fill?: boolean;
  /** Changes when the theme or type size changes, so axes are rebuilt with the new colours and fonts. */
  styleKey?: string;
}

export function UPlotChart({ model, height = 150, fill = false, styleKey = '' }: UPlotChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const aligned = toAligned(model);
  const latest = useRef(aligned.data);
  latest.current = aligned.data;
  const shapeKey = `${styleKey}|${model.yRange?.join(',') ?? ''}|${aligned.series.map((s) => s.label).join('|')}`;

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const text = cssVar('--fg-muted', '#8b949e');
    const grid = cssVar('--grid', 'rgba(128,128,128,0.15)');
    // The projector theme sizes chart text relative to the page's (viewport-scaled) root font.
    const rem = parseFloat(cssVar('--chart-font-rem', ''));
    const rootPx = typeof getComputedStyle === 'undefined' ? 16 : parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
    const font = `${Number.isFinite(rem) && rem > 0 ? `${Math.round(rem * rootPx)}px` : cssVar('--chart-font-size', '12px')} system-ui, sans-serif`;
    const lineWidth = parseFloat(cssVar('--chart-line-width', '2')) || 2;
    const colors = palette();
    const colorOf = (i: number) => colors[i % colors.length]!;
    const series: uPlot.Series[] = [
      { label: 'step' },
      ...aligned.series.map((s): uPlot.Series => {
        const color = colorOf(s.color);
        if (s.role === 'bandEdge') return { label: s.label, stroke: 'transparent', width: 0, spanGaps: true, points: { show: false }, show: true };
        if (s.style === 'points') return { label: s.label, stroke: withAlpha(color, 0.7), fill: withAlpha(color, 0.7), width: 0, paths: () => null, points: { show: true, size: 2 + 2 * lineWidth, width: 1, fill: withAlpha(color, 0.55), stroke: withAlpha(color, 0.8) } };
        return { label: s.label, stroke: color, width: lineWidth, spanGaps: true, points: { size: 2 + 1.5 * lineWidth } };
      }),
    ];
    const bands: uPlot.Band[] = aligned.bands.map((b) => ({ series: b.series, fill: withAlpha(colorOf(b.color), b.alpha) }));
    const axis = (): uPlot.Axis => ({ stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, font });
    const fontPx = parseFloat(font) || 12;
    // Wide enough for the longest tick label, so big numbers (bytes, tokens/s) are not cut off.
    const ySize = (_u: uPlot, values: string[] | null) => 14 + fontPx * 0.62 * Math.max(3, ...(values ?? []).map((v) => v.length));
    // A flat series (all zero rewards at the start) would otherwise get uPlot's 0..100 default.
    const yRange: uPlot.Range.Function = (_u, min, max) => (min === max ? [min - 0.5, max + 0.5] : uPlot.rangeNum(min, max, 0.1, true));
    const legendHeight = () => (u?.root.querySelector('.u-legend') as HTMLElement | null)?.offsetHeight ?? 0;
    const plotHeight = () => (fill ? Math.max(80, el.clientHeight - legendHeight()) : height);
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth || 400),
      height: fill ? Math.max(80, el.clientHeight - 40) : height,
      series,
      bands,
      scales: { x: { time: false }, y: { range: model.yRange ?? yRange } },
      // Steps are whole numbers.
      axes: [{ ...axis(), incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000] }, { ...axis(), size: ySize }],
      legend: { show: true, live: false },
      cursor: { drag: { x: false, y: false } },
    };
    let u: uPlot | null = null;
    let ro: ResizeObserver | null = null;
    // Charts are built one per frame: creating a dozen at once (first step, tab switch) would block the page.
    const cancel = scheduleInit(() => {
      u = new uPlot(opts, latest.current as uPlot.AlignedData, el);
      // Band edges and x only shape the plot; hide them from the legend.
      const hidden = new Set(['step', ...aligned.series.filter((x) => x.role === 'bandEdge').map((x) => x.label)]);
      u.root.querySelectorAll('.u-legend .u-series').forEach((row) => {
        const label = row.querySelector('.u-label')?.textContent ?? '';
        if (hidden.has(label)) (row as HTMLElement).style.display = 'none';
      });
      plot.current = u;
      const chart = u;
      if (fill) chart.setSize({ width: Math.max(200, el.clientWidth), height: plotHeight() });
      ro = typeof ResizeObserver === 'undefined' ? null : new ResizeObserver(() => chart.setSize({ width: Math.max(200, el.clientWidth), height: plotHeight() }));
      ro?.observe(el);
    });
    return () => {
      cancel();
      ro?.disconnect();
      u?.destroy();
      plot.current = null;
    };
    // Recreate only when the chart's shape changes; data flows through setData below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [shapeKey, height, fill]);

  useEffect(() => {
    plot.current?.setData(aligned.data as uPlot.AlignedData);
  });

  return (
    <figure className={`chart ${fill ? 'fill' : ''}`} data-testid={`chart-${model.id}`} data-points={model.x.length}>
      <figcaption title={model.help}>{model.title}</figcaption>
      <div ref={box} className="chart-canvas" />
    </figure>
  );
}
