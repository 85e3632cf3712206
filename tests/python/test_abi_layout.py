"""Every C struct the Python bindings mirror with ctypes has the same size
and field offsets in C: a small C program (compiled here against the
repository's headers) prints sizeof/offsetof of each struct and field named
by the ctypes definitions, and the two are compared.  A field name ctypes
uses that C does not have fails the compile, naming it.

The C struct of a ctypes class is the first word of its docstring
("strata_config (model.h)"), the convention of strata/_lib.py."""
import ctypes
import inspect
import os
import shutil
import subprocess

import pytest

import strata
from strata import _lib

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def mirrored_structs():
    out = {}
    for mod in [_lib] + [m for _, m in inspect.getmembers(strata, inspect.ismodule)]:
        for name, cls in inspect.getmembers(mod, inspect.isclass):
            if not issubclass(cls, ctypes.Structure) or cls is ctypes.Structure:
                continue
            doc = (cls.__doc__ or "").split()
            if doc and doc[0].startswith("strata_"):
                out[doc[0]] = cls
    return out


def test_struct_layouts_match_c(tmp_path):
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        pytest.skip("no C compiler")
    structs = mirrored_structs()
    assert len(structs) >= 10, sorted(structs)
    lines = ['#include <stddef.h>', '#include <stdio.h>', '#include "strata/strata.h"',
             'int main(void) {']
    for cname, cls in sorted(structs.items()):
        lines.append(f'    printf("S {cname} %zu\\n", sizeof({cname}));')
        for fname, _ in (f[:2] for f in cls._fields_):
            lines.append(f'    printf("F {cname} {fname} %zu\\n", offsetof({cname}, {fname}));')
    lines += ['    return 0;', '}']
    src = tmp_path / "layout.c"
    src.write_text("\n".join(lines) + "\n")
    exe = tmp_path / "layout"
    r = subprocess.run([cc, "-std=gnu11", "-I", os.path.join(ROOT, "include"), str(src), "-o", str(exe)],
                       capture_output=True, text=True)
    assert r.returncode == 0, "C does not have a field the bindings use:\n" + r.stderr[-3000:]
    got = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split("\n")
    bad = []
    for line in filter(None, got):
        parts = line.split()
        cls = structs[parts[1]]
        if parts[0] == "S":
            if ctypes.sizeof(cls) != int(parts[2]):
                bad.append(f"sizeof({parts[1]}): C {parts[2]}, ctypes {ctypes.sizeof(cls)}")
        else:
            off = getattr(cls, parts[2]).offset
            if off != int(parts[3]):
                bad.append(f"offsetof({parts[1]}, {parts[2]}): C {parts[3]}, ctypes {off}")
    assert not bad, "\n".join(bad)
