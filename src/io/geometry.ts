import { UserError } from './errors.js';
import type { Mat3 } from './volume.js';

export type Axis = 0 | 1 | 2;
export type AnatomicalAxisName = 'axial' | 'coronal' | 'sagittal';
export type AxisChoice = AnatomicalAxisName | Axis;

/** LPS letters: the direction each patient-coordinate axis points to when positive, and its opposite. */
const POSITIVE = ['L', 'P', 'S'];
const NEGATIVE = ['R', 'A', 'I'];

/** Column j of the direction matrix: where voxel axis j points in LPS space. */
export function axisVector(direction: Mat3, axis: Axis): [number, number, number] {
  return [direction[axis], direction[3 + axis], direction[6 + axis]];
}

/**
 * The patient axis (0 = L/R, 1 = P/A, 2 = S/I) that each voxel axis is closest to. Resolved greedily by
 * the largest absolute cosine so an oblique volume still maps each patient axis to exactly one voxel axis.
 */
export function patientAxisOfVoxelAxes(direction: Mat3): [number, number, number] {
  const result = [-1, -1, -1];
  const usedPatient = new Set<number>();
  const pairs: Array<{ voxel: number; patient: number; cos: number }> = [];
  for (let v = 0; v < 3; v++) for (let p = 0; p < 3; p++) pairs.push({ voxel: v, patient: p, cos: Math.abs(direction[p * 3 + v]) });
  pairs.sort((a, b) => b.cos - a.cos || a.voxel - b.voxel || a.patient - b.patient);
  for (const { voxel, patient } of pairs) {
    if (result[voxel] !== -1 || usedPatient.has(patient)) continue;
    result[voxel] = patient;
    usedPatient.add(patient);
  }
  return result as [number, number, number];
}

/**
 * Orientation code in nibabel's convention: for each voxel axis, the letter of the anatomical direction
 * that increasing index moves toward, so a NIfTI file with an identity affine reads "RAS" and a DICOM
 * series in its usual order reads "LPS".
 */
export function orientationCode(direction: Mat3): string {
  const map = patientAxisOfVoxelAxes(direction);
  let code = '';
  for (let v = 0; v < 3; v++) {
    const p = map[v];
    const component = direction[p * 3 + v];
    // component > 0 means the axis points toward +LPS (L, P or S).
    code += component >= 0 ? POSITIVE[p] : NEGATIVE[p];
  }
  return code;
}

/** The voxel axis closest to the patient's superior–inferior direction. */
export function axialAxis(direction: Mat3): Axis {
  return patientAxisOfVoxelAxes(direction).indexOf(2) as Axis;
}

export function resolveAxis(choice: AxisChoice | string | undefined, direction: Mat3): Axis {
  if (choice === undefined || choice === 'axial') return axialAxis(direction);
  if (choice === 'coronal') return patientAxisOfVoxelAxes(direction).indexOf(1) as Axis;
  if (choice === 'sagittal') return patientAxisOfVoxelAxes(direction).indexOf(0) as Axis;
  if (choice === 0 || choice === 1 || choice === 2) return choice;
  if (choice === '0' || choice === '1' || choice === '2') return Number(choice) as Axis;
  throw new UserError(`unknown axis "${String(choice)}" (use axial, coronal, sagittal, 0, 1 or 2)`, '--axis');
}

export function parseAxisChoice(value: string): AxisChoice {
  if (value === 'axial' || value === 'coronal' || value === 'sagittal') return value;
  if (value === '0' || value === '1' || value === '2') return Number(value) as Axis;
  throw new UserError(`unknown axis "${value}" (use axial, coronal, sagittal, 0, 1 or 2)`, '--axis');
}
