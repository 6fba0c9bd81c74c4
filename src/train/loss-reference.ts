/**
 * The engine's training loss written plainly in TypeScript (float64), to check the fused C++ kernel:
 * cross-entropy averaged over annotated voxels + (1 − mean soft Dice over the foreground classes), where
 * annotated means label ≠ ignoreIndex and weight > 0, each voxel counted with its weight. Batch Dice sums
 * over all samples; per-sample Dice averages over the samples that have an annotated voxel. Nothing
 * annotated gives 0.
 */
export interface ReferenceLossOptions {
  ignoreIndex?: number;
  weights?: Float32Array | null;
  batchDice?: boolean;
  smooth?: number;
}

/** logits: [N, K, ...spatial] (last axis fastest); labels: [N, ...spatial]. */
export function referenceMaskedLoss(logits: ArrayLike<number>, shape: readonly number[], labels: ArrayLike<number>, options: ReferenceLossOptions = {}): number {
  const [n, k] = shape;
  const voxels = shape.slice(2).reduce((a, b) => a * b, 1);
  const ignore = options.ignoreIndex ?? -1;
  const smooth = options.smooth ?? 1e-5;
  const groups = options.batchDice === false ? n : 1;
  const intersection = new Float64Array(groups * k), predicted = new Float64Array(groups * k), truth = new Float64Array(groups * k);
  const annotatedPerGroup = new Float64Array(groups);
  let crossEntropy = 0, annotated = 0;
  const probs = new Float64Array(k);
  for (let s = 0; s < n; s++) {
    const g = groups === 1 ? 0 : s;
    for (let v = 0; v < voxels; v++) {
      const label = labels[s * voxels + v];
      const weight = options.weights ? options.weights[s * voxels + v] : 1;
      if (label === ignore || !(weight > 0)) continue;
      let max = -Infinity;
      for (let c = 0; c < k; c++) max = Math.max(max, logits[(s * k + c) * voxels + v]);
      let sum = 0;
      for (let c = 0; c < k; c++) sum += probs[c] = Math.exp(logits[(s * k + c) * voxels + v] - max);
      for (let c = 0; c < k; c++) {
        probs[c] /= sum;
        predicted[g * k + c] += weight * probs[c];
      }
      intersection[g * k + label] += weight * probs[label];
      truth[g * k + label] += weight;
      crossEntropy -= weight * Math.log(probs[label]);
      annotated += weight;
      annotatedPerGroup[g] += weight;
    }
  }
  if (annotated === 0) return 0;
  let dice = 0, terms = 0;
  for (let g = 0; g < groups; g++) {
    if (annotatedPerGroup[g] === 0) continue;
    for (let c = 1; c < k; c++) {
      dice += (2 * intersection[g * k + c] + smooth) / (predicted[g * k + c] + truth[g * k + c] + smooth);
      terms++;
    }
  }
  return crossEntropy / annotated + 1 - dice / terms;
}
