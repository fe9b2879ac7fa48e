#!/usr/bin/env sh
# Print the path of a Python >= 3.12 interpreter, or explain what was searched and exit 1.
searched=""
for cand in "${PYTHON:-}" python3.14 python3.13 python3.12 python3 python \
    "$HOME"/.pyenv/versions/3.1[2-9]*/bin/python3 /usr/local/bin/python3.1[2-9] /usr/bin/python3.1[2-9]; do
  [ -n "$cand" ] || continue
  searched="$searched $cand"
  path=$(command -v "$cand" 2>/dev/null) || continue
  if "$path" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then
    echo "$path"
    exit 0
  fi
done
echo "error: no Python >= 3.12 found. Searched:$searched" >&2
echo "Install Python 3.12 (see .python-version) or run: make PYTHON=/path/to/python3.12 ..." >&2
exit 1
