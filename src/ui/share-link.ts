/**
 * Share links that carry the whole run: the GRPO settings (config-schema's short encoding), the task
 * (a JSONL file inline while it is small), the user's reward functions and weights, the built-in
 * weights and the projector view. Everything lives in the URL's hash, so nothing is uploaded anywhere.
 */
import type { TaskSpec, UserRewardSpec } from '../worker/protocol';
import { ConfigValueError, decodeSettingsHash, encodeSettingsHash, type GrpoFormConfig, type Preset } from './config-schema';

/** Above this many characters of JSONL the link names the file but does not carry it (links of a few tens of KB break in chat apps). */
export const MAX_INLINE_TASK_CHARS = 8000;

const DEFAULT_BUILTINS: Record<string, number> = { correctness: 1, format: 0.2, hierarchical: 0 };
const OWN_KEYS = new Set(['task', 'task_data', 'builtin', 'reward', 'lecture']);

export interface ShareState {
  config: GrpoFormConfig;
  probeEvery: number;
  preset: Preset['id'] | null;
  task: TaskSpec;
  userRewards: UserRewardSpec[];
  builtinRewards: { name: string; weight: number }[];
  lecture: boolean;
}

export function toBase64Url(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function fromBase64Url(text: string): string {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  return new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
}

/** The link's hash, and a note when part of the run could not go into it. */
export function shareLink(s: ShareState): { hash: string; note: string | null } {
  const base = encodeSettingsHash({ config: s.config, probeEvery: s.probeEvery, preset: s.preset ?? undefined });
  const params = new URLSearchParams(base.replace(/^#/, ''));
  let note: string | null = null;
  const t = s.task;
  if (t.kind === 'toy-world') {
    if (t.difficulty !== undefined) params.set('task', `toy-world:${t.difficulty}`);
  } else if (t.kind === 'countdown') {
    params.set('task', 'countdown');
  } else {
    params.set('task', `jsonl:${t.name}`);
    if (t.text.length <= MAX_INLINE_TASK_CHARS) params.set('task_data', toBase64Url(t.text));
    else note = `The data set ${t.name} (${Math.round(t.text.length / 1024)} KB) is too large for a link: whoever opens it loads the file in Model & data.`;
  }
  const builtins = s.builtinRewards.filter((b) => (DEFAULT_BUILTINS[b.name] ?? 0) !== b.weight);
  if (builtins.length > 0) params.set('builtin', s.builtinRewards.map((b) => `${b.name}:${b.weight}`).join(','));
  for (const r of s.userRewards) params.append('reward', toBase64Url(JSON.stringify([r.name, r.weight, r.source])));
  if (s.lecture) params.set('lecture', '1');
  const text = params.toString();
  return { hash: text ? `#${text}` : '', note };
}

export interface SharedRun {
  config: GrpoFormConfig;
  probeEvery: number;
  preset?: Preset['id'];
  task?: TaskSpec;
  /** Why the task could not be restored from the link (a JSONL file too large to carry). */
  taskNote?: string;
  userRewards?: UserRewardSpec[];
  builtinRewards?: { name: 'correctness' | 'format' | 'hierarchical'; weight: number }[];
  lecture: boolean;
  errors: ConfigValueError[];
}

export function readShareLink(hash: string): SharedRun {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const settingsOnly = new URLSearchParams();
  for (const [k, v] of params) if (!OWN_KEYS.has(k)) settingsOnly.append(k, v);
  const base = decodeSettingsHash(settingsOnly.toString());
  const out: SharedRun = { config: base.config, probeEvery: base.probeEvery, preset: base.preset, lecture: params.get('lecture') === '1', errors: [...base.errors] };

  const task = params.get('task');
  if (task !== null) {
    const m = /^toy-world(?::([1-4]))?$/.exec(task);
    if (m) out.task = m[1] ? { kind: 'toy-world', difficulty: Number(m[1]) } : { kind: 'toy-world' };
    else if (task === 'countdown') out.task = { kind: 'countdown' };
    else if (task.startsWith('jsonl:')) {
      const name = task.slice('jsonl:'.length) || 'data.jsonl';
      const data = params.get('task_data');
      if (data === null) out.taskNote = `The link names the data set ${name} but does not carry it (it is too large): load it in Model & data.`;
      else {
        try {
          out.task = { kind: 'jsonl', name, text: fromBase64Url(data) };
        } catch {
          out.errors.push(new ConfigValueError('task_data', data.slice(0, 20), 'the data set in the link is damaged'));
        }
      }
    } else out.errors.push(new ConfigValueError('task', task, 'expected toy-world, toy-world:1…4, countdown or jsonl:<name>'));
  }

  const builtin = params.get('builtin');
  if (builtin !== null) {
    const list: NonNullable<SharedRun['builtinRewards']> = [];
    for (const part of builtin.split(',')) {
      const [name, w] = part.split(':');
      const weight = Number(w);
      if ((name === 'correctness' || name === 'format' || name === 'hierarchical') && w !== undefined && w.trim() !== '' && Number.isFinite(weight)) list.push({ name, weight });
      else out.errors.push(new ConfigValueError('builtin', part, 'expected name:weight for correctness, format or hierarchical'));
    }
    out.builtinRewards = list;
  }

  const rewards = params.getAll('reward');
  if (rewards.length > 0) {
    out.userRewards = [];
    for (const raw of rewards) {
      try {
        const v = JSON.parse(fromBase64Url(raw)) as unknown;
        if (!Array.isArray(v) || typeof v[0] !== 'string' || typeof v[1] !== 'number' || typeof v[2] !== 'string') throw new Error('shape');
        out.userRewards.push({ name: v[0], weight: v[1], source: v[2] });
      } catch {
        out.errors.push(new ConfigValueError('reward', raw.slice(0, 20), 'a reward function in the link is damaged'));
      }
    }
  }
  return out;
}
