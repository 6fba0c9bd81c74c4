/**
 * Radiological display orientation of one slice, from the volume's direction matrix (LPS):
 *   axial    anterior at the top, the patient's right on the viewer's left;
 *   coronal  superior at the top, the patient's right on the viewer's left;
 *   sagittal superior at the top, anterior on the viewer's left.
 * A slice comes out of `Volume.slice` as (u, v) over its two in-plane voxel axes in increasing order; the
 * display is that array, optionally transposed, then optionally flipped left–right and top–bottom. The exact
 * transform is stored per exported slice so import can invert it whatever the volume's orientation; for an
 * oblique volume each in-plane axis goes where it points most closely.
 */
import { patientAxisOfVoxelAxes, type Axis } from '../../io/geometry.js';
import type { Mat3, Vec3 } from '../../io/volume.js';

export type Plane = 'axial' | 'coronal' | 'sagittal';

export interface SliceDisplay {
  plane: Plane;
  /** Display = the (u, v) slice transposed: u runs down the display, v across it. */
  transpose: boolean;
  /** Mirror the (possibly transposed) slice left–right. */
  flipHorizontal: boolean;
  /** Mirror it top–bottom. */
  flipVertical: boolean;
  /** Anatomical letter that moving right along a display row goes toward (e.g. L). */
  rowsToward: string;
  /** Anatomical letter that moving down a display column goes toward (e.g. P). */
  columnsToward: string;
  /** Display size in pixels. */
  width: number;
  height: number;
  /** Physical size of one display pixel, mm. */
  pixelWidthMm: number;
  pixelHeightMm: number;
}

/** The transform part of a display (what the manifest stores and import reads back). */
export type DisplayTransform = Pick<SliceDisplay, 'transpose' | 'flipHorizontal' | 'flipVertical'>;

const POSITIVE_LETTER = ['L', 'P', 'S'];
const NEGATIVE_LETTER = ['R', 'A', 'I'];
const PLANE_OF_NORMAL: Plane[] = ['sagittal', 'coronal', 'axial'];

/** Per plane: the patient axis and sign that display right and display down should point toward (LPS). */
const TARGETS: Record<Plane, { right: [number, 1 | -1]; down: [number, 1 | -1] }> = {
  axial: { right: [0, 1], down: [1, 1] }, // right → L, down → P
  coronal: { right: [0, 1], down: [2, -1] }, // right → L, down → I
  sagittal: { right: [1, 1], down: [2, -1] }, // right → P, down → I
};

/** The two in-plane voxel axes of a slice along `axis`, in the order `Volume.slice` uses them (u, v). */
export function inPlaneAxes(axis: Axis): [Axis, Axis] {
  return axis === 0 ? [1, 2] : axis === 1 ? [0, 2] : [0, 1];
}

function letter(patientAxis: number, sign: number): string {
  return sign >= 0 ? POSITIVE_LETTER[patientAxis] : NEGATIVE_LETTER[patientAxis];
}

export function sliceDisplay(direction: Mat3, shape: Vec3, spacing: Vec3, axis: Axis): SliceDisplay {
  const patientOf = patientAxisOfVoxelAxes(direction);
  const plane = PLANE_OF_NORMAL[patientOf[axis]];
  const [a, b] = inPlaneAxes(axis);
  const target = TARGETS[plane];
  // The in-plane voxel axis that maps to the patient axis wanted across the screen goes horizontal.
  const horizontal = patientOf[a] === target.right[0] ? a : b;
  const vertical = horizontal === a ? b : a;
  const component = (voxelAxis: Axis, patientAxis: number) => direction[patientAxis * 3 + voxelAxis];
  const hSign = Math.sign(component(horizontal, target.right[0])) || 1;
  const vSign = Math.sign(component(vertical, target.down[0])) || 1;
  const flipHorizontal = hSign !== target.right[1];
  const flipVertical = vSign !== target.down[1];
  // After flipping, display right points along ±(horizontal axis) toward the target letter.
  const rightSign = flipHorizontal ? -hSign : hSign;
  const downSign = flipVertical ? -vSign : vSign;
  return {
    plane,
    transpose: horizontal !== a,
    flipHorizontal,
    flipVertical,
    rowsToward: letter(patientOf[horizontal], rightSign),
    columnsToward: letter(patientOf[vertical], downSign),
    width: shape[horizontal],
    height: shape[vertical],
    pixelWidthMm: spacing[horizontal],
    pixelHeightMm: spacing[vertical],
  };
}

/**
 * Where display pixel (column, row) comes from in the slice's (u, v) grid. `sliceWidth` / `sliceHeight`
 * are the slice's own sizes along u and v.
 */
export function displayToSlice(t: DisplayTransform, sliceWidth: number, sliceHeight: number, column: number, row: number): [number, number] {
  const displayWidth = t.transpose ? sliceHeight : sliceWidth;
  const displayHeight = t.transpose ? sliceWidth : sliceHeight;
  const c = t.flipHorizontal ? displayWidth - 1 - column : column;
  const r = t.flipVertical ? displayHeight - 1 - row : row;
  return t.transpose ? [r, c] : [c, r];
}

/** Display size (width, height) of a slice of (u, v) size sliceWidth × sliceHeight. */
export function displaySize(t: DisplayTransform, sliceWidth: number, sliceHeight: number): [number, number] {
  return t.transpose ? [sliceHeight, sliceWidth] : [sliceWidth, sliceHeight];
}

/**
 * Visit every display pixel of slice `index` along `axis` in row-major display order, with the flat voxel
 * offset it shows. Used both ways: export reads voxels into pixels, import writes pixels back to voxels.
 */
export function forEachDisplayPixel(shape: readonly number[], axis: Axis, index: number, t: DisplayTransform, visit: (pixel: number, offset: number) => void): void {
  const strides = [1, shape[0], shape[0] * shape[1]];
  const [a, b] = inPlaneAxes(axis);
  const sliceWidth = shape[a];
  const sliceHeight = shape[b];
  const [width, height] = displaySize(t, sliceWidth, sliceHeight);
  const base = index * strides[axis];
  let pixel = 0;
  for (let row = 0; row < height; row++) {
    for (let column = 0; column < width; column++, pixel++) {
      const [u, v] = displayToSlice(t, sliceWidth, sliceHeight, column, row);
      visit(pixel, base + u * strides[a] + v * strides[b]);
    }
  }
}
