"""A tiny in-tree PEP 517 build backend for the pure-Python strata package.

Why not setuptools: pip builds in an isolated environment and would download
setuptools first, which fails offline.  This backend has no requirements, so
``pip install bindings/python`` works without network access.  It packs
strata/*.py and the C library into a wheel; ``pip install -e`` gets a .pth
file pointing at this directory.

Which library is bundled (first hit):
  * ``--config-settings library=PATH``: that file; ``library=none``: none (the
    installed package then finds an installed libstrata at run time, see
    strata/_lib.py);
  * a ``libstrata.so*`` already placed in strata/;
  * the CMake build of this checkout, ``<repository>/build/libstrata.so``.
A wheel with a library is tagged for this platform (py3-none-linux_x86_64),
one without is pure Python (py3-none-any).
"""

import base64
import hashlib
import io
import os
import re
import sys
import sysconfig
import tarfile
import zipfile

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAME = "strata"


def _version():
    with open(os.path.join(HERE, "strata", "_version.py"), encoding="utf-8") as f:
        return re.search(r'^__version__ = "([^"]+)"', f.read(), re.M).group(1)


def _metadata():
    with open(os.path.join(HERE, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    return (f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {_version()}\n"
            "Summary: Python bindings (ctypes + numpy) of libstrata, a toolkit for looking "
            "inside transformer language models\n"
            "Requires-Python: >=3.8\nRequires-Dist: numpy\nLicense: MIT\n"
            "Description-Content-Type: text/markdown\n\n" + readme)


def _package_files(with_library=True):
    pkg = os.path.join(HERE, NAME)
    for fn in sorted(os.listdir(pkg)):
        if fn.endswith(".py") or fn == "py.typed" or (with_library and
                                                     fn.startswith("libstrata.so")):
            yield os.path.join(pkg, fn), f"{NAME}/{fn}"


def _library_to_bundle(config_settings):
    """(path, arcname) of the libstrata to put into the wheel, or None."""
    choice = (config_settings or {}).get("library")
    if choice == "none":
        return None
    if choice:
        if not os.path.isfile(choice):
            raise FileNotFoundError(f"strata_build: --config-settings library={choice}: "
                                    "no such file")
        path = choice
    else:
        pkg = os.path.join(HERE, NAME)
        if any(fn.startswith("libstrata.so") for fn in os.listdir(pkg)):
            return None          # already among the package files
        path = os.path.join(os.path.dirname(os.path.dirname(HERE)), "build", "libstrata.so")
        if not os.path.exists(path):
            sys.stderr.write("strata_build: no libstrata.so bundled (none at "
                             f"{path}); the package will look for an installed one\n")
            return None
    real = os.path.realpath(path)
    m = re.search(r"libstrata\.so\.(\d+)", os.path.basename(real))
    arc = f"{NAME}/libstrata.so.{m.group(1)}" if m else f"{NAME}/libstrata.so"
    sys.stderr.write(f"strata_build: bundling {real} as {arc}\n")
    return real, arc


def _platform_tag():
    return re.sub(r"[-.]", "_", sysconfig.get_platform())


def _write_wheel(wheel_directory, files, platform=False):
    """files: [(arcname, bytes)]; platform: the wheel holds a compiled library.
    Returns the wheel's file name."""
    ver = _version()
    distinfo = f"{NAME}-{ver}.dist-info"
    tag = f"py3-none-{_platform_tag()}" if platform else "py3-none-any"
    wheel_name = f"{NAME}-{ver}-{tag}.whl"
    purelib = "false" if platform else "true"
    files = list(files) + [
        (f"{distinfo}/METADATA", _metadata().encode()),
        (f"{distinfo}/WHEEL", (f"Wheel-Version: 1.0\nGenerator: strata_build\n"
                               f"Root-Is-Purelib: {purelib}\nTag: {tag}\n").encode()),
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
    bundle = _library_to_bundle(config_settings)
    no_lib = (config_settings or {}).get("library") == "none"
    files = []
    for path, arc in _package_files(with_library=not no_lib):
        with open(path, "rb") as f:
            files.append((arc, f.read()))
    if bundle:
        with open(bundle[0], "rb") as f:
            files.append((bundle[1], f.read()))
    platform = any(arc.startswith(f"{NAME}/libstrata") for arc, _ in files)
    return _write_wheel(wheel_directory, files, platform)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    return _write_wheel(wheel_directory, [(f"__editable__.{NAME}.pth", (HERE + "\n").encode())])


def build_sdist(sdist_directory, config_settings=None):
    base = f"{NAME}-{_version()}"
    name = f"{base}.tar.gz"
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz") as t:
        for rel in ["pyproject.toml", "README.md", "_build/strata_build.py"]:
            t.add(os.path.join(HERE, rel), f"{base}/{rel}")
        for path, arc in _package_files(with_library=False):
            t.add(path, f"{base}/{arc}")
        pkg_info = _metadata().encode()
        ti = tarfile.TarInfo(f"{base}/PKG-INFO")
        ti.size = len(pkg_info)
        t.addfile(ti, io.BytesIO(pkg_info))
    return name
