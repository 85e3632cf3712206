#!/bin/sh
# A clean-virtualenv install of the Python bindings, offline, then `import strata` and a model
# forward pass with no STRATA_LIBRARY, LD_LIBRARY_PATH or PYTHONPATH set, from outside the
# source tree. Two ways the installed package finds libstrata (docs/PYTHON.md):
#   A. `cmake --install BUILD --prefix VENV` + `pip install --config-settings library=none`:
#      the library found under the environment's prefix (VENV/lib*/libstrata.so.0);
#   B. plain `pip install bindings/python`: the checkout's build/libstrata.so bundled into the
#      installed package (BUILD passed explicitly when it is not the checkout's build/).
# usage: pip_install_test.sh SOURCE_DIR BUILD_DIR SHARED_DIR
set -eu
SRC=$1 BUILD=$2 SHARED=$3
if ldd "$BUILD/libstrata.so" | grep -q asan; then
    echo "SKIP: sanitizer build (a Python process cannot load it without LD_PRELOAD)"; exit 0
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
/usr/bin/python3 -m venv --system-site-packages "$TMP/venv"
PY="$TMP/venv/bin/python"
clean() { (cd "$TMP" && env -u STRATA_LIBRARY -u LD_LIBRARY_PATH -u PYTHONPATH "$@"); }
MODEL="$SHARED/models/stories260K/hf"
cat > "$TMP/check.py" <<PYEOF
import os, sys
import strata, strata._lib as L
where = sys.argv[1]
assert strata.__file__.startswith("$TMP/venv/"), strata.__file__
lib = L.load()
print("loaded", lib.path, "version", lib.version)
expect = {"prefix": "$TMP/venv/lib", "package": os.path.dirname(strata.__file__)}[where]
assert os.path.realpath(lib.path).startswith(os.path.realpath(expect)), (lib.path, expect)
if os.path.isdir("$MODEL"):
    m = strata.Model.open("$MODEL")
    logits = m.run("Once upon a time")
    assert logits.shape[0] == 1 and logits.shape[2] == m.config.vocab_size, logits.shape
    print("forward ok", logits.shape)
else:
    print("SKIP forward: $MODEL absent")
PYEOF
# A: library under the environment's install prefix, package without a library
cmake --install "$BUILD" --prefix "$TMP/venv" > "$TMP/install.log"
clean "$PY" -m pip install -q --no-index --config-settings library=none "$SRC/bindings/python"
clean "$PY" "$TMP/check.py" prefix
# B: library bundled into the installed package (remove the prefix copy first)
rm -f "$TMP"/venv/lib*/libstrata.so*
if [ "$(realpath "$BUILD")" = "$(realpath "$SRC/build" 2>/dev/null || true)" ]; then
    SETTING=""
else
    SETTING="--config-settings library=$BUILD/libstrata.so"
fi
# shellcheck disable=SC2086
clean "$PY" -m pip install -q --no-index --force-reinstall --no-deps $SETTING "$SRC/bindings/python"
clean "$PY" "$TMP/check.py" package
echo "pip install test ok"
