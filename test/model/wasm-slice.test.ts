/**
 * kernels/wasm-slice.ts: tfjs-wasm's Slice with a contiguous case that copies only the slice.
 * Equal to a plain-JS slice on contiguous and strided slices, across heap growth, and no
 * longer as slow as copying the whole input.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from '../../src/cli/node-webgpu';
import { installWasmContiguousSlice } from '../../src/core/kernels/wasm-slice';

beforeAll(async () => {
  await initNodeBackend('wasm');
  installWasmContiguousSlice();
});

const cases: [string, number[], number[], number[]][] = [
  ['rows of a matrix (contiguous)', [7, 5], [2, 0], [3, 5]],
  ['one row', [7, 5], [6, 0], [1, 5]],
  ['columns (strided)', [7, 5], [0, 1], [7, 2]],
  ['inner block of a 3-D tensor (contiguous)', [4, 3, 6], [1, 2, 0], [1, 1, 6]],
  ['3-D strided', [4, 3, 6], [1, 0, 2], [2, 3, 3]],
  ['empty', [7, 5], [3, 0], [0, 5]],
];

describe('wasm contiguous Slice', () => {
  it.each(cases)('equals a reference slice: %s', (_name, shape, begin, size) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const values = Float32Array.from({ length: n }, (_, i) => i * 0.5 - 3);
    const before = tf.memory().numTensors;
    const x = tf.tensor(values, shape);
    const got = tf.slice(x, begin, size);
    expect(got.shape).toEqual(size);
    const want = expected(values, shape, begin, size);
    expect(Array.from(got.dataSync())).toEqual(want);
    tf.dispose([x, got]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('int32 slices and slices taken after the heap grew', () => {
    const x = tf.tensor2d(Int32Array.from({ length: 40 }, (_, i) => i), [8, 5], 'int32');
    // Allocations in between move nothing, but a grown heap detaches old views of it.
    const big = tf.zeros([64, 2 ** 20]);
    const s = tf.slice(x, [3, 0], [2, 5]);
    expect(s.dtype).toBe('int32');
    expect(Array.from(s.dataSync())).toEqual([15, 16, 17, 18, 19, 20, 21, 22, 23, 24]);
    tf.dispose([x, big, s]);
  });

  it('a few rows of a large matrix cost a fraction of copying all of it', async () => {
    const x = tf.randomNormal([256, 49_152]);
    const time = async (f: () => tf.Tensor) => {
      f().dispose();
      const t0 = performance.now();
      for (let i = 0; i < 5; i++) f().dispose();
      return (performance.now() - t0) / 5;
    };
    const rows = await time(() => tf.slice(x, [42, 0], [8, 49_152]));
    const all = await time(() => tf.add(x, 0));
    x.dispose();
    // 8 of 256 rows: tfjs-wasm's own Slice measured about as slow as the full copy.
    expect(rows).toBeLessThan(all / 4);
  });
});

function expected(values: Float32Array, shape: number[], begin: number[], size: number[]): number[] {
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const out: number[] = [];
  const idx = new Array(size.length).fill(0);
  const total = size.reduce((a, b) => a * b, 1);
  for (let k = 0; k < total; k++) {
    let rem = k;
    for (let d = size.length - 1; d >= 0; d--) {
      idx[d] = rem % size[d]!;
      rem = Math.floor(rem / size[d]!);
    }
    out.push(values[idx.reduce((a, v, d) => a + (v + begin[d]!) * strides[d]!, 0)]!);
  }
  return out;
}
