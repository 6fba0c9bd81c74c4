import { mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { HIPPOCAMPUS, tempDir } from '../helpers.js';

/**
 * A small MSD-layout dataset of the first `count` hippocampus cases, as symbolic links in a temporary
 * folder (the real files are read in place, never copied).
 */
export function hippocampusSubset(count: number): string {
  const root = tempDir('slicewise-plan-subset-');
  for (const folder of ['imagesTr', 'labelsTr']) {
    mkdirSync(join(root, folder));
    for (const name of readdirSync(join(HIPPOCAMPUS, folder)).filter((f) => f.endsWith('.nii.gz')).sort().slice(0, count)) {
      symlinkSync(join(HIPPOCAMPUS, folder, name), join(root, folder, name));
    }
  }
  return root;
}
