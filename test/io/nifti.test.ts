import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { gzipSync, gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { readVolume, writeVolume } from '../../src/io/read.js';
import { Volume, type Mat3 } from '../../src/io/volume.js';
import { axialAxis, orientationCode, resolveAxis } from '../../src/io/geometry.js';
import { isUserError } from '../../src/io/errors.js';
import { HIPPOCAMPUS, NO_DATA, TOTALSEG_CT, hippocampusCase, tempDir } from '../helpers.js';

async function rejectsUserError(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isUserError(err), `expected a UserError, got ${String(err)}`);
    assert.match((err as Error).message, pattern);
    assert.ok(!(err as Error).message.includes('\n'), 'message is one line');
    return true;
  });
}

test('reads a hippocampus case with its known geometry and values', { skip: NO_DATA }, async () => {
  const { image, label } = hippocampusCase('hippocampus_001');
  const img = await readVolume(image);
  assert.deepEqual(img.shape, [35, 51, 35]);
  assert.deepEqual(img.spacing, [1, 1, 1]);
  assert.equal(img.dataType, 'uint8');
  assert.equal(orientationCode(img.direction), 'RAS');
  assert.equal(axialAxis(img.direction), 2);
  // NIfTI origin (1,1,1) in RAS is (-1,-1,1) in LPS.
  assert.deepEqual(img.origin, [-1, -1, 1]);
  const lab = await readVolume(label);
  const values = new Set(lab.data);
  assert.deepEqual([...values].sort(), [0, 1, 2]);
});

test('reads the CT with int32 Hounsfield units and 112 axial slices of 3 mm', { skip: NO_DATA }, async () => {
  const ct = await readVolume(join(TOTALSEG_CT, 'example_ct.nii.gz'));
  assert.deepEqual(ct.shape, [122, 101, 112]);
  assert.deepEqual(ct.spacing, [3, 3, 3]);
  assert.equal(ct.dataType, 'int32');
  assert.equal(ct.shape[resolveAxis('axial', ct.direction)], 112);
  let min = Infinity;
  for (const v of ct.data) min = Math.min(min, v);
  assert.equal(min, -1207);
});

test('read → write → read is bit-exact for NIfTI, NRRD, MHA and MHD + raw, data and geometry', { skip: NO_DATA }, async () => {
  const dir = tempDir();
  for (const id of ['hippocampus_001', 'hippocampus_003']) {
    const { image, label } = hippocampusCase(id);
    for (const source of [image, label]) {
      const first = await readVolume(source);
      for (const ext of ['.nii.gz', '.nii', '.nrrd', '.mha', '.mhd']) {
        const out = join(dir, `${id}-${ext.replace(/\./g, '')}${ext}`);
        await writeVolume(first, out);
        const second = await readVolume(out);
        assert.equal(second.dataType, first.dataType, ext);
        assert.deepEqual(second.shape, first.shape);
        assert.deepEqual(second.spacing, first.spacing, ext);
        assert.deepEqual(second.origin, first.origin, ext);
        assert.deepEqual(second.direction, first.direction, ext);
        assert.deepEqual(Buffer.from(second.data.buffer, second.data.byteOffset, second.data.byteLength),
          Buffer.from(first.data.buffer, first.data.byteOffset, first.data.byteLength), ext);
      }
    }
  }
  // No temporary files left behind.
  assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp')), []);
});

