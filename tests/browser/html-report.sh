#!/usr/bin/env bash
# The HTML report in a real browser: headless Chromium, offline, loads the
# report of the bundled examples and the report of a hostile log, and the
# DOM it ends with must hold the totals and every rule that found
# something, after the page's script ran (it sets data-ready on <body>),
# with no injected element and no blocked fetch. It checks the filters
# (set from the address's fragment), reads the page without its script,
# and leaves a screenshot in target/html-report.png.
#
# Needs chromium (apt-get install chromium) and python3.
set -euo pipefail
cd "$(dirname "$0")/../.."

browser=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [ -z "$browser" ]; then
  echo "html-report: chromium not found (apt-get install chromium)" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fail() {
  echo "html-report: FAIL: $*" >&2
  exit 1
}

# Chromium with no network: background services off, every host name
# unresolvable, and a proxy on a closed loopback port, so a fetch the page
# tried could reach nothing (the page's CSP already forbids them all).
chrome() {
  timeout 180 "$browser" --headless --no-sandbox --disable-gpu --disable-quic \
    --no-first-run --disable-background-networking --disable-component-update \
    --disable-sync --disable-extensions --disable-default-apps --mute-audio \
    --host-resolver-rules='MAP * ~NOTFOUND' --proxy-server='127.0.0.1:9' \
    --enable-logging=stderr --v=0 \
    --user-data-dir="$(mktemp -d "$work/profile.XXXX")" "$@"
}

