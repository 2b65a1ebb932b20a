/** The worker's log lines, newest last. */
import { useAppStore } from '../store-context';

export function LogPanel() {
  const logs = useAppStore((s) => s.logs);
  if (logs.length === 0) return <p className="empty">Nothing logged yet.</p>;
  return (
    <ol className="log" data-testid="log">
      {logs.map((l, i) => (
        <li key={i} className={`log-${l.level}`}>
          <time>{new Date(l.time).toLocaleTimeString()}</time> {l.message}
        </li>
      ))}
    </ol>
  );
}
