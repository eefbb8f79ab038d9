#!/usr/bin/env bash
# Times the built-in pack compiled to Spark SQL on a local Spark (local[2])
# next to `tollgate check` on the same generated diagnostic-settings export,
# in one run, and checks that both find the same (rule, sign-in) pairs and
# groups.
#
# Usage:  bench/spark.sh                   1,000,000 records (about 3.2 GB)
#         N=100000 bench/spark.sh          fewer
#         KEEP=1 bench/spark.sh            keep the temp dir
# Needs: cargo, GNU time, Java 17 and pyspark 4.3.0 (`.ci/run` installs it
# in target/ci/venv; or PYTHON=/path/to/python with pyspark).
set -euo pipefail

N=${N:-1000000}
SEED=${SEED:-7}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-$ROOT/target/ci/venv/bin/python}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/tollgate-spark.XXXXXX")
if [ -z "${KEEP:-}" ]; then
  trap 'rm -rf "$TMP"' EXIT
fi
say() { printf '%s\n' "$*" >&2; }

"$PYTHON" -c 'import pyspark' 2>/dev/null || {
  say "error: no pyspark at $PYTHON (run .ci/run, or set PYTHON)"
  exit 2
}
cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml" --bin tollgate --example generate
BIN="$ROOT/target/release/tollgate"

# The pack's required params, as the engine tests set them.
PARAMS=(
  --param home_tenants=72f988bf-86f1-41af-91ab-2d7cd011db47
  --param expected_token_issuers=sts.contoso.com
  --param mail_reader_apps=00000000-0000-0000-0000-000000000001
  --param credential_manager_apps=00000000-0000-0000-0000-000000000002
  --param trusted_ranges=192.0.2.0/24,2001:db8::/32
  --param trusted_countries=US,GB,FR
  --param secret_allowed_apps=00000000-0000-0000-0000-000000000003
  --param managed_identity_ranges=10.0.0.0/16
)

mkdir -p "$TMP/exports"
say "generating $N diagnostic-settings records"
"$ROOT/target/release/examples/generate" --shape diagnostic --count "$N" --seed "$SEED" \
  > "$TMP/exports/PT1H.json"
say "$(du -h "$TMP/exports/PT1H.json" | cut -f1) of exports"

# Rules the query targets refuse (an absent step) are left out of both.
"$BIN" compile --target spark-sql "${PARAMS[@]}" > "$TMP/compiled.json" 2> "$TMP/compile.err" || true
grep -o '[A-Z]*-[A-Z]*-[0-9]* cannot be compiled' "$TMP/compile.err" | cut -d' ' -f1 > "$TMP/refused" || true
DISABLE=()
while read -r id; do DISABLE+=("$id"); done < "$TMP/refused"
if [ "${#DISABLE[@]}" -gt 0 ]; then
  printf 'disable:\n' > "$TMP/tollgate.yaml"
  for id in "${DISABLE[@]}"; do printf '  - %s\n' "$id" >> "$TMP/tollgate.yaml"; done
else
  : > "$TMP/tollgate.yaml"
fi
say "compiled $(grep -c '"ruleId"' "$TMP/compiled.json") queries; left out: ${DISABLE[*]:-none}"

say "tollgate check (every core)"
/usr/bin/time -f '%e s  %M KB' -o "$TMP/check.time" \
  "$BIN" check "$TMP/exports" --config "$TMP/tollgate.yaml" "${PARAMS[@]}" \
  --format jsonl --fail-on never --quiet > "$TMP/check.jsonl"
say "spark local[2]"
/usr/bin/time -f '%e s  %M KB' -o "$TMP/spark.time" \
  "$PYTHON" "$ROOT/examples/spark/tollgate_spark.py" "$TMP/compiled.json" "$TMP/spark.jsonl" \
  "$TMP/exports" 2> "$TMP/spark.log"

# The same pairs: sign-in ids for single-record rules, groups for the others.
python3 - "$TMP/check.jsonl" "$TMP/spark.jsonl" <<'PY'
import json, sys
def key(v, group):
    return ",".join("%s=%s" % (k.replace(".", "_"), str(x).lower())
                    for k, x in sorted(group.items()))
native, spark = set(), set()
for line in open(sys.argv[1]):
    v = json.loads(line)
    if "ruleId" not in v:
        continue
    e = v.get("episode")
    native.add((v["ruleId"], key(v, e["group"]) if e else v["signIn"]["id"]))
for line in open(sys.argv[2]):
    v = json.loads(line)
    group = {k: x for k, x in v.items() if k not in ("ruleId", "windowStart", "windowEnd")}
    spark.add((v["ruleId"], v["id"] if "id" in v else key(v, group)))
print("pairs: check %d, spark %d, same: %s" % (len(native), len(spark), native == spark))
if native != spark:
    print("only check:", sorted(native - spark)[:5])
    print("only spark:", sorted(spark - native)[:5])
    sys.exit(1)
PY
printf '%-22s %s\n' "tollgate check" "$(cat "$TMP/check.time")" "spark local[2]" "$(cat "$TMP/spark.time")"
tr '\r' '\n' < "$TMP/spark.log" | grep '^ran' || true
