/**
 * Damaged model files: safetensors headers checked as the format specifies (offsets inside the
 * file, in order, no overlap, no hole), non-finite weights refused by tensor name, and folders
 * whose files are not what they should be. Each error names the file or tensor at fault.
 */
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseSafetensors, serializeSafetensors } from '../../src/core/model/safetensors';
import { loadModel } from '../../src/core/model/load';
import { writeTinyModel } from '../fixtures/tiny-model';

/** A file from a header object and raw data bytes, exactly as given (no checks). */
function rawFile(header: Record<string, unknown>, data: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const f32 = (n: number) => new Uint8Array(new Float32Array(n).fill(0.5).buffer);
const t = (begin: number, end: number, shape = [(end - begin) / 4]) => ({ dtype: 'F32', shape, data_offsets: [begin, end] });

function withValue(v: number, dtype: 'F32' | 'F16' | 'BF16' = 'F32'): Uint8Array {
  if (dtype === 'F32') {
    const d = new Float32Array([1, 2, v, 4]);
    return rawFile({ 'model.norm.weight': { dtype, shape: [4], data_offsets: [0, 16] } }, new Uint8Array(d.buffer));
  }
  // 0x7e00 is NaN in F16; 0x7f80 is +Inf in BF16.
  const bits = new Uint16Array([0x3c00, dtype === 'F16' ? 0x7e00 : 0x7f80]);
  return rawFile({ 'layer.bias': { dtype, shape: [2], data_offsets: [0, 4] } }, new Uint8Array(bits.buffer));
}

describe('safetensors headers as the format specifies', () => {
  const header8 = (n: bigint) => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, n, true);
    return b;
  };
  const cases: [string, Uint8Array, RegExp][] = [
    ['two tensors overlapping', rawFile({ a: t(0, 16), b: t(8, 24) }, f32(6)), /tensor "b" \(bytes 8–24\) overlaps tensor "a"/],
    ['two names for the same bytes', rawFile({ a: t(0, 16), b: t(0, 16) }, f32(4)), /overlaps tensor "a"/],
    ['a hole between tensors', rawFile({ a: t(0, 8), b: t(16, 24) }, f32(6)), /bytes 8–16 of the data belong to no tensor \(a hole before "b"\)/],
    ['a hole at the start', rawFile({ a: t(8, 16) }, f32(4)), /bytes 0–8 .* hole before "a"/],
    ['bytes after the last tensor', rawFile({ a: t(0, 8) }, f32(4)), /last 8 bytes of the data belong to no tensor/],
    ['a tensor past the end of the file', rawFile({ a: t(0, 32) }, f32(4)), /tensor "a" ends at byte 32 .* only 16 bytes/],
    ['offsets that end before they begin', rawFile({ a: { dtype: 'F32', shape: [0], data_offsets: [8, 0] } }, f32(2)), /tensor "a" has data_offsets \[8, 0\]/],
    ['a shape that disagrees with the offsets', rawFile({ a: t(0, 16, [3]) }, f32(4)), /tensor "a" spans 16 bytes but shape \[3\] of F32 needs 12/],
    ['an unsupported dtype', rawFile({ a: { dtype: 'F8_E4M3', shape: [4], data_offsets: [0, 4] } }, new Uint8Array(4)), /tensor "a" has dtype F8_E4M3/],
    ['a negative dimension', rawFile({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, f32(1)), /entry for tensor "a" lacks dtype, shape or data_offsets/],
    ['non-string metadata', rawFile({ __metadata__: { format: 1 }, a: t(0, 4) }, f32(1)), /"__metadata__" must map names to strings/],
    ['a header length past the file', new Uint8Array([...header8(1000n), 0x7b, 0x7d]), /header claims 1000 bytes but the file has only 2/],
    ['a header that is not JSON', new Uint8Array([...header8(2n), 0x7b, 0x7b]), /JSON header does not parse/],
    ['a header that is not an object', new Uint8Array([...header8(2n), 0x5b, 0x5d]), /header is not a JSON object/],
    ['fewer than 8 bytes', new Uint8Array(5), /5 bytes, fewer than the 8-byte header length/],
    ['an HTML page served as the file', new TextEncoder().encode('<!doctype html><html><body>not found</body></html>'), /header claims/],
  ];

  it.each(cases)('refuses %s, naming the file and the problem', (_what, bytes, re) => {
    let msg = '';
    try {
      parseSafetensors(bytes, 'shard-7.safetensors');
    } catch (e) {
      expect((e as Error).name).toBe('SafetensorsError');
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/^shard-7\.safetensors/);
    expect(msg).toMatch(re);
  });

  it('accepts a well-formed file, zero-size tensors included', () => {
    const bytes = serializeSafetensors([
      ['a', { shape: [2], data: new Float32Array([1, 2]) }],
      ['empty', { shape: [0], data: new Float32Array(0) }],
      ['b', { shape: [1], data: new Float32Array([3]) }],
    ]);
    expect([...parseSafetensors(bytes).keys()]).toEqual(['a', 'empty', 'b']);
  });
});

