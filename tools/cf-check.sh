#!/usr/bin/env bash
# Runs the CF checker (cfchecker, `cfchecks`) on one output of each layout the command writes:
# the forecast in the reference (lead-time) layout, the forecast in the WeatherBench-2 layout,
# an ensemble summary, and a dataset made by `gencast prepare`. Exits 1 when any file has a CF
# error; prints the warnings that remain (the README lists and justifies them).
#
# Usage: tools/cf-check.sh [FOLDER]   (FOLDER keeps the files checked; default a temporary one)
#
# Needs: `gencast` ($GENCAST_BIN, else target/debug/gencast, else target/release/gencast),
# `cfchecks` on PATH or beside $PYTHON (pip install cfchecker; it needs the udunits2 library,
# Debian's libudunits2-0), and the CF standard-name table: $CF_STANDARD_NAME_TABLE, else the copy
# the compliance-checker package ships (pip install compliance-checker), so that nothing is
# fetched from the network. The outputs use no area types or standardized region names, so empty
# tables are given for those two (any use of one would then be an error).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-python3}

gencast=${GENCAST_BIN:-}
for candidate in "$root/target/debug/gencast" "$root/target/release/gencast"; do
  [ -n "$gencast" ] || { [ -x "$candidate" ] && gencast=$candidate; } || true
done
[ -n "$gencast" ] || { echo "cf-check: no gencast binary (build it, or set GENCAST_BIN)" >&2; exit 2; }

cfchecks=$(command -v cfchecks || true)
if [ -z "$cfchecks" ]; then
  candidate="$(dirname "$("$python" -c 'import sys; print(sys.executable)')")/cfchecks"
  [ -x "$candidate" ] && cfchecks=$candidate
fi
[ -n "$cfchecks" ] || { echo "cf-check: cfchecks not found (pip install cfchecker)" >&2; exit 2; }

table=${CF_STANDARD_NAME_TABLE:-}
if [ -z "$table" ]; then
  table=$("$python" -c 'import os, compliance_checker as c; print(os.path.join(os.path.dirname(c.__file__), "data", "cf-standard-name-table.xml"))' 2>/dev/null || true)
fi
[ -f "$table" ] || { echo "cf-check: no CF standard-name table (set CF_STANDARD_NAME_TABLE, or pip install compliance-checker)" >&2; exit 2; }

if [ $# -ge 1 ]; then
  out=$1
  mkdir -p "$out"
else
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
fi
cat >"$out/area-types.xml" <<'EOF'
<?xml version="1.0"?>
<area_type_table><version_number>0</version_number><date>none</date></area_type_table>
EOF
cat >"$out/regions.xml" <<'EOF'
<?xml version="1.0"?>
<standardized_region_list><version_number>0</version_number><date>none</date></standardized_region_list>
EOF

# The bundled demo model (2 members, 2 steps of 12 h, with 12 h precipitation) and the 10°
# ERA5-like fixtures of `prepare`.
F="$root/crates/gencast/tests/fixtures/prepare"
export RUST_LOG=warn
"$gencast" forecast --members 2 --steps 2 --seed 0 --output "$out/reference.nc" --overwrite
"$gencast" forecast --members 2 --steps 2 --seed 0 --layout weatherbench2 \
  --output "$out/weatherbench2.nc" --overwrite
"$gencast" forecast --members 2 --steps 2 --seed 0 --ensemble-summary mean,std,q10,q90 \
  --output "$out/summary.nc" --overwrite
"$gencast" prepare --input "$F/cds-single-levels.nc" --input "$F/cds-pressure-levels.nc" \
  --input "$F/cds-precipitation.nc" --input "$F/cds-static.nc" \
  --init-time 2019-03-29T12:00 --model gencast-1p0 --grid 10 --output "$out/prepared.nc" \
  --overwrite >/dev/null

failed=0
for f in reference weatherbench2 summary prepared; do
  log="$out/$f.cfchecks.txt"
  "$cfchecks" -v 1.8 -s "$table" -a "$out/area-types.xml" -r "$out/regions.xml" \
    "$out/$f.nc" >"$log" 2>&1 || true
  errors=$(sed -n 's/^ERRORS detected: //p' "$log")
  warnings=$(sed -n 's/^WARNINGS given: //p' "$log")
  echo "$f.nc: ${errors:-?} errors, ${warnings:-?} warnings"
  # Each distinct warning or error once, with the variables it concerns.
  awk '/^Checking variable: /{v=$3} /^(WARN|ERROR):/{m[$0]=m[$0] (m[$0]&&v?", ":"") v}
    END{for (k in m) print "  " k (m[k] ? "  [" m[k] "]" : "")}' "$log" | sort
  [ "${errors:-1}" = "0" ] || failed=1
done
exit $failed
