#!/usr/bin/env bash
# Every C++ source follows .clang-format (the project's style; STYLE.md): a file that drifted
# is named with clang-format's first complaints, and `clang-format -i FILE` mends it.
set -euo pipefail
root=${BRAID_SOURCE_ROOT:?}
cd "$root"
command -v clang-format >/dev/null || { echo "clang-format not installed (scripts/deps installs it)" >&2; exit 1; }
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files '*.cpp' '*.h')
else
  mapfile -t files < <(find src tests bench -name '*.cpp' -o -name '*.h')
fi
((${#files[@]} > 0)) || { echo "no C++ sources found under $root" >&2; exit 1; }
if ! out=$(clang-format --dry-run --Werror "${files[@]}" 2>&1); then
  echo "$out" | head -n 20
  echo "not clang-formatted: $(echo "$out" | grep -oE '^[^:]+\.(cpp|h)' | sort -u | tr '\n' ' ')" >&2
  exit 1
fi
echo "${#files[@]} C++ sources follow .clang-format"
