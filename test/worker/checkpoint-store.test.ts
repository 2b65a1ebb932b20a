/**
 * The OPFS checkpoint store interrupted at every operation of a save (a closed tab, a crashed
 * worker, a full quota), on an in-memory model of the File System Access API with its documented
 * semantics: a writable stream replaces the file only when it closes. After each interruption a
 * fresh store loads either the previous checkpoint or the new one, whole, never a mix and never
 * nothing; and damaged checkpoints are refused by file name.
 */
import { describe, expect, it } from 'vitest';
import { COMPLETE, type CheckpointStore } from '../../src/worker/checkpoint-store';
import { opfsStore } from '../../src/worker/opfs-store';

class Interrupted extends Error {}

/** Counts operations; at `failAt` the operation fails, and with `dies` every later one too (the tab is gone). */
class Clock {
  n = 0;
  failAt = -1;
  dies = true;
  dead = false;
  error: () => Error = () => new Interrupted('interrupted');
  op(): void {
    if (this.dead) throw new Interrupted('the tab is closed');
    this.n++;
    if (this.n === this.failAt) {
      if (this.dies) this.dead = true;
      throw this.error();
    }
  }
}

type Node = FakeDir | FakeFile;
class FakeFile {
  constructor(public data: Uint8Array = new Uint8Array(0)) {}
  clone(): FakeFile {
    return new FakeFile(this.data.slice());
  }
}
class FakeDir {
  children = new Map<string, Node>();
  clone(): FakeDir {
    const d = new FakeDir();
    for (const [k, v] of this.children) d.children.set(k, v.clone());
    return d;
  }
}

function notFound(name: string): Error {
  const e = new Error(`${name} not found`);
  e.name = 'NotFoundError';
  return e;
}

function fileHandle(parent: FakeDir, name: string, clock: Clock) {
  return {
    kind: 'file' as const,
    async getFile() {
      clock.op();
      const f = parent.children.get(name);
      if (!(f instanceof FakeFile)) throw notFound(name);
      const data = f.data.slice();
      return { arrayBuffer: async () => data.buffer, text: async () => new TextDecoder().decode(data) };
    },
    async createWritable() {
      clock.op();
      const chunks: Uint8Array[] = [];
      return {
        async write(d: ArrayBuffer | Uint8Array) {
          clock.op();
          chunks.push(d instanceof Uint8Array ? d.slice() : new Uint8Array(d));
        },
        async close() {
          clock.op();
          const total = chunks.reduce((a, c) => a + c.length, 0);
          const out = new Uint8Array(total);
          let o = 0;
          for (const c of chunks) (out.set(c, o), (o += c.length));
          parent.children.set(name, new FakeFile(out));
        },
        async abort() {},
      };
    },
  };
}

function dirHandle(dir: FakeDir, clock: Clock): unknown {
  return {
    kind: 'directory' as const,
    async getDirectoryHandle(name: string, o?: { create?: boolean }) {
      clock.op();
      let d = dir.children.get(name);
      if (!d) {
        if (!o?.create) throw notFound(name);
        d = new FakeDir();
        dir.children.set(name, d);
      }
      if (!(d instanceof FakeDir)) throw new Error('TypeMismatchError');
      return dirHandle(d, clock);
    },
    async getFileHandle(name: string, o?: { create?: boolean }) {
      clock.op();
      const f = dir.children.get(name);
      if (!f) {
        if (!o?.create) throw notFound(name);
        dir.children.set(name, new FakeFile());
      } else if (!(f instanceof FakeFile)) throw new Error('TypeMismatchError');
      return fileHandle(dir, name, clock);
    },
    async removeEntry(name: string) {
      clock.op();
      if (!dir.children.delete(name)) throw notFound(name);
    },
    async *entries() {
      clock.op();
      for (const [k, v] of [...dir.children]) yield [k, v instanceof FakeDir ? dirHandle(v, clock) : fileHandle(dir, k, clock)];
    },
  };
}

function storeOn(root: FakeDir, clock = new Clock()): CheckpointStore {
  return opfsStore('tabzero-checkpoint', { getDirectory: async () => dirHandle(root, clock) as FileSystemDirectoryHandle })!;
}

const enc = (s: string) => new TextEncoder().encode(s);
function checkpoint(step: number): Map<string, Uint8Array> {
  return new Map([
    ['config.json', enc('{"model_type":"llama"}')],
    ['model.safetensors', enc(`weights of step ${step}`.repeat(50))],
    ['optimizer.safetensors', enc(`moments of step ${step}`.repeat(50))],
    [COMPLETE, enc(JSON.stringify({ model: 'm', state: { step, config: {} } }))],
  ]);
}
const stepOf = (files: Map<string, Uint8Array> | null) => (files ? (JSON.parse(new TextDecoder().decode(files.get(COMPLETE))) as { state: { step: number } }).state.step : null);

