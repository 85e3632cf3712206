#!/bin/sh
# tests/layering_test.sh CC SRCDIR [INCLUDE_DIR ...] — probes/ reaches the library
# only through the public headers (include/strata/) and the lib/ internals meant
# for the analysis modules: lib/util/*.h, lib/io/h5doc.h and lib/dist/fit_group.h (the
# process group as distributed fits see it: it exposes no MPI type) (issue 18, point 1).
#
# Every .c and .h under probes/ is run through the preprocessor's dependency
# output (CC -M, with the build's include path plus INCLUDE_DIRs, e.g. HDF5's),
# so a header reached indirectly counts as much as one included directly
# (eval_loss.c once reached model_internal.h through model/kernels.h).  Fails
# when any file depends on hdf5.h or any HDF5 header (all include H5public.h),
# on model_internal.h, or on a lib/ header outside the allowed list.
set -eu
cc=$1
src=$2
shift 2
inc="-I$src/include -I$src/lib -I$src/probes"
for d in "$src"/probes/*/; do inc="$inc -I${d%/}"; done
for d in "$@"; do [ -n "$d" ] && inc="$inc -I$d"; done
fail=0
n=0
for f in $(find "$src/probes" -name '*.c' -o -name '*.h' | sort); do
    n=$((n + 1))
    # -MG: a header missing from the path is still listed (and so still caught)
    deps=$($cc -M -MG -x c $inc -D_GNU_SOURCE "$f" 2>&1) || {
        echo "FAIL: $f does not preprocess:"; echo "$deps" | head -5; fail=1; continue; }
    deps=$(printf '%s\n' "$deps" | tr ' \\' '\n\n' | sed -n '/\.h$/p' | sort -u)
    rel=${f#"$src"/}
    for h in $deps; do
        base=$(basename "$h")
        case "$base" in
            hdf5.h|H5public.h|model_internal.h)
                echo "FAIL: $rel depends on $base ($h)"; fail=1; continue ;;
        esac
        case "$h" in
            "$src"/lib/util/*.h|"$src"/lib/io/h5doc.h|"$src"/lib/dist/fit_group.h) ;;
            "$src"/lib/*)
                echo "FAIL: $rel depends on ${h#"$src"/} (probes/ may use include/strata, lib/util, lib/io/h5doc.h and lib/dist/fit_group.h only)"
                fail=1 ;;
        esac
    done
done
[ "$fail" = 0 ] || exit 1
echo "ok: $n files under probes/ use only public headers, lib/util, lib/io/h5doc.h and lib/dist/fit_group.h (no hdf5.h, no model_internal.h)"
