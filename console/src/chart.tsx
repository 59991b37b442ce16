import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

/** A uPlot time-series chart. `xs` in seconds (uPlot's unit), `ys` numbers; new points are pushed by the caller. */
export function Chart(p: {
  xs: number[];
  ys: (number | null)[];
  label: string;
  height?: number;
  testid?: string;
  color?: string;
  version?: number;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const el = box.current!;
    const u = new uPlot(
      {
        width: Math.max(el.clientWidth, 200),
        height: p.height ?? 180,
        legend: { show: false },
        cursor: { drag: { x: true, y: false } },
        scales: { x: { time: true } },
        axes: [
          { stroke: '#6b7280', grid: { stroke: '#f1f5f9' } },
          { stroke: '#6b7280', grid: { stroke: '#f1f5f9' }, size: 50 },
        ],
        series: [
          {},
          {
            label: p.label,
            stroke: p.color ?? '#2563eb',
            width: 2,
            fill: `${p.color ?? '#2563eb'}14`,
            points: { size: 5 },
          },
        ],
      },
      [p.xs, p.ys],
      el,
    );
    plot.current = u;
    const ro = new ResizeObserver(() => u.setSize({ width: Math.max(el.clientWidth, 200), height: p.height ?? 180 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, []);

  useEffect(() => {
    plot.current?.setData([p.xs, p.ys]);
  }, [p.xs, p.ys, p.version]);

  return <div class="chart" ref={box} data-testid={p.testid} data-points={p.xs.length} />;
}
