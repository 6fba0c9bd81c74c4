/**
 * NIfTI-1 and NIfTI-2 reading and NIfTI-1 writing, in TypeScript over Node's zlib. Measured faster than
 * itk-wasm for this one format (see bench/io); every other format goes through itk-wasm (src/io/itk.ts).
 *
 * Geometry: NIfTI stores RAS; we convert to ITK's LPS. The sform is preferred when present (nibabel's
 * rule), then the qform, then pixdim alone. Writing stores the same transform in both sform and qform.
 */
import { promisify } from 'node:util';
import { gunzip, gzip, constants as zlibConstants } from 'node:zlib';
import { UserError } from './errors.js';
import { Volume, dataTypeOf, type DataType, type Mat3, type Vec3, type VoxelArray } from './volume.js';

const gunzipAsync = promisify(gunzip);
const gzipAsync = promisify(gzip);

const NIFTI_TYPES: Record<number, { type: DataType | 'int64' | 'uint64'; bytes: number }> = {
  2: { type: 'uint8', bytes: 1 },
  4: { type: 'int16', bytes: 2 },
  8: { type: 'int32', bytes: 4 },
  16: { type: 'float32', bytes: 4 },
  64: { type: 'float64', bytes: 8 },
  256: { type: 'int8', bytes: 1 },
  512: { type: 'uint16', bytes: 2 },
  768: { type: 'uint32', bytes: 4 },
  1024: { type: 'int64', bytes: 8 },
  1280: { type: 'uint64', bytes: 8 },
};
const NIFTI_CODE_OF: Record<DataType, number> = {
  uint8: 2, int16: 4, int32: 8, float32: 16, float64: 64, int8: 256, uint16: 512, uint32: 768,
};

export interface NiftiHeader {
  version: 1 | 2;
  littleEndian: boolean;
  dims: number[]; // dim[0..7]
  datatype: number;
  pixdim: number[]; // pixdim[0..7]
  voxOffset: number;
  sclSlope: number;
  sclInter: number;
  qformCode: number;
  sformCode: number;
  quatern: [number, number, number];
  qoffset: [number, number, number];
  srow: [number[], number[], number[]];
}

export function isNiftiPath(path: string): boolean {
  return /\.nii(\.gz)?$/i.test(path);
}

export function parseNiftiHeader(buf: Buffer, file: string): NiftiHeader {
  if (buf.length < 348) throw new UserError(`too short for a NIfTI header (${buf.length} bytes)`, file);
  let le = true;
  let size = buf.readInt32LE(0);
  if (size !== 348 && size !== 540) {
    size = buf.readInt32BE(0);
    le = false;
  }
  if (size !== 348 && size !== 540) throw new UserError('not a NIfTI file (bad header size)', file);
  const i16 = (o: number) => (le ? buf.readInt16LE(o) : buf.readInt16BE(o));
  const i32 = (o: number) => (le ? buf.readInt32LE(o) : buf.readInt32BE(o));
  const f32 = (o: number) => (le ? buf.readFloatLE(o) : buf.readFloatBE(o));
  const f64 = (o: number) => (le ? buf.readDoubleLE(o) : buf.readDoubleBE(o));
  const i64 = (o: number) => Number(le ? buf.readBigInt64LE(o) : buf.readBigInt64BE(o));
  if (size === 348) {
    const magic = buf.toString('latin1', 344, 347);
    if (magic !== 'n+1' && magic !== 'ni1') throw new UserError('not a NIfTI-1 file (bad magic)', file);
    return {
      version: 1, littleEndian: le,
      dims: Array.from({ length: 8 }, (_, k) => i16(40 + 2 * k)),
      datatype: i16(70),
      pixdim: Array.from({ length: 8 }, (_, k) => f32(76 + 4 * k)),
      voxOffset: f32(108), sclSlope: f32(112), sclInter: f32(116),
      qformCode: i16(252), sformCode: i16(254),
      quatern: [f32(256), f32(260), f32(264)], qoffset: [f32(268), f32(272), f32(276)],
      srow: [0, 1, 2].map((r) => [0, 1, 2, 3].map((c) => f32(280 + 16 * r + 4 * c))) as [number[], number[], number[]],
    };
  }
  if (buf.length < 540) throw new UserError(`too short for a NIfTI-2 header (${buf.length} bytes)`, file);
  const magic = buf.toString('latin1', 4, 7);
  if (magic !== 'n+2' && magic !== 'ni2') throw new UserError('not a NIfTI-2 file (bad magic)', file);
  return {
    version: 2, littleEndian: le,
    dims: Array.from({ length: 8 }, (_, k) => i64(16 + 8 * k)),
    datatype: i16(12),
    pixdim: Array.from({ length: 8 }, (_, k) => f64(104 + 8 * k)),
    voxOffset: i64(168), sclSlope: f64(176), sclInter: f64(184),
    qformCode: i32(344), sformCode: i32(348),
    quatern: [f64(352), f64(360), f64(368)], qoffset: [f64(376), f64(384), f64(392)],
    srow: [0, 1, 2].map((r) => [0, 1, 2, 3].map((c) => f64(400 + 32 * r + 8 * c))) as [number[], number[], number[]],
  };
}

