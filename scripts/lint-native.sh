#!/usr/bin/env bash
# Checks that every C++ file under native/ is formatted as .clang-format says (changes nothing).
# Reformat with: clang-format -i $(find native -name '*.cc' -o -name '*.h')
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v clang-format >/dev/null 2>&1; then
  echo "lint: clang-format is missing (Debian: apt-get install clang-format)" >&2
  exit 1
fi
mapfile -t files < <(find native -type f \( -name '*.cc' -o -name '*.h' \) | sort)
clang-format --dry-run --Werror "${files[@]}"
