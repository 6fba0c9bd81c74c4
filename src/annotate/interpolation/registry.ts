/** The interpolation methods, by name. Adding one is adding a file and a line here. */
import { mciMethod } from './mci.js';
import { nearestMethod } from './nearest.js';
import { sdfMethod } from './sdf.js';
import type { MethodInput, MethodOutput } from './slices.js';

export interface InterpolationMethod {
  name: string;
  description: string;
  /** Fills every slice strictly between the first and last annotated slice; other slices are left as given. */
  interpolate(input: MethodInput): Promise<MethodOutput>;
}

export const INTERPOLATION_METHODS = {
  mci: mciMethod,
  sdf: sdfMethod,
  nearest: nearestMethod,
} satisfies Record<string, InterpolationMethod>;

export type InterpolationMethodName = keyof typeof INTERPOLATION_METHODS;

export const INTERPOLATION_METHOD_NAMES = Object.keys(INTERPOLATION_METHODS) as InterpolationMethodName[];

export function isInterpolationMethodName(name: string): name is InterpolationMethodName {
  return Object.hasOwn(INTERPOLATION_METHODS, name);
}
