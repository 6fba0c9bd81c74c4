/**
 * The one in-memory volume type. Geometry follows ITK's convention (the one itk-wasm returns): voxel
 * axis 0 varies fastest in `data`, `origin` and `direction` are in LPS patient coordinates (mm), and
 * column j of the row-major 3×3 `direction` is the unit vector of voxel axis j.
 */
export type VoxelArray =
  | Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array | Float32Array | Float64Array;

export type DataType = 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32' | 'float32' | 'float64';

export type Vec3 = [number, number, number];
/** Row-major 3×3 matrix; column j is the direction of voxel axis j. */
export type Mat3 = [number, number, number, number, number, number, number, number, number];

export interface Geometry {
  /** Voxel counts per axis, axis 0 fastest in memory. */
  shape: Vec3;
  spacing: Vec3;
  origin: Vec3;
  direction: Mat3;
}

export const IDENTITY: Mat3 = [1, 0, 0, 0, 1, 0, 0, 0, 1];

export function dataTypeOf(data: VoxelArray): DataType {
  if (data instanceof Uint8Array) return 'uint8';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Uint16Array) return 'uint16';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Uint32Array) return 'uint32';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Float32Array) return 'float32';
  return 'float64';
}

export function allocate(type: DataType, length: number): VoxelArray {
  switch (type) {
    case 'uint8': return new Uint8Array(length);
    case 'int8': return new Int8Array(length);
    case 'uint16': return new Uint16Array(length);
    case 'int16': return new Int16Array(length);
    case 'uint32': return new Uint32Array(length);
    case 'int32': return new Int32Array(length);
    case 'float32': return new Float32Array(length);
    case 'float64': return new Float64Array(length);
  }
}

/** A 2D view of one slice: (u, v) run over the two other voxel axes in increasing order. */
export interface SliceView {
  readonly axis: 0 | 1 | 2;
  readonly index: number;
  readonly width: number;
  readonly height: number;
  get(u: number, v: number): number;
  /** Copy this slice only (row u fastest). */
  toFloat32(): Float32Array;
}

export class Volume {
  readonly data: VoxelArray;
  readonly shape: Vec3;
  readonly spacing: Vec3;
  readonly origin: Vec3;
  readonly direction: Mat3;

  constructor(data: VoxelArray, geometry: Geometry) {
    const [nx, ny, nz] = geometry.shape;
    if (data.length !== nx * ny * nz) {
      throw new Error(`voxel count ${data.length} does not match shape ${geometry.shape.join('×')}`);
    }
    this.data = data;
    this.shape = [...geometry.shape] as Vec3;
    this.spacing = [...geometry.spacing] as Vec3;
    this.origin = [...geometry.origin] as Vec3;
    this.direction = [...geometry.direction] as Mat3;
  }

  get dataType(): DataType {
    return dataTypeOf(this.data);
  }

  get geometry(): Geometry {
    return { shape: [...this.shape] as Vec3, spacing: [...this.spacing] as Vec3, origin: [...this.origin] as Vec3, direction: [...this.direction] as Mat3 };
  }

  /** Strides of the three voxel axes in `data`. */
  get strides(): Vec3 {
    return [1, this.shape[0], this.shape[0] * this.shape[1]];
  }

  index(i: number, j: number, k: number): number {
    return i + this.shape[0] * (j + this.shape[1] * k);
  }

  get(i: number, j: number, k: number): number {
    return this.data[this.index(i, j, k)];
  }

  sliceCount(axis: 0 | 1 | 2): number {
    return this.shape[axis];
  }

  /** A view of slice `index` along `axis`; reads through to `data`, copies nothing. */
  slice(axis: 0 | 1 | 2, index: number): SliceView {
    if (!Number.isInteger(index) || index < 0 || index >= this.shape[axis]) {
      throw new RangeError(`slice ${index} is outside 0..${this.shape[axis] - 1} along axis ${axis}`);
    }
    const strides = this.strides;
    const [a, b] = axis === 0 ? [1, 2] : axis === 1 ? [0, 2] : [0, 1];
    const width = this.shape[a];
    const height = this.shape[b];
    const su = strides[a];
    const sv = strides[b];
    const base = index * strides[axis];
    const data = this.data;
    return {
      axis, index, width, height,
      get: (u: number, v: number) => data[base + u * su + v * sv],
      toFloat32: () => {
        const out = new Float32Array(width * height);
        let o = 0;
        for (let v = 0; v < height; v++) {
          const row = base + v * sv;
          for (let u = 0; u < width; u++) out[o++] = data[row + u * su];
        }
        return out;
      },
    };
  }

  /** Same geometry, other voxels. */
  withData(data: VoxelArray): Volume {
    return new Volume(data, this.geometry);
  }

  /** Physical LPS position (mm) of a voxel index. */
  indexToPhysical(i: number, j: number, k: number): Vec3 {
    const d = this.direction;
    const s = this.spacing;
    const o = this.origin;
    const x = i * s[0], y = j * s[1], z = k * s[2];
    return [
      o[0] + d[0] * x + d[1] * y + d[2] * z,
      o[1] + d[3] * x + d[4] * y + d[5] * z,
      o[2] + d[6] * x + d[7] * y + d[8] * z,
    ];
  }
}

export function sameGeometry(a: Geometry, b: Geometry, tolerance = 1e-4): boolean {
  for (let i = 0; i < 3; i++) if (a.shape[i] !== b.shape[i]) return false;
  const close = (x: number, y: number, scale = 1) => Math.abs(x - y) <= tolerance * Math.max(1, scale);
  for (let i = 0; i < 3; i++) {
    if (!close(a.spacing[i], b.spacing[i], a.spacing[i])) return false;
    if (!close(a.origin[i], b.origin[i], Math.abs(a.origin[i]))) return false;
  }
  for (let i = 0; i < 9; i++) if (!close(a.direction[i], b.direction[i])) return false;
  return true;
}