/** RAS affine columns (3×3, row-major) and translation from a header, by nibabel's precedence. */
function rasTransform(h: NiftiHeader): { linear: number[]; offset: Vec3 } {
  if (h.sformCode > 0) {
    const m = h.srow;
    return { linear: [m[0][0], m[0][1], m[0][2], m[1][0], m[1][1], m[1][2], m[2][0], m[2][1], m[2][2]], offset: [m[0][3], m[1][3], m[2][3]] };
  }
  const dx = Math.abs(h.pixdim[1]) || 1, dy = Math.abs(h.pixdim[2]) || 1, dz = Math.abs(h.pixdim[3]) || 1;
  if (h.qformCode > 0) {
    const [b, c, d] = h.quatern;
    const a = Math.sqrt(Math.max(0, 1 - (b * b + c * c + d * d)));
    const qfac = h.pixdim[0] < 0 ? -1 : 1;
    const r = [
      a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c),
      2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b),
      2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b,
    ];
    const linear = [
      r[0] * dx, r[1] * dy, r[2] * dz * qfac,
      r[3] * dx, r[4] * dy, r[5] * dz * qfac,
      r[6] * dx, r[7] * dy, r[8] * dz * qfac,
    ];
    return { linear, offset: [...h.qoffset] as Vec3 };
  }
  return { linear: [dx, 0, 0, 0, dy, 0, 0, 0, dz], offset: [0, 0, 0] };
}

export function niftiGeometry(h: NiftiHeader): { spacing: Vec3; origin: Vec3; direction: Mat3 } {
  const { linear, offset } = rasTransform(h);
  const spacing = [0, 1, 2].map((c) => Math.hypot(linear[c], linear[3 + c], linear[6 + c]) || 1) as Vec3;
  const direction = new Array<number>(9);
  for (let r = 0; r < 3; r++) {
    const flip = r < 2 ? -1 : 1; // RAS → LPS
    for (let c = 0; c < 3; c++) direction[r * 3 + c] = (flip * linear[r * 3 + c]) / spacing[c] + 0; // +0 turns -0 into 0
  }
  return { spacing, origin: [-offset[0] + 0, -offset[1] + 0, offset[2] + 0], direction: direction as Mat3 };
}

function typedView(type: DataType, buffer: ArrayBuffer, offset: number, length: number): VoxelArray {
  switch (type) {
    case 'uint8': return new Uint8Array(buffer, offset, length);
    case 'int8': return new Int8Array(buffer, offset, length);
    case 'uint16': return new Uint16Array(buffer, offset, length);
    case 'int16': return new Int16Array(buffer, offset, length);
    case 'uint32': return new Uint32Array(buffer, offset, length);
    case 'int32': return new Int32Array(buffer, offset, length);
    case 'float32': return new Float32Array(buffer, offset, length);
    case 'float64': return new Float64Array(buffer, offset, length);
  }
}

