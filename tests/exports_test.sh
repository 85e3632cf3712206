#!/bin/sh
# tests/exports_test.sh LIBSTRATA.so — the shared library exports the public
# API only: every defined dynamic symbol is a strata_* function (hidden
# visibility + STRATA_API, strata/api.h), and every STRATA_API declaration of
# include/strata/*.h is exported.
set -eu
lib=$1
src=$2
syms=$(nm -D --defined-only "$lib" | awk 'NF >= 3 { print $3 }')
bad=$(printf '%s\n' "$syms" | grep -v '^strata_' || true)
if [ -n "$bad" ]; then
    echo "FAIL: $lib exports $(printf '%s\n' "$bad" | wc -l) symbols outside strata_*:"
    printf '%s\n' "$bad" | head -20
    exit 1
fi
declared=$(grep -ho 'STRATA_API [^(]*[ *]strata_[a-z_0-9]*(' "$src"/include/strata/*.h |
           sed 's/.*[ *]\(strata_[a-z_0-9]*\)(/\1/' | sort -u)
missing=$(printf '%s\n' "$declared" | while read -r f; do
    printf '%s\n' "$syms" | grep -qx "$f" || echo "$f"; done)
if [ -n "$missing" ]; then
    echo "FAIL: declared STRATA_API but not exported:"
    printf '%s\n' "$missing"
    exit 1
fi
echo "ok: $(printf '%s\n' "$syms" | wc -l) exported symbols, all strata_*; $(printf '%s\n' "$declared" | wc -l) declared"
