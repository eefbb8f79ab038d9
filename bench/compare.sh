#!/usr/bin/env bash
# Times tollgate against the cost of just parsing the input, against jq and
# against regorus (Microsoft's Rego interpreter), side by side in one run, on
# the same generated Graph sign-ins (JSON lines) and the same twelve rules:
#   bench/rules12.yaml  tollgate's language
#   bench/rules12.jq    jq
#   bench/rules12.rego  Rego (run by bench/regorus-runner)
# and checks that all three find the same (rule, record) pairs.
#
# The parse floor is bench/floor: a Rust program that reads the lines and
# parses each into serde's IgnoredAny (validation only), with every check
# a full parse makes but building nothing (`checked`), or into a
# serde_json::Value (a tree per record, as any JSON-tree engine needs); it
# also times two faster parsers building a whole tree per line, sonic-rs
# and simd-json, and sonic-rs's lazy iterator skipping every value (see
# "Against other tools" in the README).
# tollgate is timed on one thread (--threads 1) and on every core (the
# default), with one rule that matches nothing (bench/rules1.yaml: the
# least it does for a record), with 12 rules and with 500 generated
# variants.
#
# chainsaw (the Sigma hunting tool) is not compared: it is not on crates.io
# or in Debian, and nothing else can be fetched offline here.
#
# Each command runs RUNS times (3 unless set); the table gives the median
# time and the largest peak RSS.
#
# Usage:  bench/compare.sh                 200,000 sign-ins (about 540 MB)
#         N=20000 RUNS=1 bench/compare.sh  fewer, once each
#         SEED=7 KEEP=1 bench/compare.sh   another seed; keep the temp dir
# Needs: cargo, jq (installed with apt-get when run as root), GNU time.
set -euo pipefail

N=${N:-200000}
RUNS=${RUNS:-3}
SEED=${SEED:-7}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TOOLS="$ROOT/target/bench-tools"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/tollgate-compare.XXXXXX")
if [ -z "${KEEP:-}" ]; then
  trap 'rm -rf "$TMP"' EXIT
fi

say() { printf '%s\n' "$*" >&2; }

need_apt() {
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && apt-get install -y -qq "$@" >/dev/null
  else
    say "error: install $* first"
    exit 2
  fi
}
command -v jq >/dev/null || need_apt jq
[ -x /usr/bin/time ] || need_apt time

say "== building (release)"
cargo build --quiet --release --manifest-path "$ROOT/Cargo.toml" --bin tollgate --example generate
cargo build --quiet --release --manifest-path "$ROOT/bench/floor/Cargo.toml" --target-dir "$TOOLS"
cargo build --quiet --release --manifest-path "$ROOT/bench/regorus-runner/Cargo.toml" --target-dir "$TOOLS"
TOLLGATE="$ROOT/target/release/tollgate"
GENERATE="$ROOT/target/release/examples/generate"
FLOOR="$TOOLS/release/tollgate-parse-floor"
REGORUS="$TOOLS/release/tollgate-regorus-runner"

"$TOLLGATE" validate --rules "$ROOT/bench/rules12.yaml" --deny-warnings >/dev/null
"$TOLLGATE" validate --rules "$ROOT/bench/rules1.yaml" --deny-warnings >/dev/null

DATA="$TMP/signins.jsonl"
say "== generating $N sign-ins (seed $SEED)"
"$GENERATE" --shape jsonl --count "$N" --seed "$SEED" >"$DATA"
"$GENERATE" --rules 500 --seed "$SEED" >"$TMP/rules500.yaml"
BYTES=$(stat -c %s "$DATA")
say "   $DATA: $BYTES bytes, $((BYTES / N)) bytes a record"

# Warm the page cache so the first tool timed does not pay for the disk.
cat "$DATA" >/dev/null

# measure NAME COMMAND...: runs the command RUNS times with its output in
# $TMP/NAME.out, and keeps in $TMP/NAME.t the median time and the largest
# peak RSS ("seconds peak-KB"). tollgate exits 1 when it finds something;
# that is success here.
measure() {
  local name=$1
  shift
  say "== $name ($RUNS runs)"
  : >"$TMP/$name.runs"
  for _ in $(seq "$RUNS"); do
    local rc=0
    /usr/bin/time -f "%e %M" -o "$TMP/$name.time" "$@" >"$TMP/$name.out" || rc=$?
    if [ "$rc" -gt 1 ]; then
      say "error: $name exited with $rc"
      cat "$TMP/$name.out" >&2
      exit 1
    fi
    tail -n 1 "$TMP/$name.time" >>"$TMP/$name.runs"
  done
  sort -n "$TMP/$name.runs" |
    awk '{ t[NR] = $1; if ($2 > kb) kb = $2 } END { print t[int((NR + 1) / 2)], kb }' >"$TMP/$name.t"
}

measure floor-ignored "$FLOOR" ignored "$DATA"
measure floor-checked "$FLOOR" checked "$DATA"
measure floor-value "$FLOOR" value "$DATA"
measure floor-sonic "$FLOOR" sonic-rs "$DATA"
measure floor-sonic-lazy "$FLOOR" sonic-rs-lazy "$DATA"
measure floor-simd "$FLOOR" simd-json "$DATA"
measure tollgate-1-t1 "$TOLLGATE" check "$DATA" --rules "$ROOT/bench/rules1.yaml" \
  --format jsonl --output /dev/null --quiet --threads 1
