/**
 * Reading and writing the safetensors format: an 8-byte little-endian header length, a JSON
 * header {name: {dtype, shape, data_offsets}}, then the raw little-endian data.
 * Everything is widened to Float32Array because the engine computes in float32.
 */
import { SafetensorsError } from './errors';

export type SafetensorsDtype = 'F32' | 'F16' | 'BF16' | 'F64' | 'I32' | 'I64';

export interface SafeTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  /** Values widened to float32 (integer dtypes included: they are small tables such as position ids). */
  data: Float32Array;
}

const BYTES: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I32: 4, I64: 8 };

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

function isHeaderEntry(v: unknown): v is HeaderEntry {
  if (typeof v !== 'object' || v === null) return false;
  const e = v as Record<string, unknown>;
  return (
    typeof e.dtype === 'string' &&
    Array.isArray(e.shape) &&
    e.shape.every((d) => Number.isInteger(d) && (d as number) >= 0) &&
    Array.isArray(e.data_offsets) &&
    e.data_offsets.length === 2 &&
    e.data_offsets.every((d) => Number.isInteger(d) && (d as number) >= 0)
  );
}

/** Float16 bits → float32, including subnormals, infinities and NaN. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function decode(bytes: Uint8Array, dtype: SafetensorsDtype, count: number): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(count);
  switch (dtype) {
    case 'F32':
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
      break;
    case 'F64':
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(i * 8, true);
      break;
    case 'F16':
      for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(i * 2, true));
      break;
    case 'BF16': {
      // bf16 is the top half of a float32.
      const u32 = new Uint32Array(count);
      for (let i = 0; i < count; i++) u32[i] = view.getUint16(i * 2, true) << 16;
      out.set(new Float32Array(u32.buffer));
      break;
    }
    case 'I32':
      for (let i = 0; i < count; i++) out[i] = view.getInt32(i * 4, true);
      break;
    case 'I64':
      for (let i = 0; i < count; i++) out[i] = Number(view.getBigInt64(i * 8, true));
      break;
  }
  return out;
}

/** The format's own limit on the JSON header (it guards against a header used to exhaust memory). */
const MAX_HEADER_BYTES = 100_000_000;

/** The first non-finite value of a decoded float tensor, or -1. */
function firstNonFinite(data: Float32Array): number {
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v - v !== 0) return i;
  }
  return -1;
}

/**
 * Parse a whole .safetensors file. `fileName` only serves the error messages. The header is checked
 * as the format specifies: every tensor's data_offsets lie inside the data, in order, without
 * overlap, and together cover the data with no hole. Float tensors holding NaN or ±Infinity are
 * refused by name (a damaged or diverged checkpoint) unless `allowNonFinite`.
 */