/** Decode a whole NIfTI file held in memory (already decompressed). */
export function decodeNifti(raw: Buffer, file: string): Volume {
  const h = parseNiftiHeader(raw, file);
  const nd = h.dims[0];
  if (nd < 1 || nd > 7) throw new UserError(`header has an invalid dimension count ${nd}`, file);
  const shape = [1, 2, 3].map((k) => (k <= nd ? h.dims[k] : 1)) as Vec3;
  for (let k = 4; k <= nd; k++) {
    if (h.dims[k] > 1) throw new UserError(`is ${nd}D with ${h.dims[k]} time points or components; slicewise reads 3D volumes`, file);
  }
  if (shape.some((n) => !Number.isInteger(n) || n < 1)) throw new UserError(`header has invalid dimensions ${shape.join('×')}`, file);
  const info = NIFTI_TYPES[h.datatype];
  if (!info) throw new UserError(`unsupported NIfTI data type code ${h.datatype}`, file);
  if (info.type === 'int64' || info.type === 'uint64') throw new UserError(`64-bit integer voxels are not supported`, file);
  const headerEnd = h.version === 1 ? 352 : 544;
  const offset = h.voxOffset >= headerEnd - 4 ? Math.round(h.voxOffset) : headerEnd;
  const count = shape[0] * shape[1] * shape[2];
  const needed = count * info.bytes;
  if (raw.length < offset + needed) {
    throw new UserError(`header says ${shape.join('×')} voxels (${needed} bytes) but the file holds ${Math.max(0, raw.length - offset)} bytes of data`, file);
  }
  let data: VoxelArray;
  const start = raw.byteOffset + offset;
  if (start % info.bytes === 0) data = typedView(info.type, raw.buffer as ArrayBuffer, start, count);
  else {
    const copy = new Uint8Array(needed);
    copy.set(raw.subarray(offset, offset + needed));
    data = typedView(info.type, copy.buffer, 0, count);
  }
  if (!h.littleEndian && info.bytes > 1) {
    // Byte-swap into a fresh, native-order array.
    const bytes = new Uint8Array(needed);
    bytes.set(raw.subarray(offset, offset + needed));
    for (let i = 0; i < needed; i += info.bytes) bytes.subarray(i, i + info.bytes).reverse();
    data = typedView(info.type, bytes.buffer, 0, count);
  }
  const slope = h.sclSlope, inter = h.sclInter;
  if (Number.isFinite(slope) && slope !== 0 && !(slope === 1 && (inter === 0 || !Number.isFinite(inter)))) {
    const out = info.type === 'float64' ? new Float64Array(count) : new Float32Array(count);
    const b = Number.isFinite(inter) ? inter : 0;
    for (let i = 0; i < count; i++) out[i] = data[i] * slope + b;
    data = out;
  }
  return new Volume(data, { shape, ...niftiGeometry(h) });
}

export async function decodeNiftiFile(bytes: Buffer, file: string): Promise<Volume> {
  let raw = bytes;
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      raw = await gunzipAsync(bytes);
    } catch (err) {
      const msg = (err as Error).message.includes('unexpected end') ? 'truncated gzip stream (the file is cut short)' : `corrupt gzip stream (${(err as Error).message})`;
      throw new UserError(msg, file);
    }
  }
  return decodeNifti(raw, file);
}

