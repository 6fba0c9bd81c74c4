/**
 * Multi-channel images (`CASE_0000`, `CASE_0001`, ... in the MSD / nnU-Net layout): every channel of a case
 * is read, checked to lie on channel 0's grid, normalized on its own and stacked as the model's input
 * channels, channel-major (C × voxels, each channel in the volume's own layout).
 */
import type { Case, Dataset } from '../io/dataset.js';
import { UserError } from '../io/errors.js';
import { readVolume } from '../io/read.js';
import { normalizeForModel } from '../io/normalize.js';
import { sameGeometry, type Volume } from '../io/volume.js';

/** "1 image channel", "2 image channels". */
export function channelCount(n: number): string {
  return `${n} image channel${n === 1 ? '' : 's'}`;
}

/** The channel count the given cases share; a dataset whose cases differ is refused, naming the first odd case. */
export function sharedChannelCount(dataset: Pick<Dataset, 'root'>, cases: readonly Case[]): number {
  const channels = cases[0]?.imagePaths.length ?? 1;
  const odd = cases.find((c) => c.imagePaths.length !== channels);
  if (odd) {
    throw new UserError(`case ${odd.id} has ${channelCount(odd.imagePaths.length)}, case ${cases[0].id} has ${channels}; every case needs the same channels`, dataset.root);
  }
  return channels;
}

/** Every image channel of a case, in channel order; `first` is channel 0 when the caller has read it already. */
export async function readChannels(c: Case, first?: Volume): Promise<Volume[]> {
  const channels = [first ?? await readVolume(c.imagePaths[0])];
  for (const path of c.imagePaths.slice(1)) {
    const volume = await readVolume(path);
    if (!sameGeometry(volume.geometry, channels[0].geometry)) {
      throw new UserError(`channel is not on the grid of ${c.imagePaths[0]} (shape ${volume.shape.join('×')} vs ${channels[0].shape.join('×')}, or spacing, origin or direction)`, path);
    }
    channels.push(volume);
  }
  return channels;
}

/** The model's input: each channel normalized on its own, the channels one after another. */
export function modelInput(channels: readonly Volume[]): Float32Array {
  if (channels.length === 1) return normalizeForModel(channels[0].data);
  const voxels = channels[0].data.length;
  const out = new Float32Array(channels.length * voxels);
  channels.forEach((volume, k) => out.set(normalizeForModel(volume.data), k * voxels));
  return out;
}

/** Channel k of a channel-major input (a view, no copy). */
export function channelView(image: Float32Array, channels: number, k: number): Float32Array {
  const voxels = image.length / channels;
  return image.subarray(k * voxels, (k + 1) * voxels);
}
