"""bench/scale/same.py A.h5 B.h5: exit 0 when two capture files hold the same datasets with the
same values, shapes, dtypes and attributes (root attribute `created` excepted)."""
import sys
import h5py
import numpy as np

a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
bad = []


def walk(name, obj):
    if not isinstance(obj, h5py.Dataset):
        return
    if name not in b or b[name].shape != obj.shape or b[name].dtype != obj.dtype:
        bad.append(name)
    elif not np.array_equal(obj[()], b[name][()], equal_nan=obj.dtype.kind == "f"):
        bad.append(name)


a.visititems(walk)
for k in set(a.attrs) | set(b.attrs):
    if k != "created" and (k not in a.attrs or k not in b.attrs
                           or not np.array_equal(np.asarray(a.attrs[k]), np.asarray(b.attrs[k]))):
        bad.append("@" + k)
print("differ: " + ", ".join(bad) if bad else "equal")
sys.exit(1 if bad else 0)
