"""Yardstick for bench/io: nibabel reads every image/label pair into numpy arrays (scaling applied)."""
import json, sys, time
import nibabel as nib
import numpy as np

paths = json.load(open(sys.argv[1]))
start = time.perf_counter()
total = 0
for p in paths:
    arr = np.asanyarray(nib.load(p).dataobj)
    total += arr.size
print(json.dumps({"seconds": time.perf_counter() - start, "voxels": int(total)}))