cargo build --quiet
bin=$(cargo metadata --format-version 1 --no-deps 2>/dev/null |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/debug/tollgate
bin=${bin#"$PWD/"} # the command line the page shows stays short

# The bundled examples, as a page and as JSON (what the page must show).
"$bin" check examples/ --format html --output "$work/examples.html" --fail-on never --quiet
"$bin" check examples/ --format json --output "$work/examples.json" --fail-on never --quiet

# Chromium's exit status says little headless (it complains of no D-Bus);
# the DOM it prints is what counts.
chrome --dump-dom "file://$work/examples.html" >"$work/examples.dom" 2>"$work/examples.log" || true
[ -s "$work/examples.dom" ] || { cat "$work/examples.log" >&2; fail "no DOM from chromium"; }

python3 - "$work/examples.json" "$work/examples.dom" <<'EOF'
import json, re, sys

summary = json.load(open(sys.argv[1]))["summary"]
dom = open(sys.argv[2], encoding="utf-8").read()
problems = []

def need(text, why):
    if text not in dom:
        problems.append(f"{why}: {text!r} not in the DOM")

def num(n):
    return f"{n:,}"

# The script ran to its end.
if not re.search(r'<body[^>]*\bdata-ready="1"', dom):
    problems.append("the page's script did not run to the end (no data-ready on body)")
# ... and showed the filters it fills from the findings.
if re.search(r'<form[^>]*id="filters"[^>]*\bhidden', dom):
    problems.append("the filters are still hidden")

findings = summary["findings"]
need(f'<div class="n">{num(findings)} ', "total findings")
need(f"{num(findings)} listed", "findings listed")
for key in ("records", "evaluated", "unreadable", "rules"):
    need(f'<div class="n">{num(summary[key])}</div><div class="l">{key}</div>', key)
for sev, n in summary["bySeverity"].items():
    need(f'<div class="n">{num(n)}</div><div class="l">{sev}</div>', f"severity {sev}")
rules = summary["byRule"]
if not rules:
    problems.append("the examples found nothing")
for rule, n in rules.items():
    need(f'<td class="rid">{rule}</td>', f"rule {rule} in the totals")
    # The filter's options are made by the script from the listed findings.
    if not re.search(r'<option value="\d+">' + re.escape(f"{rule} ({num(n)})") + "</option>", dom):
        problems.append(f"rule {rule} has no filter option with its {n} findings")
listed = dom.count('<details class="f"')
if listed != findings:
    problems.append(f"{listed} findings listed, expected {findings}")

if problems:
    print("\n".join(problems), file=sys.stderr)
    sys.exit(1)
print(f"html-report: examples page OK in the browser: {findings} findings, {len(rules)} rules")
EOF

# Blocked fetches and script errors show in the browser's console log.
if grep -E "Content Security Policy|Refused to|Uncaught|ERR_" "$work/examples.log" >&2; then
  fail "the examples page tried a fetch or raised a script error"
fi

# The filters, driven by the address's fragment: each severity, and a few
# rules, show exactly their findings.
python3 - "$work/examples.json" >"$work/filters.txt" <<'EOF'
import json, sys
from urllib.parse import quote
s = json.load(open(sys.argv[1]))["summary"]
for sev, n in s["bySeverity"].items():
    print(f"sev={sev} {n}")
for rule, n in sorted(s["byRule"].items())[:3]:
    print(f"rule={quote(rule)} {n}")
EOF
while read -r fragment expected; do
  chrome --dump-dom "file://$work/examples.html#$fragment" >"$work/filtered.dom" 2>/dev/null || true
  grep -q 'data-ready="1"' "$work/filtered.dom" || fail "#$fragment: the script did not run to the end"
  shown=$(grep -o '<details class="f"[^>]*>' "$work/filtered.dom" | grep -vc ' hidden=""' || true)
  [ "$shown" = "$expected" ] || fail "#$fragment shows $shown findings, expected $expected"
done <"$work/filters.txt"
echo "html-report: filters OK in the browser ($(wc -l <"$work/filters.txt") views)"

# With JavaScript off the totals and the list are there all the same: the
# page without its script (headless --dump-dom needs scripting on to run).
python3 -c 'import re,sys; sys.stdout.write(re.sub(r"(?s)<script>.*?</script>", "", open(sys.argv[1]).read()))' \
  "$work/examples.html" >"$work/noscript.html"
chrome --dump-dom "file://$work/noscript.html" >"$work/noscript.dom" 2>/dev/null || true
grep -q '<td class="rid">TG-' "$work/noscript.dom" || fail "no totals without JavaScript"
grep -q '<details class="f"' "$work/noscript.dom" || fail "no findings without JavaScript"
if grep -q 'data-ready="1"' "$work/noscript.dom"; then
  fail "the page without its script still ran one?"
fi

# A hostile log: markup in the user name, the app and the country.
attack='</script><img src=x onerror=alert(1)><svg onload=alert(2)>'
python3 - "$attack" >"$work/hostile.jsonl" <<'EOF'
import json, sys
a = sys.argv[1]
print(json.dumps({
    "id": "00000000-0000-4000-8000-000000000001",
    "createdDateTime": "2025-03-02T08:11:00Z",
    "userPrincipalName": a, "appDisplayName": a + "\"' onmouseover=alert(3) x=\"",
    "ipAddress": "203.0.113.9", "isInteractive": True,
    "conditionalAccessStatus": "notApplied", "status": {"errorCode": 0},
    "crossTenantAccessType": "none", "location": {"countryOrRegion": a},
}))
EOF
"$bin" check --rules tests/fixtures/rules/product-example.yaml "$work/hostile.jsonl" \
  --format html --output "$work/hostile.html" --fail-on never --quiet
chrome --dump-dom "file://$work/hostile.html" >"$work/hostile.dom" 2>"$work/hostile.log" || true
grep -q 'data-ready="1"' "$work/hostile.dom" || fail "the hostile page's script did not run to the end"
grep -q '&lt;img src=x onerror=alert(1)&gt;' "$work/hostile.dom" || fail "the hostile text is not shown"
# The browser's own serialization of the DOM, parsed: no element or
# attribute that the log's strings could have made.
python3 - "$work/hostile.dom" <<'EOF'
import sys
from html.parser import HTMLParser

class Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.bad = []
        self.scripts = 0
    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self.scripts += 1
        if tag in ("img", "iframe", "object", "embed", "marquee"):
            self.bad.append(f"<{tag}>")
        for name, _ in attrs:
            if name.startswith("on"):
                self.bad.append(f"<{tag} {name}>")

p = Elements()
p.feed(open(sys.argv[1], encoding="utf-8").read())
if p.scripts != 1:
    p.bad.append(f"{p.scripts} script elements")
if p.bad:
    sys.exit("html-report: FAIL: a string from the log became markup: " + ", ".join(p.bad))
EOF
echo "html-report: hostile page OK in the browser: the log's markup stayed text"

# A screenshot for people to look at.
mkdir -p target
chrome --hide-scrollbars --window-size=1400,2000 --screenshot="$PWD/target/html-report.png" \
  "file://$work/examples.html" >/dev/null 2>&1 || true
[ -s target/html-report.png ] || fail "no screenshot"
echo "html-report: screenshot in target/html-report.png"
