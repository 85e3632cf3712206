#!/bin/sh
# Installs the built project into a temporary prefix, then builds the embedding
# example against it twice — with pkg-config and with CMake's find_package —
# and runs it on stories260K when ../shared is present, with no LD_LIBRARY_PATH: the
# pkg-config file carries an rpath to its libdir, CMake adds the imported library's folder to
# the build-tree rpath.
# usage: install_test.sh SOURCE_DIR BUILD_DIR SHARED_DIR
set -eu
SRC=$1 BUILD=$2 SHARED=$3
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cmake --install "$BUILD" --prefix "$TMP/prefix" > "$TMP/install.log"
test -f "$TMP/prefix/include/strata/strata.h"
ls "$TMP/prefix"/lib*/libstrata.so.0 > /dev/null
ls "$TMP/prefix"/lib*/libstrata.a > /dev/null
PCDIR=$(dirname "$(ls "$TMP"/prefix/lib*/pkgconfig/strata.pc)")
# 1. pkg-config, shared library
cc -o "$TMP/ablate_pc" "$SRC/examples/embed/ablate_head.c" \
    $(PKG_CONFIG_PATH="$PCDIR" pkg-config --cflags --libs strata) -lm
# 2. CMake package
mkdir -p "$TMP/cm"
cat > "$TMP/cm/CMakeLists.txt" <<CM
cmake_minimum_required(VERSION 3.20)
project(embed C)
find_package(strata REQUIRED)
add_executable(ablate $SRC/examples/embed/ablate_head.c)
target_link_libraries(ablate PRIVATE strata::strata m)
CM
cmake -S "$TMP/cm" -B "$TMP/cm/build" -DCMAKE_PREFIX_PATH="$TMP/prefix" > "$TMP/cm.log"
cmake --build "$TMP/cm/build" > "$TMP/cmb.log"
unset LD_LIBRARY_PATH
if [ -d "$SHARED/models/stories260K/hf" ]; then
    "$TMP/ablate_pc" "$SHARED/models/stories260K/hf" 1 2 | grep -q "moves the logits"
    "$TMP/cm/build/ablate" "$SHARED/models/stories260K/hf" 1 2 | grep -q "moves the logits"
else
    echo "SKIP: $SHARED/models/stories260K absent; built but not run"
fi
echo "install test ok"
