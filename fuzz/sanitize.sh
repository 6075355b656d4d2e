#!/usr/bin/env bash
# Build the extension with AddressSanitizer and UBSan into a separate folder and run the test
# suite against that build.
#
# Usage: bash fuzz/sanitize.sh [pytest arguments]
#
# A copy of the package sources is installed with NFSTREAM_SANITIZE=1 by
# `pip install --target` into a temporary folder, so the normal build in nfstream/ and .venv stay untouched. The tests run
# from another directory with that folder first on PYTHONPATH, and the script checks that
# the imported module is the sanitized one. The ASan runtime is preloaded because the Python
# interpreter is not built with it. Leak detection is off because the interpreter does not
# free everything at exit. Any memory error or undefined behaviour aborts the run.
#
# PYTHON selects the interpreter (default: .venv/bin/python from scripts/bootstrap.sh, else
# python3). It needs pip, pytest and the test dependencies.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
default_python="$repo_root/.venv/bin/python"
[[ -x $default_python ]] || default_python=python3
python=${PYTHON:-$default_python}
compiler=${CC:-gcc}

die() {
    echo "sanitize.sh: $*" >&2
    exit 1
}

asan_runtime=$("$compiler" -print-file-name=libasan.so)
[[ -f $asan_runtime ]] || die "libasan.so not found by $compiler; install the compiler's ASan runtime."

work=$(mktemp -d "${TMPDIR:-/tmp}/nfstream-sanitize.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Build from a copy of the sources: pip builds in the source tree, and setuptools would
# reuse the unsanitized object files that the normal build left in build/.
mkdir "$work/src"
tar -C "$repo_root" --exclude='*.so' --exclude='__pycache__' \
    -cf - pyproject.toml setup.py MANIFEST.in README.rst csrc nfstream | tar -C "$work/src" -xf -
echo "Building nfstream with NFSTREAM_SANITIZE=1 into $work/lib"
NFSTREAM_SANITIZE=1 "$python" -m pip install -q --no-deps --no-cache-dir \
    --target "$work/lib" "$work/src"

module=$(cd "$work" && PYTHONPATH="$work/lib" LD_PRELOAD="$asan_runtime" ASAN_OPTIONS=detect_leaks=0 \
    "$python" -c 'import nfstream._engine as engine; print(engine.__file__)')
[[ $module == "$work/lib/"* ]] || die "tests would import $module instead of the sanitized build."
grep -q __asan_init "$module" || die "$module was built without AddressSanitizer."

echo "Running the tests against $module"
cd "$work"
PYTHONPATH="$work/lib" LD_PRELOAD="$asan_runtime" ASAN_OPTIONS=detect_leaks=0 \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    "$python" -m pytest -q -p no:cacheprovider "$repo_root/tests" "$@"