test('an oblique, flipped volume keeps its geometry through NIfTI and NRRD; axial is found from the direction', async () => {
  const dir = tempDir();
  const c = Math.cos(0.3), s = Math.sin(0.3);
  // Voxel axis 0 runs head-to-foot (S–I), axes 1 and 2 lie in the axial plane.
  const direction: Mat3 = [0, c, -s, 0, s, c, -1, 0, 0];
  const data = new Float32Array(4 * 5 * 6).map((_, i) => i * 0.5 - 3);
  const vol = new Volume(data, { shape: [4, 5, 6], spacing: [2.5, 0.75, 0.75], origin: [12.5, -40, 7], direction });
  assert.equal(axialAxis(vol.direction), 0);
  assert.equal(resolveAxis('sagittal', vol.direction), 1);
  assert.equal(resolveAxis('coronal', vol.direction), 2);
  for (const ext of ['.nii.gz', '.nrrd']) {
    const out = join(dir, `oblique${ext}`);
    await writeVolume(vol, out);
    const back = await readVolume(out);
    assert.deepEqual(Array.from(back.data), Array.from(data));
    for (let i = 0; i < 9; i++) assert.ok(Math.abs(back.direction[i] - direction[i]) < 1e-6, `${ext} direction ${i}`);
    for (let i = 0; i < 3; i++) assert.ok(Math.abs(back.origin[i] - vol.origin[i]) < 1e-5, `${ext} origin ${i}`);
    for (let i = 0; i < 3; i++) assert.ok(Math.abs(back.spacing[i] - vol.spacing[i]) < 1e-6, `${ext} spacing ${i}`);
    assert.equal(axialAxis(back.direction), 0);
  }
});

test('slices along every axis are views with the right voxels', () => {
  const data = new Int16Array(3 * 4 * 5).map((_, i) => i);
  const vol = new Volume(data, { shape: [3, 4, 5], spacing: [1, 1, 1], origin: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] });
  const s2 = vol.slice(2, 3);
  assert.equal(s2.width, 3); assert.equal(s2.height, 4);
  assert.equal(s2.get(2, 1), vol.get(2, 1, 3));
  const s0 = vol.slice(0, 1);
  assert.equal(s0.width, 4); assert.equal(s0.height, 5);
  assert.equal(s0.get(3, 4), vol.get(1, 3, 4));
  assert.deepEqual(Array.from(vol.slice(1, 2).toFloat32()), [6, 7, 8, 18, 19, 20, 30, 31, 32, 42, 43, 44, 54, 55, 56]);
  data[vol.index(1, 3, 4)] = -7; // a view reads through to the data
  assert.equal(s0.get(3, 4), -7);
  assert.throws(() => vol.slice(2, 5), RangeError);
});

/** A minimal NIfTI-2 file, built byte by byte from the specification. */
function nifti2(data: Float64Array, shape: number[], slope: number, inter: number): Buffer {
  const h = Buffer.alloc(544);
  h.writeInt32LE(540, 0);
  h.write('n+2\0\r\n\x1a\n', 4, 'latin1');
  h.writeInt16LE(64, 12); h.writeInt16LE(64, 14);
  h.writeBigInt64LE(3n, 16);
  shape.forEach((n, k) => h.writeBigInt64LE(BigInt(n), 24 + 8 * k));
  for (let k = 3; k < 7; k++) h.writeBigInt64LE(1n, 24 + 8 * k);
  h.writeDoubleLE(1, 104);
  [2, 3, 4].forEach((d, k) => h.writeDoubleLE(d, 112 + 8 * k));
  h.writeBigInt64LE(544n, 168);
  h.writeDoubleLE(slope, 176); h.writeDoubleLE(inter, 184);
  h.writeInt32LE(2, 348); // sform_code aligned
  h.writeDoubleLE(2, 400); h.writeDoubleLE(5, 424);
  h.writeDoubleLE(3, 440); h.writeDoubleLE(6, 456);
  h.writeDoubleLE(4, 480); h.writeDoubleLE(7, 488);
  return Buffer.concat([h, Buffer.from(data.buffer)]);
}

