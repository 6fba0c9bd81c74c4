/**
 * The plan: versioned JSON that every later stage takes as data (none recomputes one). Slice indices are
 * 0-based voxel indices along the case's slicing axis.
 */
import { z } from 'zod';

export const PLAN_FORMAT_VERSION = 1;

export const plannedCaseSchema = z.object({
  id: z.string().min(1),
  imagePath: z.string().min(1),
  labelPath: z.string().optional(),
  /** Voxel axis the slices are taken along. */
  axis: z.union([z.literal(0), z.literal(1), z.literal(2)]),
  sliceCount: z.number().int().positive(),
  /** Selected slice indices, 0-based, ascending, distinct. */
  slices: z.array(z.number().int().nonnegative()),
  /** Position of each selected slice along the axis, in mm (origin-relative physical coordinate). */
  positionsMm: z.array(z.number()),
});

export const planSchema = z.object({
  format: z.literal('slicewise-plan'),
  version: z.literal(PLAN_FORMAT_VERSION),
  slicewiseVersion: z.string(),
  dataset: z.string(),
  seed: z.number().int(),
  budget: z.number().int().positive(),
  /** The options the plan was made with (strategy, allocation, axis, range, ...). */
  options: z.record(z.string(), z.unknown()),
  cases: z.array(plannedCaseSchema),
  /** Cases left out because they could not be read (id and the reason), when any. */
  skipped: z.array(z.object({ id: z.string(), error: z.string() })).optional(),
});

export type PlannedCase = z.infer<typeof plannedCaseSchema>;
export type Plan = z.infer<typeof planSchema>;