measure tollgate-12-t1 "$TOLLGATE" check "$DATA" --rules "$ROOT/bench/rules12.yaml" \
  --format jsonl --output /dev/null --quiet --threads 1
measure tollgate-12 "$TOLLGATE" check "$DATA" --rules "$ROOT/bench/rules12.yaml" \
  --format jsonl --output /dev/null --quiet
measure tollgate-pack "$TOLLGATE" check "$DATA" --format jsonl --output /dev/null --quiet
measure tollgate-500-t1 "$TOLLGATE" check "$DATA" --rules "$TMP/rules500.yaml" \
  --format jsonl --output /dev/null --quiet --threads 1
measure tollgate-500 "$TOLLGATE" check "$DATA" --rules "$TMP/rules500.yaml" \
  --format jsonl --output /dev/null --quiet
measure jq-12 jq -r -f "$ROOT/bench/rules12.jq" "$DATA"
measure regorus-12 "$REGORUS" "$ROOT/bench/rules12.rego" data.tollgate.bench.matches "$DATA"

# The same (rule, record) pairs from all three: "count id" lines, by id.
say "== checking that the three agree (a second tollgate run, not timed)"
"$TOLLGATE" check "$DATA" --rules "$ROOT/bench/rules12.yaml" --format jsonl \
  --output "$TMP/tollgate-findings.jsonl" --quiet || [ $? -eq 1 ]
jq -r .ruleId "$TMP/tollgate-findings.jsonl" | sort | uniq -c | awk '{print $1, $2}' >"$TMP/count-tollgate"
sort "$TMP/jq-12.out" | uniq -c | awk '{print $1, $2}' >"$TMP/count-jq"
grep -E '^[0-9]+ ' "$TMP/regorus-12.out" | sort -k2 >"$TMP/count-regorus"
pairs() { awk '{s += $1} END {print s + 0}' "$1"; }
AGREE=yes
for tool in jq regorus; do
  if ! cmp -s "$TMP/count-tollgate" "$TMP/count-$tool"; then
    AGREE=no
    say "WARNING: tollgate and $tool disagree (matches per rule, tollgate left):"
    diff "$TMP/count-tollgate" "$TMP/count-$tool" >&2 || true
  fi
done

# The table.
secs() { cut -d' ' -f1 "$TMP/$1.t"; }
rss() { cut -d' ' -f2 "$TMP/$1.t"; }
F0=$(secs floor-ignored)
F1=$(secs floor-value)
row() {
  awk -v tool="$1" -v s="$(secs "$2")" -v kb="$(rss "$2")" -v f0="$F0" -v f1="$F1" -v bytes="$BYTES" \
    'BEGIN {
       if (s <= 0) s = 0.01
       printf "| %-41s | %8.2f | %8.0f | %7.1f MiB | %6.1fx | %6.1fx |\n",
         tool, s, bytes / s / 1048576, kb / 1024, s / (f0 > 0 ? f0 : 0.01), s / (f1 > 0 ? f1 : 0.01)
     }'
}
echo
echo "$N sign-ins, $((BYTES / 1048576)) MiB of Graph JSON lines; (rule, record) pairs matched:" \
  "tollgate $(pairs "$TMP/count-tollgate"), jq $(pairs "$TMP/count-jq"), regorus $(pairs "$TMP/count-regorus")" \
  "(agree: $AGREE)"
echo
echo "| tool | seconds | MiB/s | peak RSS | vs IgnoredAny floor | vs Value floor |"
echo "|---|---:|---:|---:|---:|---:|"
row "parse floor: IgnoredAny per line" floor-ignored
row "parse floor: every check, nothing built" floor-checked
row "parse floor: serde_json::Value per line" floor-value
row "parse: sonic-rs tree per line" floor-sonic
row "parse: sonic-rs lazy keys, values skipped" floor-sonic-lazy
row "parse: simd-json tape per line" floor-simd
row "tollgate check, 1 rule, 1 thread" tollgate-1-t1
row "tollgate check, 12 rules, 1 thread" tollgate-12-t1
row "tollgate check, 12 rules, $(nproc) cores" tollgate-12
row "tollgate check, built-in pack, $(nproc) cores" tollgate-pack
row "tollgate check, 500 rules, 1 thread" tollgate-500-t1
row "tollgate check, 500 rules, $(nproc) cores" tollgate-500
row "jq, 12 rules" jq-12
row "regorus, 12 rules" regorus-12
echo
awk -v t="$(secs tollgate-12)" -v j="$(secs jq-12)" -v r="$(secs regorus-12)" \
  -v t1="$(secs tollgate-12-t1)" -v h1="$(secs tollgate-500-t1)" \
  'BEGIN {
     if (t <= 0) t = 0.01
     if (t1 <= 0) t1 = 0.01
     printf "tollgate (12 rules, all cores) is %.1fx as fast as jq and %.1fx as fast as regorus.\n", j / t, r / t
     printf "500 rules take %.2fx the time of 12 (one thread).\n", h1 / t1
   }'
echo
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(free -h | awk '/^Mem:/ {print $2}') memory"