export function parseSafetensors(bytes: Uint8Array, fileName = 'model.safetensors', opts: { allowNonFinite?: boolean } = {}): Map<string, SafeTensor> {
  const fail = (problem: string): never => {
    throw new SafetensorsError(`${fileName} is not a valid safetensors file: ${problem}.`);
  };
  if (bytes.byteLength < 8) fail(`it has ${bytes.byteLength} bytes, fewer than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (headerLen > bytes.byteLength - 8) {
    fail(`the header claims ${headerLen} bytes but the file has only ${bytes.byteLength - 8} after the length (truncated download?)`);
  }
  if (headerLen > MAX_HEADER_BYTES) fail(`the header claims ${headerLen} bytes, more than the format's limit of ${MAX_HEADER_BYTES}`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen)));
  } catch (e) {
    fail(`its JSON header does not parse (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('its header is not a JSON object');
  const dataStart = 8 + headerLen;
  const dataLen = bytes.byteLength - dataStart;
  const entries: [string, HeaderEntry][] = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry) || Object.values(entry).some((v) => typeof v !== 'string')) {
        fail('"__metadata__" must map names to strings');
      }
      continue;
    }
    if (!isHeaderEntry(entry)) fail(`the header entry for tensor "${name}" lacks dtype, shape or data_offsets`);
    const e = entry as HeaderEntry;
    if (!(e.dtype in BYTES)) fail(`tensor "${name}" has dtype ${e.dtype}; supported: ${Object.keys(BYTES).join(', ')}`);
    const [begin, end] = e.data_offsets;
    if (end < begin) fail(`tensor "${name}" has data_offsets [${begin}, ${end}], which end before they begin`);
    const count = e.shape.reduce((a, b) => a * b, 1);
    const need = count * BYTES[e.dtype as SafetensorsDtype];
    if (end - begin !== need) fail(`tensor "${name}" spans ${end - begin} bytes but shape [${e.shape.join(', ')}] of ${e.dtype} needs ${need}`);
    if (end > dataLen) fail(`tensor "${name}" ends at byte ${end} of the data but the data has only ${dataLen} bytes (truncated download?)`);
    entries.push([name, e]);
  }
  // The tensors, in offset order, must tile the data exactly: no overlap (two names for the same
  // bytes) and no hole (bytes no tensor claims, which could hide other content).
  const byOffset = [...entries].sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0] || a[1].data_offsets[1] - b[1].data_offsets[1]);
  let pos = 0;
  let prev = '';
  for (const [name, e] of byOffset) {
    const [begin, end] = e.data_offsets;
    if (begin < pos) fail(`tensor "${name}" (bytes ${begin}–${end}) overlaps tensor "${prev}" (which ends at ${pos})`);
    if (begin > pos) fail(`bytes ${pos}–${begin} of the data belong to no tensor (a hole before "${name}")`);
    pos = end;
    prev = name;
  }
  if (pos !== dataLen) fail(`the last ${dataLen - pos} bytes of the data belong to no tensor (the tensors end at byte ${pos} of ${dataLen})`);
  const out = new Map<string, SafeTensor>();
  for (const [name, e] of entries) {
    const dtype = e.dtype as SafetensorsDtype;
    const count = e.shape.reduce((a, b) => a * b, 1);
    const [begin, end] = e.data_offsets;
    const data = decode(bytes.subarray(dataStart + begin, dataStart + end), dtype, count);
    if (!opts.allowNonFinite && (dtype === 'F32' || dtype === 'F16' || dtype === 'BF16' || dtype === 'F64')) {
      const bad = firstNonFinite(data);
      if (bad >= 0) {
        throw new SafetensorsError(
          `${fileName}: tensor "${name}" holds ${data[bad]} at index ${bad}; the weights are damaged (a diverged run or a corrupt file). Use an earlier checkpoint or re-download the model.`,
        );
      }
    }
    out.set(name, { dtype, shape: e.shape, data });
  }
  return out;
}

/** Serialize float32 tensors as an F32 .safetensors file, in the given order. */
export function serializeSafetensors(tensors: Iterable<[string, { shape: number[]; data: Float32Array }]>): Uint8Array {
  const entries = [...tensors];
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const [name, t] of entries) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw new SafetensorsError(`Cannot save tensor "${name}": shape [${t.shape.join(', ')}] holds ${count} values but the data has ${t.data.length}.`);
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + count * 4] };
    offset += count * 4;
  }
  let json = JSON.stringify(header);
  // Pad with spaces so the data starts 8-byte aligned, as the reference implementation does.
  json += ' '.repeat((8 - ((8 + new TextEncoder().encode(json).length) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const [, t] of entries) {
    // Copy through a byte view; little-endian hosts (all browsers and Node targets) match the format.
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    pos += t.data.byteLength;
  }
  return out;
}

/** The weight_map of a sharded checkpoint's model.safetensors.index.json: tensor name → shard file. */
export function parseSafetensorsIndex(text: string, fileName = 'model.safetensors.index.json'): Map<string, string> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError(`${fileName} does not parse as JSON (${(e as Error).message}).`);
  }
  const map = (json as { weight_map?: unknown } | null)?.weight_map;
  if (typeof map !== 'object' || map === null) throw new SafetensorsError(`${fileName} has no "weight_map" object.`);
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(map as Record<string, unknown>)) {
    if (typeof v !== 'string') throw new SafetensorsError(`${fileName}: the shard of "${k}" is not a file name.`);
    out.set(k, v);
  }
  return out;
}
