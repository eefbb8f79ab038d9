//! `check --format html`: one self-contained page that fetches nothing,
//! holds the totals and every rule that found something, and cannot be
//! broken by what the logs hold.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tollgate(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run tollgate")
}

fn ok(o: &Output) {
    assert!(
        o.status.success(),
        "exit {:?}\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The page's markup without the contents of its `<script>` and `<style>`
/// elements, and those contents.
fn split_code(page: &str) -> (String, String) {
    let mut markup = String::new();
    let mut code = String::new();
    let mut rest = page;
    loop {
        let next = ["<script", "<style"]
            .iter()
            .filter_map(|open| rest.find(open).map(|i| (i, *open)))
            .min();
        let Some((start, open)) = next else {
            markup.push_str(rest);
            return (markup, code);
        };
        let close = if open == "<script" {
            "</script>"
        } else {
            "</style>"
        };
        let body_start = start + rest[start..].find('>').expect("tag ends") + 1;
        let end = body_start + rest[body_start..].find(close).expect("element closes");
        markup.push_str(&rest[..body_start]);
        code.push_str(&rest[body_start..end]);
        rest = &rest[end..];
    }
}

/// Every tag of the markup (all `<` in text are escaped, so each `<` opens
/// one).
fn tags(markup: &str) -> Vec<&str> {
    markup
        .split('<')
        .skip(1)
        .map(|t| t.split('>').next().unwrap_or(t))
        .collect()
}

/// Fails when the page could fetch anything: a URL in a tag, an attribute
/// that loads, or a script or style that could.
fn assert_fetches_nothing(page: &str) {
    assert!(page.contains(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">"
    ));
    let (markup, code) = split_code(page);
    for tag in tags(&markup) {
        // Attribute values are quoted and their own quotes escaped: what is
        // left is the tag name and the attribute names.
        let lower: String = tag
            .split('"')
            .step_by(2)
            .collect::<Vec<_>>()
            .join("\"\"")
            .to_ascii_lowercase();
        for bad in [
            "src=", "href=", "action=", "srcset=", "poster=", "http://", "https://", "url(",
        ] {
            assert!(!lower.contains(bad), "tag fetches: <{tag}>");
        }
        assert!(
            !lower.starts_with("link") && !lower.starts_with("iframe"),
            "<{tag}>"
        );
    }
    for bad in [
        "http://",
        "https://",
        "url(",
        "@import",
        "fetch(",
        "XMLHttpRequest",
        "WebSocket",
        "sendBeacon",
        "innerHTML",
        "eval(",
        "@font-face",
    ] {
        assert!(!code.contains(bad), "script or style has {bad}");
    }
}

#[test]
fn examples_page_is_self_contained_with_totals_and_rules() {
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("report.html");
    let json = dir.path().join("report.json");
    let root = root();
    for (format, file) in [("html", &html), ("json", &json)] {
        ok(&tollgate(
            &[
                "check",
                "examples/",
                "--format",
                format,
                "--output",
                file.to_str().unwrap(),
                "--fail-on",
                "never",
                "--quiet",
            ],
            &root,
        ));
    }
    let page = std::fs::read_to_string(&html).unwrap();
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let summary = &doc["summary"];

    assert!(page.starts_with("<!DOCTYPE html>"));
    assert_fetches_nothing(&page);

    // Every rule that found something, with its count.
    let by_rule = summary["byRule"].as_object().unwrap();
    assert!(!by_rule.is_empty());
    for (id, n) in by_rule {
        assert!(
            page.contains(&format!("<td class=\"rid\">{id}</td>")),
            "{id} not in the by-rule table"
        );
        assert!(
            page.contains(&format!("data-rule=\"{id}\"")),
            "{id} not listed"
        );
        assert!(page.contains(&format!("data-value=\"{id}\"")));
        let _ = n;
    }
    // The totals: findings, records, and each severity.
    let findings = summary["findings"].as_u64().unwrap();
    assert_eq!(
        page.matches("<details class=\"f\"").count() as u64,
        findings
    );
    for (label, key) in [
        ("records", "records"),
        ("evaluated", "evaluated"),
        ("unreadable", "unreadable"),
        ("rules", "rules"),
    ] {
        let n = summary[key].as_u64().unwrap();
        assert!(
            page.contains(&format!(
                "<div class=\"n\">{n}</div><div class=\"l\">{label}</div>"
            )),
            "{label} {n}"
        );
    }
    assert!(page.contains(&format!(
        "<div class=\"kpi main k-high\"><div class=\"n\">{findings} "
    )));
    for (sev, n) in summary["bySeverity"].as_object().unwrap() {
        assert!(
            page.contains(&format!(
                "<div class=\"n\">{n}</div><div class=\"l\">{sev}</div>"
            )),
            "{sev} {n}"
        );
    }
    // The breakdowns and the timeline.
    for needle in [
        "<h2>By user</h2>",
        "<h2>By IP address</h2>",
        "<h2>By country</h2>",
        "<h2>By app</h2>",
        "<svg class=\"hist\"",
        "data-filter=\"user\" data-value=\"alice@contoso.com\"",
        "data-filter=\"app\" data-value=\"Azure Portal\"",
    ] {
        assert!(page.contains(needle), "missing {needle}");
    }
}

/// What an attacker can put in a sign-in log.
const ATTACK: &str = "</script><img src=x onerror=alert(1)>";

#[test]
fn hostile_strings_in_records_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let record = serde_json::json!({
        "id": "00000000-0000-4000-8000-000000000001",
        "createdDateTime": "2025-03-02T08:11:00Z",
        "userPrincipalName": ATTACK,
        "appDisplayName": format!("{ATTACK}\"' onmouseover=alert(2) x=\""),
        "ipAddress": "203.0.113.9",
        "isInteractive": true,
        "conditionalAccessStatus": "notApplied",
        "status": { "errorCode": 0 },
        "crossTenantAccessType": "none",
        "location": { "countryOrRegion": ATTACK },
    });
    let log = dir.path().join("hostile.jsonl");
    std::fs::write(&log, format!("{record}\n")).unwrap();
    let rules = root().join("tests/fixtures/rules/product-example.yaml");
    let html = dir.path().join("hostile.html");
    let out = tollgate(
        &[
            "check",
            "--rules",
            rules.to_str().unwrap(),
            log.to_str().unwrap(),
            "--format",
            "html",
            "--output",
            html.to_str().unwrap(),
            "--fail-on",
            "never",
        ],
        dir.path(),
    );
    ok(&out);
    let page = std::fs::read_to_string(&html).unwrap();
    assert_fetches_nothing(&page);
    // The finding is there, with the hostile strings as text.
    assert!(page.contains("data-rule=\"TG-CA-001\""));
    let escaped = "&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;";
    assert!(page.contains(&format!("data-user=\"{escaped}\"")));
    assert!(page.contains(&format!("<span class=\"who\">{escaped}</span>")));
    assert!(page.contains(&format!("{escaped} signed in to")), "message");
    assert!(page.contains("&quot;&#39; onmouseover=alert(2) x=&quot;"));
    // The country comes from the rule's evidence, escaped too.
    assert!(page.contains(&format!("data-country=\"{escaped}\"")));
    // Nothing the record held became markup.
    assert!(!page.contains("<img"));
    assert_eq!(page.to_ascii_lowercase().matches("</script").count(), 1);
    assert_eq!(page.to_ascii_lowercase().matches("<script").count(), 1);
    assert!(!page.contains("\" onmouseover"));
}
