import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hippocampusCase, tempDir } from '../helpers.js';

/** Six real hippocampus cases: enough for a few training steps, a validation split and a plan. */
export const SIX_CASES = ['hippocampus_001', 'hippocampus_003', 'hippocampus_004', 'hippocampus_006', 'hippocampus_007', 'hippocampus_008'];

/**
 * A temporary MSD-layout dataset of symlinks to real hippocampus cases (the shared data stays read-only);
 * `labels` writes a dataset.json declaring those labels.
 */
export function linkedHippocampus(ids: readonly string[] = SIX_CASES, options: { labels?: Record<string, number> } = {}): string {
  const root = join(tempDir('slicewise-hippo-'), 'dataset');
  mkdirSync(join(root, 'imagesTr'), { recursive: true });
  mkdirSync(join(root, 'labelsTr'));
  for (const id of ids) {
    const { image, label } = hippocampusCase(id);
    symlinkSync(image, join(root, 'imagesTr', `${id}.nii.gz`));
    symlinkSync(label, join(root, 'labelsTr', `${id}.nii.gz`));
  }
  if (options.labels) writeFileSync(join(root, 'dataset.json'), JSON.stringify({ name: 'hippocampus-subset', labels: options.labels }));
  return root;
}