function sameFiles(a: Map<string, Uint8Array> | null, b: Map<string, Uint8Array>): boolean {
  if (!a || a.size !== b.size) return false;
  return [...b].every(([k, v]) => a.get(k) !== undefined && Buffer.from(a.get(k)!).equals(Buffer.from(v)));
}

describe('OPFS checkpoint store', () => {
  it('saves, loads and replaces a checkpoint', async () => {
    const root = new FakeDir();
    const s = storeOn(root);
    expect(await s.load()).toBeNull();
    await s.save(checkpoint(1));
    expect(stepOf(await s.load())).toBe(1);
    await s.save(checkpoint(2));
    expect(sameFiles(await s.load(), checkpoint(2))).toBe(true);
    expect(new TextDecoder().decode((await s.peek(COMPLETE))!)).toContain('"step":2');
    // The previous checkpoint is gone once the new one is current: one directory and the pointer.
    expect([...(root.children.get('tabzero-checkpoint') as FakeDir).children.keys()].length).toBe(2);
  });

  it('interrupted at every operation of a save, it loads the old checkpoint or the new one, whole', async () => {
    const base = new FakeDir();
    await storeOn(base).save(checkpoint(1));
    // Count the operations of a second save.
    const counting = new Clock();
    await storeOn(base.clone(), counting).save(checkpoint(2));
    const total = counting.n;
    expect(total).toBeGreaterThan(15);
    const seen = new Set<number>();
    for (let k = 1; k <= total; k++) {
      const root = base.clone();
      const clock = new Clock();
      clock.failAt = k;
      // Cut short in its clean-up (after CURRENT), a save may still report success: the new checkpoint is complete.
      await storeOn(root, clock).save(checkpoint(2)).catch(() => undefined);
      const loaded = await storeOn(root).load();
      const step = stepOf(loaded);
      expect(step === 1 || step === 2, `interrupted at operation ${k}`).toBe(true);
      expect(sameFiles(loaded, checkpoint(step!)), `interrupted at operation ${k}`).toBe(true);
      seen.add(step!);
      // The next save after the interruption works and cleans up what was left.
      await storeOn(root).save(checkpoint(3));
      expect(stepOf(await storeOn(root).load())).toBe(3);
      expect([...(root.children.get('tabzero-checkpoint') as FakeDir).children.keys()].length).toBe(2);
    }
    // Both outcomes happen: early interruptions keep step 1, late ones (after CURRENT) have step 2.
    expect([...seen].sort()).toEqual([1, 2]);
  });

  it('a full quota while writing keeps the previous checkpoint and says what to do', async () => {
    const root = new FakeDir();
    await storeOn(root).save(checkpoint(1));
    const clock = new Clock();
    clock.failAt = 8;
    clock.dies = false;
    clock.error = () => Object.assign(new Error('The operation failed because it would cause the application to exceed its storage quota.'), { name: 'QuotaExceededError' });
    await expect(storeOn(root, clock).save(checkpoint(2))).rejects.toThrow(/the checkpoint was not saved \(browser storage: .*quota\.\); the previous checkpoint is kept/);
    expect(stepOf(await storeOn(root).load())).toBe(1);
    // The half-written directory was removed.
    expect([...(root.children.get('tabzero-checkpoint') as FakeDir).children.keys()].length).toBe(2);
  });

  it('refuses damaged checkpoints by file name', async () => {
    const make = async (damage: (files: Map<string, Uint8Array>) => void) => {
      const root = new FakeDir();
      const files = checkpoint(4);
      damage(files);
      await storeOn(root).save(files);
      return storeOn(root).load();
    };
    await expect(make((f) => f.set(COMPLETE, enc('not json')))).rejects.toThrow(/browser storage tabzero-checkpoint\/ckpt-[a-z0-9-]+\/session\.json is not valid JSON .*start a new run/);
    await expect(make((f) => f.delete('optimizer.safetensors'))).rejects.toThrow(/optimizer\.safetensors is missing, so the run cannot continue from step 4/);
    await expect(make((f) => f.set(COMPLETE, enc('{"model":"m","state":{"step":-1,"config":{}}}')))).rejects.toThrow(/session\.json does not describe a run/);
  });

  it('still loads a checkpoint saved in the layout before CURRENT', async () => {
    const root = new FakeDir();
    const legacy = new FakeDir();
    for (const [k, v] of checkpoint(7)) legacy.children.set(k, new FakeFile(v));
    root.children.set('tabzero-checkpoint', legacy);
    expect(stepOf(await storeOn(root).load())).toBe(7);
    await storeOn(root).save(checkpoint(8));
    expect(stepOf(await storeOn(root).load())).toBe(8);
    expect([...legacy.children.keys()].length).toBe(2);
  });
});
