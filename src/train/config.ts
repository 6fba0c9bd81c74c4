/**
 * Training configuration: what a run folder's config.json holds, enough to rebuild the model for
 * prediction (architecture, canvas or patch, label values, normalization) and to repeat the run.
 */
import { z } from 'zod';

export const trainConfigSchema = z.object({
  format: z.literal('slicewise-run'),
  version: z.literal(1),
  slicewiseVersion: z.string(),
  model: z.enum(['2d', '3d']),
  dataset: z.string(),
  plan: z.string().nullable(),
  interpolation: z.enum(['none', 'mci', 'sdf', 'nearest']),
  interpolatedWeight: z.number().min(0).max(1),
  seed: z.number().int(),
  steps: z.number().int().positive(),
  batchSize: z.number().int().positive(),
  optimizer: z.enum(['sgd', 'adam']),
  learningRate: z.number().positive(),
  augment: z.boolean(),
  validationCases: z.array(z.string()),
  trainingCases: z.array(z.string()),
  validateEvery: z.number().int().positive(),
  earlyStopPatience: z.number().int().nonnegative(),
  threads: z.number().int().positive(),
  device: z.enum(['cpu', 'cuda']),
  network: z.object({
    depth: z.number().int().min(2).max(7),
    baseWidth: z.number().int().positive(),
    instanceNorm: z.boolean(),
    deepSupervision: z.boolean(),
  }),
  /** Image channels (`_0000`, `_0001`, ... files of a case), stacked as the model's input channels; run
   * folders written before multi-channel support have none and are single-channel. */
  inChannels: z.number().int().positive().default(1),
  /** 2D: the canvas H×W every slice is padded to; 3D: the patch D×H×W. */
  inputSize: z.array(z.number().int().positive()),
  /** Class index k ↔ label value labelValues[k]. */
  labelValues: z.array(z.number().int().nonnegative()),
  labelMap: z.record(z.string(), z.number().int()),
  /** Slicing axis used for 2D training and prediction (per case it is resolved from the direction). */
  axis: z.union([z.enum(['axial', 'coronal', 'sagittal']), z.literal(0), z.literal(1), z.literal(2)]),
});
export type TrainConfig = z.infer<typeof trainConfigSchema>;

/** Defaults per model: the schedule the study presets use is the same shape, shorter. */
export const TRAIN_DEFAULTS = {
  '2d': { steps: 1500, batchSize: 16, depth: 4, baseWidth: 16, optimizer: 'adam' as const, learningRate: 3e-3 },
  '3d': { steps: 800, batchSize: 2, depth: 3, baseWidth: 16, optimizer: 'adam' as const, learningRate: 3e-3 },
};