describe('non-finite weights are refused by tensor name', () => {
  it.each([
    ['NaN', withValue(NaN), /tensor "model\.norm\.weight" holds NaN at index 2/],
    ['+Infinity', withValue(Infinity), /tensor "model\.norm\.weight" holds Infinity at index 2/],
    ['-Infinity', withValue(-Infinity), /holds -Infinity at index 2/],
    ['NaN in F16', withValue(0, 'F16'), /tensor "layer\.bias" holds NaN at index 1/],
    ['Infinity in BF16', withValue(0, 'BF16'), /tensor "layer\.bias" holds Infinity at index 1/],
  ])('%s', (_what, bytes, re) => {
    expect(() => parseSafetensors(bytes, 'model.safetensors')).toThrow(re);
    expect(() => parseSafetensors(bytes, 'model.safetensors')).toThrow(/damaged/);
    // Readers that want the raw values (a diagnostic) can still have them.
    expect(parseSafetensors(bytes, 'model.safetensors', { allowNonFinite: true }).size).toBe(1);
  });
});

describe('model folders whose files are wrong', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  const load = async (dir: string): Promise<string> => {
    try {
      const m = await loadModel({ kind: 'dir', path: dir });
      m.model.dispose();
      return 'loaded';
    } catch (e) {
      return `${(e as Error).name}: ${(e as Error).message}`;
    }
  };

  it('model.safetensors that is a directory', async () => {
    const dir = writeTinyModel('llama');
    unlinkSync(join(dir, 'model.safetensors'));
    mkdirSync(join(dir, 'model.safetensors'));
    expect(await load(dir)).toMatch(/ModelSourceError: .*model\.safetensors is a directory, not a file/);
  });

  it('a model path that is a file', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'tabzero-notdir-')), 'model.txt');
    writeFileSync(file, 'x');
    expect(await load(file)).toMatch(new RegExp(`${file.replace(/[.]/g, '\\.')} is not a directory`));
  });

  it('NaN weights in a model folder name the tensor', async () => {
    const dir = writeTinyModel('llama');
    const bytes = new Uint8Array((await import('node:fs')).readFileSync(join(dir, 'model.safetensors')));
    const tensors = parseSafetensors(bytes);
    const name = [...tensors.keys()].find((k) => k.includes('q_proj'))!;
    tensors.get(name)!.data[3] = NaN;
    writeFileSync(join(dir, 'model.safetensors'), serializeSafetensors([...tensors].map(([k, v]) => [k, { shape: v.shape, data: v.data }])));
    expect(await load(dir)).toMatch(new RegExp(`SafetensorsError: model\\.safetensors: tensor "${name.replace(/[.]/g, '\\.')}" holds NaN at index 3`));
  });

  it('config.json that is not JSON', async () => {
    const dir = writeTinyModel('llama');
    writeFileSync(join(dir, 'config.json'), '{"model_type": "llama",');
    expect(await load(dir)).toMatch(/no usable config\.json \(it does not parse as JSON/);
  });

  it('a folder without config.json', async () => {
    const dir = writeTinyModel('llama');
    rmSync(join(dir, 'config.json'));
    expect(await load(dir)).toMatch(/has no config\.json/);
  });
});
