"""A tiny in-tree PEP 517 build backend for the pure-Python strata package.

Why not setuptools: pip builds in an isolated environment and would download
setuptools first, which fails offline.  This backend has no requirements, so
``pip install bindings/python`` works without network access.  It packs
strata/*.py (and a libstrata.so* placed next to them, if any) into a wheel;
``pip install -e`` gets a .pth file pointing at this directory.
"""

import base64
import hashlib
import io
import os
import re
import tarfile
import zipfile

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAME = "strata"


def _version():
    with open(os.path.join(HERE, "strata", "__init__.py"), encoding="utf-8") as f:
        return re.search(r'^__version__ = "([^"]+)"', f.read(), re.M).group(1)


def _metadata():
    with open(os.path.join(HERE, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    return (f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {_version()}\n"
            "Summary: Python bindings (ctypes + numpy) of libstrata, a toolkit for looking "
            "inside transformer language models\n"
            "Requires-Python: >=3.8\nRequires-Dist: numpy\nLicense: MIT\n"
            "Description-Content-Type: text/markdown\n\n" + readme)


def _package_files():
    pkg = os.path.join(HERE, NAME)
    for fn in sorted(os.listdir(pkg)):
        if fn.endswith(".py") or fn.startswith("libstrata.so") or fn == "py.typed":
            yield os.path.join(pkg, fn), f"{NAME}/{fn}"


def _write_wheel(wheel_directory, files):
    """files: [(arcname, bytes)]; returns the wheel's file name."""
    ver = _version()
    distinfo = f"{NAME}-{ver}.dist-info"
    wheel_name = f"{NAME}-{ver}-py3-none-any.whl"
    files = list(files) + [
        (f"{distinfo}/METADATA", _metadata().encode()),
        (f"{distinfo}/WHEEL", b"Wheel-Version: 1.0\nGenerator: strata_build\n"
                              b"Root-Is-Purelib: true\nTag: py3-none-any\n"),
    ]
    record = []
    with zipfile.ZipFile(os.path.join(wheel_directory, wheel_name), "w",
                         zipfile.ZIP_DEFLATED) as z:
        for arc, data in files:
            z.writestr(arc, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            record.append(f"{arc},sha256={digest.decode()},{len(data)}")
        record.append(f"{distinfo}/RECORD,,")
        z.writestr(f"{distinfo}/RECORD", "\n".join(record) + "\n")
    return wheel_name


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    files = []
    for path, arc in _package_files():
        with open(path, "rb") as f:
            files.append((arc, f.read()))
    return _write_wheel(wheel_directory, files)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    return _write_wheel(wheel_directory, [(f"__editable__.{NAME}.pth", (HERE + "\n").encode())])


def build_sdist(sdist_directory, config_settings=None):
    base = f"{NAME}-{_version()}"
    name = f"{base}.tar.gz"
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz") as t:
        for rel in ["pyproject.toml", "README.md", "_build/strata_build.py"]:
            t.add(os.path.join(HERE, rel), f"{base}/{rel}")
        for path, arc in _package_files():
            t.add(path, f"{base}/{arc}")
        pkg_info = _metadata().encode()
        ti = tarfile.TarInfo(f"{base}/PKG-INFO")
        ti.size = len(pkg_info)
        t.addfile(ti, io.BytesIO(pkg_info))
    return name