test('NIfTI-2 with scale slope and intercept is read and scaled', async () => {
  const dir = tempDir();
  const data = Float64Array.from({ length: 24 }, (_, i) => i);
  const path = join(dir, 'two.nii.gz');
  writeFileSync(path, gzipSync(nifti2(data, [2, 3, 4], 2, -1)));
  const vol = await readVolume(path);
  assert.deepEqual(vol.shape, [2, 3, 4]);
  assert.deepEqual(vol.spacing, [2, 3, 4]);
  assert.deepEqual(vol.origin, [-5, -6, 7]);
  assert.equal(vol.dataType, 'float64');
  assert.deepEqual(Array.from(vol.data), Array.from(data, (v) => v * 2 - 1));
});

test('bad files: truncated gzip, short data, NaN, empty file, missing file', { skip: NO_DATA }, async () => {
  const dir = tempDir();
  const { image } = hippocampusCase('hippocampus_001');
  const bytes = readFileSync(image);
  const truncated = join(dir, 'truncated.nii.gz');
  writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
  await rejectsUserError(readVolume(truncated), /truncated\.nii\.gz: truncated gzip stream/);

  const raw = gunzipSync(bytes);
  const short = join(dir, 'short.nii');
  writeFileSync(short, raw.subarray(0, raw.length - 100));
  await rejectsUserError(readVolume(short), /short\.nii: header says 35×51×35 voxels \(62475 bytes\) but the file holds 62375 bytes/);

  const nanVol = new Volume(new Float32Array(8).fill(1), { shape: [2, 2, 2], spacing: [1, 1, 1], origin: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] });
  nanVol.data[5] = NaN;
  const nanPath = join(dir, 'nan.nii.gz');
  await writeVolume(nanVol, nanPath);
  await rejectsUserError(readVolume(nanPath), /nan\.nii\.gz: contains NaN voxels \(first at voxel 1,0,1\)/);
  nanVol.data[5] = Infinity;
  await writeVolume(nanVol, nanPath);
  await rejectsUserError(readVolume(nanPath), /contains infinite voxels/);

  const empty = join(dir, 'empty.nii.gz');
  writeFileSync(empty, '');
  await rejectsUserError(readVolume(empty), /empty\.nii\.gz: file is empty/);
  await rejectsUserError(readVolume(join(dir, 'absent.nii.gz')), /absent\.nii\.gz: no such file or folder/);
  const notNifti = join(dir, 'text.nii');
  writeFileSync(notNifti, 'x'.repeat(400));
  await rejectsUserError(readVolume(notNifti), /text\.nii: not a NIfTI file/);
  assert.ok(existsSync(HIPPOCAMPUS));
});

test('a DICOM series folder is read; an unreadable DICOM file is a one-line error', { skip: NO_DATA }, async () => {
  const dir = tempDir();
  const { image } = hippocampusCase('hippocampus_001'); // stored as uint8
  const source = await readVolume(image);
  const { writeWithItk } = await import('../../src/io/itk.js');
  const seriesDir = join(dir, 'series');
  (await import('node:fs')).mkdirSync(seriesDir);
  // ITK/GDCM writes the volume as one multi-frame file.
  const ints = source;
  await writeWithItk(ints, join(seriesDir, 'volume.dcm'));
  const back = await readVolume(seriesDir);
  assert.deepEqual(back.shape, source.shape);
  assert.deepEqual(Array.from(back.data.subarray(0, 500)), Array.from(ints.data.subarray(0, 500)));

  const badDir = join(dir, 'bad-series');
  (await import('node:fs')).mkdirSync(badDir);
  writeFileSync(join(badDir, 'slice1.dcm'), Buffer.alloc(300, 7));
  await rejectsUserError(readVolume(badDir), /bad-series[/\\]slice1\.dcm: is not a DICOM file \(no "DICM" marker at byte 128\)/);
  // A good file beside a stray non-DICOM one: the stray file is named.
  (await import('node:fs')).copyFileSync(join(seriesDir, 'volume.dcm'), join(badDir, 'a-good.dcm'));
  await rejectsUserError(readVolume(badDir), /slice1\.dcm: is not a DICOM file/);
});
