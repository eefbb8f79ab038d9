//! The kinds of diagnostic: one [`Code`] per stable code, with a one-line
//! summary and an example, so the reference in `docs/diagnostics.md` is
//! generated from the same table the code builds diagnostics from.

use std::fmt::Write as _;

use super::{Diagnostic, Span};

/// Declares [`Code`] from one row per kind: variant, code text (without
/// the `tollgate::` prefix), summary, example.
macro_rules! codes {
    ($($variant:ident = $text:literal, $summary:literal, $example:literal;)*) => {
        /// What kind of mistake a diagnostic reports. The code text
        /// ([`Code::as_str`]) is stable: editors and CI match on it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Code {
            $(
                #[doc = $summary]
                $variant,
            )*
        }

        impl Code {
            /// Every kind, in the order of the reference.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The stable code text, such as `tollgate::unknown-field`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => concat!("tollgate::", $text),)*
                }
            }

            /// What the kind means, in one line.
            pub const fn summary(self) -> &'static str {
                match self {
                    $(Code::$variant => $summary,)*
                }
            }

            /// Text that gives a diagnostic of this kind (a rule, unless the
            /// summary says otherwise).
            pub const fn example(self) -> &'static str {
                match self {
                    $(Code::$variant => $example,)*
                }
            }
        }
    };
}

