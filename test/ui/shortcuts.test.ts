import { describe, expect, it } from 'vitest';
import { handleShortcut } from '../../src/ui/shortcuts';
import type { RunState } from '../../src/worker/protocol';

function actions(state: RunState) {
  const calls: string[] = [];
  return { calls, a: { getState: () => state, pause: () => calls.push('pause'), resume: () => calls.push('resume'), step: () => calls.push('step') } };
}
const key = (k: string, target: unknown = null) => ({ key: k, target: target as EventTarget | null, ctrlKey: false, metaKey: false, altKey: false });

describe('keyboard shortcuts', () => {
  it('space toggles pause, s steps only while paused', () => {
    let t = actions('running');
    expect(handleShortcut(key(' '), t.a)).toBe(true);
    expect(t.calls).toEqual(['pause']);
    t = actions('paused');
    handleShortcut(key(' '), t.a);
    handleShortcut(key('s'), t.a);
    expect(t.calls).toEqual(['resume', 'step']);
    t = actions('running');
    expect(handleShortcut(key('s'), t.a)).toBe(false);
    t = actions('ready');
    expect(handleShortcut(key(' '), t.a)).toBe(false);
    expect(t.calls).toEqual([]);
  });

  it('leaves keys alone while the user types', () => {
    const t = actions('running');
    expect(handleShortcut(key(' ', { tagName: 'TEXTAREA' }), t.a)).toBe(false);
    expect(handleShortcut({ ...key('s'), ctrlKey: true }, t.a)).toBe(false);
    expect(t.calls).toEqual([]);
  });
});
