#!/usr/bin/env bash
# Print the path of a Python >= 3.12 interpreter, or fail loudly.
# crsurvey needs >= 3.12: arviz 1.x declares Requires-Python >= 3.12, and on 3.11
# pip silently installs the old arviz 0.23 API instead.
set -u
ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; }
cands=()
[ -n "${CRSURVEY_PYTHON:-}" ] && cands+=("$CRSURVEY_PYTHON")
for v in python3.13 python3.12 python3; do
  p=$(command -v "$v" 2>/dev/null) && cands+=("$p")
done
for root in "${PYENV_ROOT:-$HOME/.pyenv}/versions" /root/.pyenv/versions /usr/local/bin; do
  for p in "$root"/3.1[2-9]*/bin/python3 "$root"/python3.1[2-9]; do
    [ -x "$p" ] && cands+=("$p")
  done
done
for p in "${cands[@]}"; do
  # pyenv shims may resolve to 3.11; resolve the real interpreter path
  real=$("$p" -c 'import sys; print(sys.executable)' 2>/dev/null) || continue
  if ok "$real"; then echo "$real"; exit 0; fi
done
echo "crsurvey: no Python >= 3.12 found (tried: ${cands[*]:-none})." >&2
echo "Install Python 3.12+ or set CRSURVEY_PYTHON=/path/to/python3.12." >&2
exit 1