codes! {
    FileTooLarge = "file-too-large",
        "A rule file is larger than the size limit.",
        "# any rule file over 4 MiB\n";
    NotUtf8 = "not-utf8",
        "A rule file is not valid UTF-8.",
        "# a rule file saved as Latin-1: title: Zürich\n";
    TooDeep = "too-deep",
        "The YAML nests deeper than the reader allows.",
        "# a value nested more than 64 levels deep\nmatch: [[[[[[[[[[[[[[[[ ... ]]]]]]]]]]]]]]]]\n";
    YamlSyntax = "yaml-syntax",
        "The text is not YAML the rule reader accepts.",
        "id: [unclosed\n";
    YamlAnchor = "yaml-anchor",
        "A YAML anchor or alias is used; rules share values through params instead.",
        "id: EX-001\ntitle: Anchors\nseverity: low\nmatch:\n  clientAppUsed: &imap IMAP4\n  appDisplayName: *imap\n";
    YamlTag = "yaml-tag",
        "A YAML tag is used; values are typed by the field they are compared with.",
        "id: EX-001\ntitle: Tags\nseverity: low\nmatch:\n  clientAppUsed: !!str IMAP4\n";
    DuplicateKey = "duplicate-key",
        "A mapping has the same key twice.",
        "id: EX-001\ntitle: Twice\nseverity: low\nmatch:\n  clientAppUsed: IMAP4\n  clientAppUsed: POP3\n";
    RuleNotMapping = "rule-not-mapping",
        "A document is not a mapping of rule keys.",
        "just text\n";
    UnknownKey = "unknown-key",
        "A key that rules, params or test cases do not have.",
        "id: EX-001\ntitle: Typo\nseverity: low\nmatc:\n  clientAppUsed: IMAP4\n";
    MissingKey = "missing-key",
        "A rule lacks a required key (`id`, `title`, `severity` or `match`), or a part of a rule lacks one of its own (the `span` of a window or sequence, a sequence's `steps`, a travel's `from` or any bound).",
        "id: EX-001\ntitle: No severity\nmatch:\n  clientAppUsed: IMAP4\n";
    BadId = "bad-id",
        "A rule id has characters other than letters, digits, `.`, `_` and `-`.",
        "id: EX 001\ntitle: Space in id\nseverity: low\nmatch:\n  clientAppUsed: IMAP4\n";
    DuplicateId = "duplicate-id",
        "Two rules have the same id.",
        "id: EX-001\ntitle: First\nseverity: low\nmatch:\n  clientAppUsed: IMAP4\n---\nid: EX-001\ntitle: Second\nseverity: low\nmatch:\n  clientAppUsed: POP3\n";
    BadSeverity = "bad-severity",
        "A severity other than info, low, medium, high or critical.",
        "id: EX-001\ntitle: Severity\nseverity: urgent\nmatch:\n  clientAppUsed: IMAP4\n";
    WrongType = "wrong-type",
        "A rule key or operator has the wrong shape of value (text, list, mapping).",
        "id: EX-001\ntitle: [not, text]\nseverity: low\nmatch:\n  clientAppUsed: IMAP4\n";
    UnknownLog = "unknown-log",
        "`logs` names a log the engine does not read.",
        "id: EX-001\ntitle: Logs\nseverity: low\nlogs: [signins]\nmatch:\n  clientAppUsed: IMAP4\n";
    MixedLogs = "mixed-logs",
        "A rule reads Graph activity and sign-in logs together, which have different fields.",
        "id: EX-001\ntitle: Mixed\nseverity: low\nlogs: [graphActivity, interactive]\nmatch:\n  ipAddress: 192.0.2.1\n";
    BadParam = "bad-param",
        "A param declaration is wrong (an unknown type, or a default beside `required: true`), or a default or given value is not of the param's type.",
        "id: EX-001\ntitle: Params\nseverity: low\nparams:\n  limit: { type: int, default: many }\nmatch:\n  status.errorCode: $limit\n";
    ParamWithoutValue = "param-without-value",
        "A param is used but has no default, is not declared `required: true`, and no value was given.",
        "id: EX-001\ntitle: Params\nseverity: low\nparams:\n  apps: { type: list }\nmatch:\n  clientAppUsed: $apps\n";
    UndefinedParam = "undefined-param",
        "A `$name` refers to a param the rule does not declare.",
        "id: EX-001\ntitle: Params\nseverity: low\nmatch:\n  clientAppUsed: $apps\n";
    UnusedParam = "unused-param",
        "A declared param is never used (a warning).",
        "id: EX-001\ntitle: Params\nseverity: low\nparams:\n  apps: { type: list, default: [IMAP4] }\nmatch:\n  clientAppUsed: IMAP4\n";
    BadCondition = "bad-condition",
        "A condition is not a mapping of fields to values, or has no operator.",
        "id: EX-001\ntitle: Condition\nseverity: low\nmatch: IMAP4\n";
    UnknownField = "unknown-field",
        "A condition or message names a field that is not in the catalog.",
        "id: EX-001\ntitle: Field\nseverity: low\nmatch:\n  clientApp: IMAP4\n";
    UnknownOperator = "unknown-operator",
        "A condition uses an operator that does not exist.",
        "id: EX-001\ntitle: Operator\nseverity: low\nmatch:\n  clientAppUsed: { equals: IMAP4 }\n";
    NotAList = "not-a-list",
        "`any`, `all` or `none` is applied to a field that is not a list.",
        "id: EX-001\ntitle: Quantifier\nseverity: low\nmatch:\n  clientAppUsed: { any: IMAP4 }\n";
    TypeMismatch = "type-mismatch",
        "A value cannot be of the field's type, or the operator does not apply to the field.",
        "id: EX-001\ntitle: Types\nseverity: low\nmatch:\n  status.errorCode: { gt: many }\n";
    BadFieldRef = "bad-field-ref",
        "A `{ field: ... }` reference is used where it cannot be: with `matches`, `cidr` or `exists`, in a list, or `in` against a field of one value.",
        "id: EX-001\ntitle: Reference\nseverity: low\nmatch:\n  userAgent: { matches: { field: appDisplayName } }\n";
    UnknownEnumValue = "unknown-enum-value",
        "A value is not one the field takes: an error when close to a known value (a typo), else a warning.",
        "id: EX-001\ntitle: Enum\nseverity: low\nmatch:\n  conditionalAccessStatus: sucess\n";
    BadCidr = "bad-cidr",
        "A `cidr` value is not an IP address or range.",
        "id: EX-001\ntitle: Range\nseverity: low\nmatch:\n  ipAddress: { cidr: 10.0.0.0/33 }\n";
    BadRegex = "bad-regex",
        "A `matches` pattern is not a valid regular expression.",
        "id: EX-001\ntitle: Regex\nseverity: low\nmatch:\n  userAgent: { matches: \"(unclosed\" }\n";
    RegexTooLarge = "regex-too-large",
        "A pattern, or the alternatives of one condition together, compile past the size limit.",
        "id: EX-001\ntitle: Regex\nseverity: low\nmatch:\n  userAgent: { matches: \"(?:a{1000}){1000}\" }\n";
    NeverTrue = "never-true",
        "Conditions of one `all` contradict each other, so the rule never matches (a warning).",
        "id: EX-001\ntitle: Never\nseverity: low\nmatch:\n  clientAppUsed: IMAP4\n  all:\n    - clientAppUsed: POP3\n";
    AlwaysTrue = "always-true",
        "Alternatives of one `any` include a condition and its negation (a warning).",
        "id: EX-001\ntitle: Always\nseverity: low\nmatch:\n  any:\n    - clientAppUsed: IMAP4\n    - not: { clientAppUsed: IMAP4 }\n";
    BadMessage = "bad-message",
        "A message template has a `{` that is never closed.",
        "id: EX-001\ntitle: Message\nseverity: low\nmatch:\n  clientAppUsed: IMAP4\nmessage: \"{userPrincipalName used IMAP\"\n";
    BadTest = "bad-test",
        "A `tests:` case lacks `expect` or `record`, or has an unknown expectation.",
        "id: EX-001\ntitle: Tests\nseverity: low\nmatch:\n  clientAppUsed: IMAP4\ntests:\n  - name: imap\n    record: { clientAppUsed: IMAP4 }\n";
    UnknownRecordField = "unknown-record-field",
        "A test record key looks like a misspelt catalog field (a warning).",
        "id: EX-001\ntitle: Tests\nseverity: low\nmatch:\n  clientAppUsed: IMAP4\ntests:\n  - name: imap\n    expect: match\n    record: { clientAppUsed: IMAP4, userPrincipalNam: a@b.c }\n";
    TestFailed = "test-failed",
        "A rule's own test case does not give the expected outcome (reported by `validate`).",
        "id: EX-001\ntitle: Tests\nseverity: low\nmatch:\n  clientAppUsed: IMAP4\ntests:\n  - name: imap\n    expect: match\n    record: { clientAppUsed: POP3 }\n";
    UnknownStep = "unknown-step",
        "A sequence step's `where` reads, or its `travel` is `from`, a step that is unknown, later, itself or absent (or, for travel, of logs without coordinates).",
        "id: EX-001\ntitle: Steps\nseverity: low\nsequence:\n  groupBy: [userPrincipalName]\n  span: 20m\n  steps:\n    - name: failure\n      match: { status.errorCode: 50126 }\n    - name: success\n      match: { status.errorCode: 0 }\n      where: { ipAddress: { eq: { field: failures.ipAddress } } }\n";
    WindowAndSequence = "window-and-sequence",
        "A rule has both `window` and `sequence`.",
        "id: EX-001\ntitle: Both\nseverity: low\nmatch:\n  status.errorCode: 50126\nwindow:\n  groupBy: [ipAddress]\n  span: 20m\n  count: { gte: 10 }\nsequence:\n  groupBy: [userPrincipalName]\n  span: 20m\n  steps:\n    - name: failures\n      match: { status.errorCode: 50126 }\n    - name: success\n      match: { status.errorCode: 0 }\n";
    BadDuration = "bad-duration",
        "A `span` is not a whole number and a unit (`30s`, `20m`, `1h`, `2d`).",
        "id: EX-001\ntitle: Span\nseverity: low\nmatch:\n  status.errorCode: 50126\nwindow:\n  groupBy: [ipAddress]\n  span: 20\n  count: { gte: 10 }\n";
    BadThreshold = "bad-threshold",
        "A `count` or `distinct` bound is not one of gt, gte, lt, lte, eq with a whole number, a travel's `kmh` or `km` is not one of gt, gte, lt, lte with a number of zero or more, or a window counts nothing.",
        "id: EX-001\ntitle: Threshold\nseverity: low\nmatch:\n  status.errorCode: 50126\nwindow:\n  groupBy: [ipAddress]\n  span: 20m\n  count: { atLeast: 10 }\n";
    BadStep = "bad-step",
        "A sequence step has no name or a bad or repeated one, no key or a key unlike the others, an absent step has a count or travels, a step of logs without coordinates travels, every step is absent, or there is one step.",
        "id: EX-001\ntitle: Steps\nseverity: low\nsequence:\n  span: 20m\n  steps:\n    - name: failures\n      match: { status.errorCode: 50126 }\n    - name: success\n      match: { status.errorCode: 0 }\n";
    MessageField = "message-field",
        "A multi-record rule's message names something its findings cannot fill.",
        "id: EX-001\ntitle: Message\nseverity: low\nmatch:\n  status.errorCode: 50126\nwindow:\n  groupBy: [ipAddress]\n  span: 20m\n  count: { gte: 10 }\nmessage: \"{userPrincipalName} failed {count} times\"\n";
    NotExpressible = "not-expressible",
        "`compile`: a rule uses a construct the target cannot express exactly, so no query is written for it.",
        "# tollgate compile --target kql, on a rule with\nmatch:\n  resourceTenantId: { eq: { field: homeTenantId } }\n";
    SigmaUnsupported = "sigma-unsupported",
        "A Sigma rule uses a feature tollgate does not run; the message names the file, the line and the feature.",
        "title: Category\nid: 0b8e4f4e-1111-4c3a-9d7e-000000000001\nlogsource:\n  product: azure\n  category: process_creation\n  service: signinlogs\ndetection:\n  sel:\n    ResultType: 0\n  condition: sel\n";
    SigmaPlaceholder = "sigma-placeholder",
        "A Sigma rule has a placeholder (`|expand`, `%name%`) that nothing fills.",
        "title: Placeholder\nid: 0b8e4f4e-1111-4c3a-9d7e-000000000002\nlogsource:\n  product: azure\n  service: signinlogs\ndetection:\n  sel:\n    IPAddress|expand: '%admin_ips%'\n  condition: sel\n";
    SigmaRawField = "sigma-raw-field",
        "A Sigma rule names a field the catalog lacks: it is read as `raw.NAME` (a warning).",
        "title: Raw\nid: 0b8e4f4e-1111-4c3a-9d7e-000000000003\nlogsource:\n  product: azure\n  service: signinlogs\ndetection:\n  sel:\n    AutonomousSystemNumbr: 16509\n  condition: sel\n";
    SigmaJsonText = "sigma-json-text",
        "A Sigma value is compared whole with a column that holds an object or a list: it is compared with the JSON text, which it never equals (a warning).",
        "title: Status\nid: 0b8e4f4e-1111-4c3a-9d7e-000000000009\nlogsource:\n  product: azure\n  service: signinlogs\ndetection:\n  sel:\n    Status: Success\n  condition: sel\n";
    SigmaModifier = "sigma-modifier",
        "A Sigma value modifier is unknown, or modifiers that exclude each other are combined.",
        "title: Modifier\nid: 0b8e4f4e-1111-4c3a-9d7e-000000000004\nlogsource:\n  product: azure\n  service: signinlogs\ndetection:\n  sel:\n    UserAgent|contians: python\n  condition: sel\n";
    SigmaCondition = "sigma-condition",
        "A Sigma `condition` does not parse or names a search identifier the detection lacks.",
        "title: Condition\nid: 0b8e4f4e-1111-4c3a-9d7e-000000000005\nlogsource:\n  product: azure\n  service: signinlogs\ndetection:\n  selection:\n    ResultType: 50126\n  condition: selecton\n";
    SigmaLogsource = "sigma-logsource",
        "A Sigma `logsource` names a product or service other than the Entra logs tollgate reads.",
        "title: Logsource\nid: 0b8e4f4e-1111-4c3a-9d7e-000000000006\nlogsource:\n  product: azure\n  service: signinlog\ndetection:\n  sel:\n    ResultType: 0\n  condition: sel\n";
    SigmaValue = "sigma-value",
        "A Sigma value does not suit its modifier (`gt` with text, `exists` with a string, ...).",
        "title: Value\nid: 0b8e4f4e-1111-4c3a-9d7e-000000000007\nlogsource:\n  product: azure\n  service: signinlogs\ndetection:\n  sel:\n    DurationMs|gt: long\n  condition: sel\n";
    SigmaCorrelation = "sigma-correlation",
        "A Sigma correlation rule has an unknown type, names a rule not loaded, or lacks what its type needs.",
        "title: Correlation\nid: 0b8e4f4e-1111-4c3a-9d7e-000000000008\ncorrelation:\n  type: event_count\n  rules: [no-such-rule]\n  group-by: [IPAddress]\n  timespan: 10m\n  condition: { gte: 10 }\n";
    Config = "config",
        "A config file has an unknown key or a bad value, or a setting (config or `--param`) names a rule or param that no rule file declares.",
        "# in tollgate.yaml\nfailOn: hihg\n";
}

impl Code {
    /// The kind whose code text this is.
    pub fn from_code(text: &str) -> Option<Code> {
        Code::ALL.iter().copied().find(|c| c.as_str() == text)
    }

    /// An error of this kind; the one place a diagnostic gets its code.
    pub fn error(self, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic::error(self.as_str(), span, message)
    }

    /// A warning of this kind.
    pub fn warning(self, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic::warning(self.as_str(), span, message)
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The reference of every code, as checked in at `docs/diagnostics.md`.
pub fn reference() -> String {
    let mut out = String::from(
        "# Diagnostic codes\n\n\
         Every code `tollgate` reports about rule and config files, with what it\n\
         means and text that gives it. Generated from `tollgate::diag::Code`;\n\
         do not edit by hand (run `UPDATE_DOCS=1 cargo test` to regenerate).\n",
    );
    for code in Code::ALL {
        let _ = write!(
            out,
            "\n## `{}`\n\n{}\n\n```yaml\n{}```\n",
            code.as_str(),
            code.summary(),
            code.example()
        );
    }
    out
}