/** Quaternion parameters (b, c, d, qfac) of an orthonormal RAS rotation, as nifti1_io does it. */
function quaternionOf(r: number[]): { b: number; c: number; d: number; qfac: number } {
  const m = [...r];
  const det = m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6]);
  let qfac = 1;
  if (det < 0) {
    qfac = -1;
    m[2] = -m[2]; m[5] = -m[5]; m[8] = -m[8];
  }
  let a = m[0] + m[4] + m[8] + 1;
  let b: number, c: number, d: number;
  if (a > 0.5) {
    a = 0.5 * Math.sqrt(a);
    b = (0.25 * (m[7] - m[5])) / a;
    c = (0.25 * (m[2] - m[6])) / a;
    d = (0.25 * (m[3] - m[1])) / a;
  } else {
    const xd = 1 + m[0] - (m[4] + m[8]);
    const yd = 1 + m[4] - (m[0] + m[8]);
    const zd = 1 + m[8] - (m[0] + m[4]);
    if (xd > 1) {
      b = 0.5 * Math.sqrt(xd); c = (0.25 * (m[1] + m[3])) / b; d = (0.25 * (m[2] + m[6])) / b; a = (0.25 * (m[7] - m[5])) / b;
    } else if (yd > 1) {
      c = 0.5 * Math.sqrt(yd); b = (0.25 * (m[1] + m[3])) / c; d = (0.25 * (m[5] + m[7])) / c; a = (0.25 * (m[2] - m[6])) / c;
    } else {
      d = 0.5 * Math.sqrt(zd); b = (0.25 * (m[2] + m[6])) / d; c = (0.25 * (m[5] + m[7])) / d; a = (0.25 * (m[3] - m[1])) / d;
    }
    if (a < 0) { b = -b; c = -c; d = -d; }
  }
  return { b, c, d, qfac };
}

/** Encode a volume as an uncompressed NIfTI-1 file in memory. */
export function encodeNifti(volume: Volume): Buffer {
  const type = dataTypeOf(volume.data);
  const bytesPer = volume.data.BYTES_PER_ELEMENT;
  const header = Buffer.alloc(352);
  header.writeInt32LE(348, 0);
  header.writeInt16LE(3, 40);
  for (let k = 0; k < 3; k++) header.writeInt16LE(volume.shape[k], 42 + 2 * k);
  for (let k = 3; k < 7; k++) header.writeInt16LE(1, 42 + 2 * k);
  header.writeInt16LE(NIFTI_CODE_OF[type], 70);
  header.writeInt16LE(bytesPer * 8, 72);
  // LPS → RAS for the stored transform.
  const ras = volume.direction.map((v, i) => (i < 6 ? -v : v) + 0);
  const q = quaternionOf(ras);
  header.writeFloatLE(q.qfac, 76);
  for (let k = 0; k < 3; k++) header.writeFloatLE(volume.spacing[k], 80 + 4 * k);
  for (let k = 3; k < 7; k++) header.writeFloatLE(1, 80 + 4 * k);
  header.writeFloatLE(352, 108);
  header.writeFloatLE(1, 112); // scl_slope
  header.writeFloatLE(0, 116); // scl_inter
  header.writeUInt8(2 | (8 << 3), 123); // xyzt_units: mm, s
  header.write('slicewise', 148, 'latin1');
  header.writeInt16LE(1, 252); // qform_code: scanner
  header.writeInt16LE(1, 254); // sform_code: scanner
  header.writeFloatLE(q.b, 256);
  header.writeFloatLE(q.c, 260);
  header.writeFloatLE(q.d, 264);
  const rasOrigin = [-volume.origin[0] + 0, -volume.origin[1] + 0, volume.origin[2]];
  for (let k = 0; k < 3; k++) header.writeFloatLE(rasOrigin[k], 268 + 4 * k);
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) header.writeFloatLE(ras[r * 3 + c] * volume.spacing[c], 280 + 16 * r + 4 * c);
    header.writeFloatLE(rasOrigin[r], 280 + 16 * r + 12);
  }
  header.write('n+1\0', 344, 'latin1');
  const body = Buffer.from(volume.data.buffer, volume.data.byteOffset, volume.data.byteLength);
  return Buffer.concat([header, body]);
}

export async function encodeNiftiFile(volume: Volume, path: string): Promise<Buffer> {
  const raw = encodeNifti(volume);
  return /\.gz$/i.test(path) ? gzipAsync(raw, { level: 4, strategy: zlibConstants.Z_DEFAULT_STRATEGY }) : raw;
}
