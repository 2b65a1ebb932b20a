/**
 * Let queued messages (pause, stop, setConfig) run between chunks of work. A MessageChannel post
 * is a macrotask without setTimeout's 4 ms clamp on nested timers; Node's setImmediate is the same idea.
 */
let channel: MessageChannel | null = null;
const waiting: (() => void)[] = [];

export function yieldToEventLoop(): Promise<void> {
  if (typeof setImmediate === 'function') return new Promise((r) => setImmediate(r));
  if (typeof MessageChannel === 'function') {
    if (!channel) {
      channel = new MessageChannel();
      channel.port1.onmessage = () => waiting.shift()?.();
    }
    return new Promise((r) => {
      waiting.push(r);
      channel!.port2.postMessage(null);
    });
  }
  return new Promise((r) => setTimeout(r, 0));
}
