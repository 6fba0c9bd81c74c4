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
}).superRefine((planned, ctx) => {
  // A hand-edited plan must fail here, naming the field, not later as a wrong slice in some volume.
  const problem = (field: 'slices' | 'positionsMm', message: string) => ctx.addIssue({ code: 'custom', path: [field], message });
  const { slices, sliceCount } = planned;
  const beyond = slices.find((k) => k >= sliceCount);
  if (beyond !== undefined) problem('slices', `slice ${beyond} is beyond the ${sliceCount} slices`);
  const unordered = slices.findIndex((k, i) => i > 0 && k <= slices[i - 1]);
  if (unordered > 0) {
    const [before, k] = [slices[unordered - 1], slices[unordered]];
    problem('slices', k === before ? `slice ${k} is listed twice` : `slices must be ascending (${before} comes before ${k})`);
  }
  if (planned.positionsMm.length !== slices.length) problem('positionsMm', `${planned.positionsMm.length} positions for ${slices.length} slices`);
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
