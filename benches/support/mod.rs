//! Deterministic synthetic Entra ID sign-ins and rule variants, shared by
//! the benchmarks (`mod support;`) and `examples/generate.rs` (through
//! `#[path]`).
//!
//! Everything comes from one seed through a hand-written xorshift64*
//! generator, so the same seed always gives the same bytes, on every
//! machine, with no dependency. The records are shaped like real exports:
//! ~2.4 KB of Graph beta `signIn` fields on average, many users, apps,
//! addresses and countries, and the rare things detections look for
//! (legacy clients, ROPC, device code, passthrough, AD FS, risk, MFA
//! denials, Conditional Access failures) at rates of about 0.5–3 % each.

// Each benchmark uses a part of this module; the rest is not dead code.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::io::{self, Write};

/// The criterion settings of every benchmark: ten samples of three
/// seconds after one second of warm-up, so the suite takes minutes.
pub fn criterion() -> criterion::Criterion {
    criterion::Criterion::default()
        .sample_size(10)
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(3))
}

/// The twelve comparison rules, in tollgate's language.
pub const RULES12: &str = include_str!("../../bench/rules12.yaml");

/// xorshift64* seeded through splitmix64: fast, small and good enough for
/// test data (not for anything that needs real randomness).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`; every seed, 0 included, gives a usable state.
    pub fn new(seed: u64) -> Rng {
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        Rng(if z == 0 { 0x2545_f491_4f6c_dd1d } else { z })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() >> 32).wrapping_mul(n as u64) >> 32) as usize
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `per_mille` / 1000.
    pub fn chance(&mut self, per_mille: u32) -> bool {
        self.below(1000) < per_mille as usize
    }

    /// One element, uniformly.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// One element, with probability proportional to its weight.
    pub fn weighted<'a, T>(&mut self, items: &'a [(T, u32)]) -> &'a T {
        let total: u32 = items.iter().map(|(_, w)| w).sum();
        let mut roll = self.below(total as usize) as u32;
        for (item, weight) in items {
            if roll < *weight {
                return item;
            }
            roll -= weight;
        }
        &items[items.len() - 1].0
    }

    /// A lower-case GUID.
    pub fn guid(&mut self) -> String {
        let a = self.next_u64();
        let b = self.next_u64();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | ((b >> 48) & 0x3fff),
            b & 0xffff_ffff_ffff
        )
    }
}

/// A JSON value with its keys in the order they are written.
#[derive(Debug, Clone)]
pub enum J {
    Null,
    Bool(bool),
    Int(i64),
    Num(f64),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

impl J {
    /// Compact JSON text.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    /// Appends compact JSON text.
    pub fn write(&self, out: &mut String) {
        match self {
            J::Null => out.push_str("null"),
            J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            J::Int(n) => {
                let _ = write!(out, "{n}");
            }
            J::Num(x) => {
                let _ = write!(out, "{x}");
            }
            J::Str(s) => write_str(s, out),
            J::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            J::Obj(fields) => {
                out.push('{');
                for (i, (key, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_str(key, out);
                    out.push(':');
                    value.write(out);
                }
                out.push('}');
            }
        }
    }

    /// The value of a key of an object.
    pub fn get(&self, key: &str) -> Option<&J> {
        match self {
            J::Obj(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn as_str(&self) -> Option<&str> {
        match self {
            J::Str(s) => Some(s),
            _ => None,
        }
    }
}

fn write_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn s(text: impl Into<String>) -> J {
    J::Str(text.into())
}

fn strs(items: &[&str]) -> J {
    J::Arr(items.iter().map(|t| s(*t)).collect())
}

/// An object builder that keeps insertion order.
struct Obj(Vec<(String, J)>);

impl Obj {
    fn new() -> Obj {
        Obj(Vec::with_capacity(64))
    }
    fn put(&mut self, key: &str, value: J) -> &mut Obj {
        self.0.push((key.to_string(), value));
        self
    }
    fn done(self) -> J {
        J::Obj(self.0)
    }
}

/// The input shapes the generator writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Graph `signIn` objects (camelCase), one a line.
    Jsonl,
    /// One Graph response page, `{"value": [...]}`.
    GraphPage,
    /// Azure Monitor diagnostic-settings records, one a line.
    Diagnostic,
    /// Log Analytics rows (PascalCase columns), one a line.
    LogAnalytics,
    /// The same rows as CSV (a query's results exported): a header of
    /// every column, objects and lists as JSON text.
    LogAnalyticsCsv,
}

impl Shape {
    /// Every shape, in the order benchmarks report them.
    pub const ALL: [Shape; 5] = [
        Shape::Jsonl,
        Shape::GraphPage,
        Shape::Diagnostic,
        Shape::LogAnalytics,
        Shape::LogAnalyticsCsv,
    ];

    /// The name on the command line and in benchmark ids.
    pub fn name(self) -> &'static str {
        match self {
            Shape::Jsonl => "jsonl",
            Shape::GraphPage => "graph-page",
            Shape::Diagnostic => "diagnostic",
            Shape::LogAnalytics => "log-analytics",
            Shape::LogAnalyticsCsv => "log-analytics-csv",
        }
    }

    /// The shape with this name.
    pub fn from_name(name: &str) -> Option<Shape> {
        Shape::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// Which sign-in log a generated record belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Log {
    Interactive,
    NonInteractive,
    ServicePrincipal,
    ManagedIdentity,
}

impl Log {
    fn event_type(self) -> &'static str {
        match self {
            Log::Interactive => "interactiveUser",
            Log::NonInteractive => "nonInteractiveUser",
            Log::ServicePrincipal => "servicePrincipal",
            Log::ManagedIdentity => "managedIdentity",
        }
    }
    fn diagnostic_category(self) -> &'static str {
        match self {
            Log::Interactive => "SignInLogs",
            Log::NonInteractive => "NonInteractiveUserSignInLogs",
            Log::ServicePrincipal => "ServicePrincipalSignInLogs",
            Log::ManagedIdentity => "ManagedIdentitySignInLogs",
        }
    }
    fn table(self) -> &'static str {
        match self {
            Log::Interactive => "SigninLogs",
            Log::NonInteractive => "AADNonInteractiveUserSignInLogs",
            Log::ServicePrincipal => "AADServicePrincipalSignInLogs",
            Log::ManagedIdentity => "AADManagedIdentitySignInLogs",
        }
    }
}

/// The home tenant of every generated sign-in.
pub const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

/// The address ranges the generated "corporate" sign-ins come from.
pub const CORPORATE_RANGES: [&str; 3] = ["203.0.113.0/24", "198.51.100.0/24", "192.0.2.0/24"];

/// Countries with their cities (name, state, latitude, longitude) and how
/// often users live there.
/// A city: name, state, latitude, longitude.
type City = (&'static str, &'static str, f64, f64);

const COUNTRIES: &[(&str, &[City], u32)] = &[
    (
        "US",
        &[
            ("Seattle", "Washington", 47.6062, -122.3321),
            ("New York", "New York", 40.7128, -74.006),
            ("Chicago", "Illinois", 41.8781, -87.6298),
            ("Austin", "Texas", 30.2672, -97.7431),
            ("Redmond", "Washington", 47.674, -122.1215),
        ],
        400,
    ),
    (
        "GB",
        &[
            ("London", "England", 51.5072, -0.1276),
            ("Manchester", "England", 53.4808, -2.2426),
        ],
        120,
    ),
    (
        "DE",
        &[
            ("Berlin", "Berlin", 52.52, 13.405),
            ("Munich", "Bavaria", 48.1351, 11.582),
        ],
        80,
    ),
    (
        "FR",
        &[
            ("Paris", "Ile-de-France", 48.8566, 2.3522),
            ("Lyon", "Auvergne-Rhone-Alpes", 45.764, 4.8357),
        ],
        70,
    ),
    (
        "IN",
        &[
            ("Bengaluru", "Karnataka", 12.9716, 77.5946),
            ("Mumbai", "Maharashtra", 19.076, 72.8777),
        ],
        60,
    ),
    ("CA", &[("Toronto", "Ontario", 43.6532, -79.3832)], 50),
    ("JP", &[("Tokyo", "Tokyo", 35.6762, 139.6503)], 40),
    (
        "AU",
        &[("Sydney", "New South Wales", -33.8688, 151.2093)],
        35,
    ),
    ("NL", &[("Amsterdam", "North Holland", 52.3676, 4.9041)], 30),
    ("BR", &[("Sao Paulo", "Sao Paulo", -23.5505, -46.6333)], 25),
    ("IE", &[("Dublin", "Leinster", 53.3498, -6.2603)], 20),
    ("ES", &[("Madrid", "Madrid", 40.4168, -3.7038)], 20),
    ("SG", &[("Singapore", "Singapore", 1.3521, 103.8198)], 20),
    ("CN", &[("Beijing", "Beijing", 39.9042, 116.4074)], 5),
    ("RU", &[("Moscow", "Moscow", 55.7558, 37.6173)], 5),
    ("NG", &[("Lagos", "Lagos", 6.5244, 3.3792)], 4),
    ("VN", &[("Hanoi", "Hanoi", 21.0278, 105.8342)], 4),
    ("RO", &[("Bucharest", "Bucharest", 44.4268, 26.1025)], 4),
    ("UA", &[("Kyiv", "Kyiv", 50.4501, 30.5234)], 3),
    ("TR", &[("Istanbul", "Istanbul", 41.0082, 28.9784)], 3),
];

/// The countries the comparison rules treat as expected.
pub const USUAL_COUNTRIES: [&str; 13] = [
    "US", "GB", "DE", "FR", "IN", "CA", "JP", "AU", "NL", "BR", "IE", "ES", "SG",
];

/// User-facing applications and how often they are signed in to.
const APPS: &[(&str, u32)] = &[
    ("Microsoft Teams", 180),
    ("Microsoft Outlook", 90),
    ("Office 365 Exchange Online", 80),
    ("Microsoft Office", 90),
    ("OfficeHome", 70),
    ("Windows Sign In", 70),
    ("OneDrive SyncEngine", 60),
    ("Microsoft Authentication Broker", 60),
    ("SharePoint Online Web Client Extensibility", 40),
    ("Azure Portal", 50),
    ("My Apps", 20),
    ("Microsoft Azure CLI", 20),
    ("Microsoft Azure PowerShell", 10),
    ("Visual Studio Code", 20),
    ("Power BI Desktop", 20),
    ("Microsoft Edge", 30),
    ("Salesforce", 10),
    ("ServiceNow", 10),
    ("Workday", 8),
    ("Zoom", 10),
    ("Slack", 10),
    ("GitHub Enterprise Cloud", 8),
];

/// Resources (display name, app id) that tokens are issued for.
const RESOURCES: &[(&str, &str)] = &[
    ("Microsoft Graph", "00000003-0000-0000-c000-000000000000"),
    (
        "Office 365 Exchange Online",
        "00000002-0000-0ff1-ce00-000000000000",
    ),
    (
        "Office 365 SharePoint Online",
        "00000003-0000-0ff1-ce00-000000000000",
    ),
    (
        "Windows Azure Service Management API",
        "797f4846-ba00-4fd7-ba43-dac1f8f63013",
    ),
    ("Azure Key Vault", "cfa8b339-82a2-471a-a3c9-0fc0be7a4093"),
    (
        "Windows Azure Active Directory",
        "00000002-0000-0000-c000-000000000000",
    ),
];

const FIRST: &[&str] = &[
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory",
    "nina", "oscar", "peggy", "quinn", "rupert", "sybil", "trent", "uma", "victor", "wendy",
    "xavier", "yara", "zoe", "amir", "bea", "chen", "dmitri", "eszter", "fatima", "goran", "hana",
    "ines", "jonas", "kenji", "lena", "mateo", "noor", "olga", "priya",
];
const LAST: &[&str] = &[
    "smith", "garcia", "mueller", "martin", "rossi", "kowalski", "nguyen", "tanaka", "silva",
    "johnson", "brown", "dubois", "schmidt", "jensen", "novak", "kim", "patel", "cohen", "ivanova",
    "oconnor", "larsen", "moreau", "fischer", "santos", "yamamoto", "lopez", "wilson", "khan",
];

const BROWSER_UAS: &[(&str, &str, &str)] = &[
    (
        "Windows 10",
        "Edge 124.0.0",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.0.0",
    ),
    (
        "Windows 10",
        "Chrome 124.0.0",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    ),
    (
        "MacOs",
        "Safari 17.4",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    ),
    (
        "Ios",
        "Mobile Safari 17.4",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    ),
    (
        "Linux",
        "Firefox 125.0",
        "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    ),
];
const CLIENT_UAS: &[(&str, &str, &str)] = &[
    (
        "Windows 10",
        "Rich Client 5.2.0.0",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Teams/24004.1307.2669.7070 Chrome/118.0.5993.129 Electron/27.3.0 Safari/537.36",
    ),
    (
        "Windows 10",
        "Rich Client 4.60.0.0",
        "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17531; Pro)",
    ),
    (
        "Ios",
        "Rich Client 4.61.0",
        "Outlook-iOS/723.4027091.prod.iphone (4.2418.0)",
    ),
    (
        "Android",
        "Rich Client 4.2418.1",
        "Dalvik/2.1.0 (Linux; U; Android 14; Pixel 8 Build/AP1A.240405.002)",
    ),
    (
        "MacOs",
        "Rich Client 5.2.0.0",
        "Microsoft Office/16.0 (Macintosh; Mac OS X 14.4; Microsoft Outlook 16.84)",
    ),
];

const LEGACY_CLIENTS: &[(&str, u32)] = &[
    ("Exchange ActiveSync", 40),
    ("IMAP4", 18),
    ("POP3", 10),
    ("Authenticated SMTP", 16),
    ("MAPI Over HTTP", 6),
    ("Other clients", 10),
];

/// (code, failure reason, how often among interactive / non-interactive /
/// service principal sign-ins, per ten thousand).
const ERRORS: &[(i64, &str, [u32; 3])] = &[
    (0, "Other.", [8460, 9340, 9700]),
    (
        50126,
        "Error validating credentials due to invalid username or password.",
        [500, 50, 0],
    ),
    (50074, "Strong Authentication is required.", [250, 0, 0]),
    (
        500121,
        "Authentication failed during strong authentication request.",
        [200, 0, 0],
    ),
    (
        53003,
        "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.",
        [120, 100, 0],
    ),
    (
        53000,
        "Device is not in required device state: compliant. Conditional Access policy requires a compliant device, and the device is not compliant.",
        [60, 30, 0],
    ),
    (
        50140,
        "This error occurred due to 'Keep me signed in' interrupt when the user was signing in.",
        [150, 0, 0],
    ),
    (
        50076,
        "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access.",
        [100, 100, 0],
    ),
    (
        50053,
        "Account is locked because user tried to sign in too many times with an incorrect user ID or password.",
        [60, 0, 0],
    ),
    (50055, "The password is expired.", [30, 0, 0]),
    (50057, "User account is disabled.", [20, 20, 0]),
    (
        50158,
        "External security challenge was not satisfied.",
        [20, 0, 0],
    ),
    (
        530035,
        "Access has been blocked by security defaults.",
        [10, 0, 0],
    ),
    (
        50173,
        "The provided grant has expired due to it being revoked, a fresh auth token is needed.",
        [0, 200, 0],
    ),
    (
        70043,
        "The refresh token has expired or is invalid due to sign-in frequency checks by conditional access.",
        [0, 120, 0],
    ),
    (
        50089,
        "Flow token expired - Authentication Failed.",
        [20, 40, 0],
    ),
    (7000215, "Invalid client secret is provided.", [0, 0, 200]),
    (
        7000222,
        "The provided client secret keys are expired.",
        [0, 0, 100],
    ),
];

const MFA_DETAILS: &[(&str, u32)] = &[
    ("MFA denied; user declined the authentication", 5),
    (
        "MFA denied; user did not respond to mobile app notification",
        3,
    ),
    (
        "MFA incomplete; user did not complete the authentication",
        2,
    ),
];

/// The tenant's Conditional Access policies: (name, state, grant controls).
/// State: `e` enabled, `r` report-only, `d` disabled.
const POLICIES: &[(&str, char, &[&str])] = &[
    ("Require MFA for admins", 'e', &["Mfa"]),
    ("Block legacy authentication", 'e', &["Block"]),
    ("Require MFA for all users", 'r', &["Mfa"]),
    (
        "Require compliant device for Office 365",
        'e',
        &["CompliantDevice"],
    ),
    (
        "Block sign-ins from outside allowed countries",
        'r',
        &["Block"],
    ),
    ("Require MFA for Azure management", 'e', &["Mfa"]),
    ("Sign-in frequency for unmanaged devices", 'e', &[]),
    (
        "Require app protection policy on mobile",
        'r',
        &["ApprovedApplication", "CompliantApplication"],
    ),
    ("Block high user risk", 'e', &["Block"]),
    (
        "Require password change for high user risk",
        'e',
        &["Mfa", "PasswordChange"],
    ),
    ("Require MFA for guests", 'e', &["Mfa"]),
    ("Block device code flow", 'r', &["Block"]),
    (
        "Require phishing-resistant MFA for admins",
        'r',
        &["AuthenticationStrength"],
    ),
    ("Legacy: require domain join", 'd', &["DomainJoinedDevice"]),
    ("Require terms of use", 'e', &["TermsOfUse"]),
    (
        "Workload identities from trusted locations",
        'e',
        &["Block"],
    ),
    ("Require MFA to register security info", 'e', &["Mfa"]),
    ("Block unknown platforms", 'r', &["Block"]),
    ("Persistent browser off on unmanaged devices", 'e', &[]),
    ("Pilot: token protection", 'd', &[]),
    (
        "Require compliant device for admins",
        'e',
        &["CompliantDevice"],
    ),
    (
        "Block access for service accounts off-network",
        'r',
        &["Block"],
    ),
    ("Require MFA for risky sign-ins", 'e', &["Mfa"]),
    ("Test: block Android", 'd', &["Block"]),
    (
        "Require hybrid join for finance apps",
        'e',
        &["DomainJoinedDevice"],
    ),
    ("Require MFA for external access", 'r', &["Mfa"]),
    ("Continuous access evaluation strict", 'e', &[]),
    ("Block authentication transfer", 'r', &["Block"]),
    ("Require MFA for Intune enrollment", 'e', &["Mfa"]),
    ("Old: MFA for VPN", 'd', &["Mfa"]),
];

struct User {
    id: String,
    display: String,
    upn: String,
    guest: bool,
    federated: bool,
    country: usize,
    city: usize,
    corporate: bool,
    home_ip: String,
    device_id: String,
    device_name: String,
    trust: &'static str,
    compliant: bool,
}

const CREDENTIALS: [&str; 4] = [
    "managedIdentity",
    "clientSecret",
    "certificate",
    "clientAssertion",
];

struct Principal {
    id: String,
    app_id: String,
    name: String,
    managed: bool,
    credential: &'static str,
}

/// Writes sign-ins from one seed; every record depends only on the seed
/// and its index.
pub struct Generator {
    rng: Rng,
    users: Vec<User>,
    principals: Vec<Principal>,
    app_ids: Vec<String>,
    policy_ids: Vec<String>,
    other_tenants: Vec<String>,
    index: u64,
}

/// Seconds since 1970 of the first generated sign-in (2025-03-01T00:00:00Z).
const START: i64 = 1_740_787_200;

impl Generator {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Generator {
        let mut rng = Rng::new(seed);
        let country_weights: Vec<(usize, u32)> = COUNTRIES
            .iter()
            .enumerate()
            .map(|(i, c)| (i, c.2))
            .collect();
        let mut users = Vec::new();
        for n in 0..5000 {
            let first = *rng.pick(FIRST);
            let last = *rng.pick(LAST);
            let guest = rng.chance(30);
            let local = format!("{first}.{last}{n}");
            let upn = if guest {
                format!("{local}_fabrikam.com#EXT#@contoso.onmicrosoft.com")
            } else {
                format!("{local}@contoso.com")
            };
            let country = *rng.weighted(&country_weights);
            let city = rng.below(COUNTRIES[country].1.len());
            let corporate = rng.chance(600);
            let home_ip = if corporate {
                corporate_ip(&mut rng)
            } else {
                public_ip(&mut rng)
            };
            let trust = *rng.weighted(&[
                ("Azure AD joined", 45),
                ("Hybrid Azure AD joined", 25),
                ("Azure AD registered", 15),
                ("", 15),
            ]);
            users.push(User {
                id: rng.guid(),
                display: format!("{} {}", title(first), title(last)),
                upn,
                guest,
                federated: !guest && rng.chance(40),
                country,
                city,
                corporate,
                home_ip,
                device_id: if trust.is_empty() {
                    String::new()
                } else {
                    rng.guid()
                },
                device_name: if trust.is_empty() {
                    String::new()
                } else {
                    format!("CPC-{}-{:04}", &last[..3.min(last.len())], rng.below(10000))
                },
                trust,
                compliant: !trust.is_empty() && rng.chance(850),
            });
        }
        let mut principals = Vec::new();
        for (n, name) in [
            "ci-deploy",
            "backup-job",
            "hr-sync",
            "billing-export",
            "monitoring-agent",
            "ticket-bridge",
            "data-pipeline",
            "key-rotation",
            "report-builder",
            "crm-connector",
            "func-orders",
            "vm-build-agent",
            "aks-workload",
            "logic-app-notify",
        ]
        .iter()
        .enumerate()
        {
            principals.push(Principal {
                id: rng.guid(),
                app_id: rng.guid(),
                name: name.to_string(),
                managed: n >= 10,
                credential: CREDENTIALS[if n >= 10 { 0 } else { rng.range(1, 3) }],
            });
        }
        let app_ids = APPS
            .iter()
            .map(|(name, _)| match *name {
                "Azure Portal" => "c44b4083-3bb0-49c1-b47d-974e53cbdf3c".to_string(),
                _ => rng.guid(),
            })
            .collect();
        let policy_ids = POLICIES.iter().map(|_| rng.guid()).collect();
        let other_tenants = (0..40).map(|_| rng.guid()).collect();
        Generator {
            rng,
            users,
            principals,
            app_ids,
            policy_ids,
            other_tenants,
            index: 0,
        }
    }

    /// The next sign-in: the Graph beta `signIn` object and its log.
    pub fn next_sign_in(&mut self) -> (J, Log) {
        let index = self.index;
        self.index += 1;
        let log = *self.rng.weighted(&[
            (Log::Interactive, 42),
            (Log::NonInteractive, 43),
            (Log::ServicePrincipal, 10),
            (Log::ManagedIdentity, 5),
        ]);
        let record = match log {
            Log::Interactive | Log::NonInteractive => self.user_sign_in(index, log),
            Log::ServicePrincipal | Log::ManagedIdentity => self.principal_sign_in(index, log),
        };
        (record, log)
    }

    fn timestamp(&mut self, index: u64) -> (i64, u32) {
        // About one sign-in every 13 seconds, jittered.
        let secs = START + (index as i64) * 13 + self.rng.below(13) as i64;
        (secs, self.rng.below(10_000_000) as u32)
    }

    fn location(&mut self, country: usize, city: usize) -> J {
        let (code, cities, _) = COUNTRIES[country];
        let (name, state, lat, lon) = cities[city.min(cities.len() - 1)];
        let mut o = Obj::new();
        o.put("city", s(name))
            .put("state", s(state))
            .put("countryOrRegion", s(code));
        let mut g = Obj::new();
        g.put("altitude", J::Null)
            .put("latitude", J::Num(lat))
            .put("longitude", J::Num(lon));
        o.put("geoCoordinates", g.done());
        o.done()
    }

    fn error(&mut self, column: usize) -> (i64, &'static str) {
        let weights: Vec<(usize, u32)> = ERRORS
            .iter()
            .enumerate()
            .map(|(i, e)| (i, e.2[column]))
            .collect();
        let (code, reason, _) = ERRORS[*self.rng.weighted(&weights)];
        (code, reason)
    }

    fn policies(&mut self, count: usize, ca_status: &str, blocked: bool) -> J {
        let mut list = Vec::with_capacity(count);
        let enabled: Vec<usize> = (0..count).filter(|&i| POLICIES[i].1 == 'e').collect();
        // A blocked sign-in shows the policy that failed it; one that
        // Conditional Access succeeded on shows a policy that applied.
        let chosen = if enabled.is_empty() {
            None
        } else {
            Some(enabled[self.rng.below(enabled.len())])
        };
        let failing = if blocked { chosen } else { None };
        let forced = if ca_status == "success" { chosen } else { None };
        for (i, (name, state, grants)) in POLICIES.iter().take(count).enumerate() {
            let result = match state {
                'd' => "notEnabled",
                'r' => *self.rng.weighted(&[
                    ("reportOnlyNotApplied", 780),
                    ("reportOnlySuccess", 190),
                    ("reportOnlyFailure", 18),
                    ("reportOnlyInterrupted", 12),
                ]),
                _ if Some(i) == failing => "failure",
                _ if Some(i) == forced => "success",
                _ if ca_status != "success" => "notApplied",
                _ => {
                    if self.rng.chance(300) {
                        "success"
                    } else {
                        "notApplied"
                    }
                }
            };
            let applies = result == "success" || result == "failure";
            let mut o = Obj::new();
            o.put("id", s(self.policy_ids[i].clone()))
                .put("displayName", s(*name))
                .put(
                    "enforcedGrantControls",
                    if applies {
                        strs(grants)
                    } else {
                        J::Arr(Vec::new())
                    },
                )
                .put("enforcedSessionControls", J::Arr(Vec::new()))
                .put("result", s(result))
                .put(
                    "conditionsSatisfied",
                    s(if applies || result.starts_with("reportOnly") {
                        "application,users"
                    } else {
                        "none"
                    }),
                )
                .put(
                    "conditionsNotSatisfied",
                    s(if applies { "none" } else { "application" }),
                );
            list.push(o.done());
        }
        J::Arr(list)
    }

    fn policy_count(&mut self) -> usize {
        match self.rng.below(100) {
            0..=64 => 0,
            65..=89 => self.rng.range(1, 3),
            90..=97 => self.rng.range(4, 10),
            _ => self.rng.range(11, 30),
        }
    }

    fn user_sign_in(&mut self, index: u64, log: Log) -> J {
        let rng_user = self.rng.below(self.users.len());
        let interactive = log == Log::Interactive;
        let (secs, frac) = self.timestamp(index);
        let app = {
            let weights: Vec<(usize, u32)> =
                APPS.iter().enumerate().map(|(i, a)| (i, a.1)).collect();
            *self.rng.weighted(&weights)
        };
        let app_name = APPS[app].0;
        let resource = if app_name == "Azure Portal" || app_name.starts_with("Microsoft Azure") {
            RESOURCES[3]
        } else if app_name.contains("Exchange") || app_name == "Microsoft Outlook" {
            RESOURCES[1]
        } else {
            *self.rng.pick(RESOURCES)
        };
        let user = &self.users[rng_user];
        let (user_id, display, upn, guest, federated) = (
            user.id.clone(),
            user.display.clone(),
            user.upn.clone(),
            user.guest,
            user.federated,
        );
        let (home_country, home_city, corporate, home_ip) = (
            user.country,
            user.city,
            user.corporate,
            user.home_ip.clone(),
        );
        let (device_id, device_name, trust, compliant) = (
            user.device_id.clone(),
            user.device_name.clone(),
            user.trust,
            user.compliant,
        );

        // Where from: mostly home, sometimes travelling or on a phone network.
        let travelling = self.rng.chance(80);
        let (country, city) = if travelling {
            let weights: Vec<(usize, u32)> = COUNTRIES
                .iter()
                .enumerate()
                .map(|(i, c)| (i, c.2))
                .collect();
            let c = *self.rng.weighted(&weights);
            (c, self.rng.below(COUNTRIES[c].1.len()))
        } else {
            (home_country, home_city)
        };
        let ip = if travelling {
            if self.rng.chance(150) {
                ipv6(&mut self.rng)
            } else {
                public_ip(&mut self.rng)
            }
        } else if corporate && self.rng.chance(900) {
            if self.rng.chance(800) {
                home_ip
            } else {
                corporate_ip(&mut self.rng)
            }
        } else if self.rng.chance(120) {
            ipv6(&mut self.rng)
        } else if corporate {
            public_ip(&mut self.rng)
        } else {
            home_ip
        };
        let on_corp = is_corporate(&ip);

        // How: client, protocol, result.
        let legacy = self.rng.chance(if interactive { 30 } else { 20 });
        let client_app = if legacy {
            *self.rng.weighted(LEGACY_CLIENTS)
        } else if interactive {
            *self
                .rng
                .weighted(&[("Browser", 62), ("Mobile Apps and Desktop clients", 38)])
        } else {
            *self
                .rng
                .weighted(&[("Browser", 14), ("Mobile Apps and Desktop clients", 86)])
        };
        let protocol = if legacy {
            "ropc"
        } else if interactive {
            *self.rng.weighted(&[
                ("oAuth2", 700),
                ("none", 95),
                ("saml20", 60),
                ("wsFederation", if federated { 400 } else { 10 }),
                ("ropc", 20),
                ("deviceCode", 15),
            ])
        } else {
            *self.rng.weighted(&[
                ("none", 600),
                ("oAuth2", 388),
                ("ropc", 10),
                ("deviceCode", 2),
            ])
        };
        let (mut code, mut reason) = self.error(if interactive { 0 } else { 1 });
        if legacy && code == 0 && self.rng.chance(250) {
            (code, reason) = (ERRORS[1].0, ERRORS[1].1);
        }
        let blocked = matches!(code, 53003 | 53000);
        let ca_status = if blocked {
            "failure"
        } else if interactive {
            if self.rng.chance(50) {
                "notApplied"
            } else {
                "success"
            }
        } else if self.rng.chance(250) {
            "notApplied"
        } else {
            "success"
        };
        let xt = if guest {
            "b2bCollaboration"
        } else {
            *self.rng.weighted(&[
                ("none", 9500),
                ("passthrough", 200),
                ("b2bCollaboration", 150),
                ("b2bDirectConnect", 80),
                ("serviceProvider", 70),
            ])
        };
        let resource_tenant = if xt == "none" || xt == "b2bCollaboration" && guest {
            TENANT.to_string()
        } else {
            self.rng.pick(&self.other_tenants).clone()
        };
        let adfs = federated && interactive && !legacy;
        let risk =
            *self
                .rng
                .weighted(&[("none", 9400), ("low", 350), ("medium", 160), ("high", 90)]);
        let risk_state = if risk == "none" {
            "none"
        } else {
            *self.rng.weighted(&[
                ("atRisk", 60),
                ("remediated", 20),
                ("dismissed", 10),
                ("confirmedSafe", 10),
            ])
        };
        let mfa =
            interactive && code != 50126 && !legacy && (self.rng.chance(550) || code == 500121);
        let requirement = if mfa {
            "multiFactorAuthentication"
        } else {
            "singleFactorAuthentication"
        };
        let (os, browser, ua) = if legacy {
            (
                "",
                "",
                *self.rng.pick(&[
                    "BAV2ROPC",
                    "",
                    "Microsoft Office/16.0 (Windows NT 10.0; MAPI 16.0.4266)",
                ]),
            )
        } else if client_app == "Browser" {
            *self.rng.pick(BROWSER_UAS)
        } else {
            *self.rng.pick(CLIENT_UAS)
        };
        let fido_quirk = !interactive && self.rng.chance(5);
        let methods: Vec<&str> = if !interactive {
            Vec::new()
        } else if mfa {
            vec![
                "Password",
                *self.rng.weighted(&[
                    ("Mobile app notification", 60),
                    ("OATH verification code", 15),
                    ("Text message", 10),
                    ("FIDO2 security key", 8),
                    ("Windows Hello for Business", 7),
                ]),
            ]
        } else {
            vec!["Password"]
        };

        let mut o = Obj::new();
        o.put("id", s(self.rng.guid()))
            .put("createdDateTime", s(timestamp(secs, frac)))
            .put("userDisplayName", s(display))
            .put("userPrincipalName", s(upn.clone()))
            .put("userId", s(user_id))
            .put("appId", s(self.app_ids[app].clone()))
            .put("appDisplayName", s(app_name))
            .put("ipAddress", s(ip.clone()))
            .put("clientAppUsed", s(client_app))
            .put("userAgent", s(ua))
            .put("correlationId", s(self.rng.guid()))
            .put("conditionalAccessStatus", s(ca_status))
            .put("isInteractive", J::Bool(interactive || fido_quirk))
            .put(
                "tokenIssuerName",
                s(if adfs { "sts.contoso.com" } else { "" }),
            )
            .put(
                "tokenIssuerType",
                s(if adfs {
                    "ADFederationServices"
                } else {
                    "AzureAD"
                }),
            )
            .put("clientCredentialType", s("none"))
            .put(
                "processingTimeInMilliseconds",
                J::Int(self.rng.range(20, 400) as i64),
            )
            .put(
                "riskDetail",
                s(match risk_state {
                    "remediated" => "userPerformedSecuredPasswordChange",
                    "dismissed" => "adminDismissedAllRiskForUser",
                    "confirmedSafe" => "adminConfirmedSigninSafe",
                    _ => "none",
                }),
            )
            .put("riskLevelDuringSignIn", s(risk))
            .put("riskState", s(risk_state))
            .put(
                "riskEventTypes_v2",
                if risk == "none" {
                    J::Arr(Vec::new())
                } else {
                    strs(&[*self.rng.pick(&[
                        "unfamiliarFeatures",
                        "anonymizedIPAddress",
                        "impossibleTravel",
                        "passwordSpray",
                    ])])
                },
            )
            .put("resourceDisplayName", s(resource.0))
            .put("resourceId", s(resource.1))
            .put("resourceTenantId", s(resource_tenant))
            .put("homeTenantId", s(TENANT))
            .put("authenticationRequirement", s(requirement))
            .put("userType", s(if guest { "guest" } else { "member" }))
            .put(
                "isTenantRestricted",
                J::Bool(xt == "passthrough" && self.rng.chance(250)),
            )
            .put(
                "autonomousSystemNumber",
                J::Int(*self.rng.pick(&[8075, 7922, 3320, 2856, 16509, 13335, 4134]) as i64),
            )
            .put("crossTenantAccessType", s(xt))
            .put("uniqueTokenIdentifier", s(token_id(&mut self.rng)))
            .put(
                "incomingTokenType",
                s(if adfs {
                    "saml11"
                } else if interactive {
                    "none"
                } else {
                    "primaryRefreshToken"
                }),
            )
            .put("authenticationProtocol", s(protocol))
            .put("sessionId", s(self.rng.guid()))
            .put("signInEventTypes", strs(&[log.event_type()]))
            .put("authenticationMethodsUsed", strs(&methods));

        let additional = if code == 500121 {
            s(*self.rng.weighted(MFA_DETAILS))
        } else if code == 0 && mfa {
            s("MFA requirement satisfied by claim in the token")
        } else {
            J::Null
        };
        let mut st = Obj::new();
        st.put("errorCode", J::Int(code))
            .put("failureReason", s(reason))
            .put("additionalDetails", additional.clone());
        o.put("status", st.done());

        let mut dev = Obj::new();
        dev.put("deviceId", s(device_id))
            .put("displayName", s(device_name))
            .put("operatingSystem", s(os))
            .put("browser", s(browser))
            .put("isCompliant", J::Bool(compliant))
            .put("isManaged", J::Bool(!trust.is_empty()))
            .put("trustType", s(trust));
        o.put("deviceDetail", dev.done());
        o.put("location", self.location(country, city));

        let mut count = self.policy_count();
        if ca_status != "notApplied" {
            count = count.max(1);
        }
        o.put(
            "appliedConditionalAccessPolicies",
            self.policies(count, ca_status, blocked),
        );

        // Authentication steps.
        let step_time = timestamp(secs - 2, frac);
        let mut steps = Vec::new();
        if interactive {
            let password_ok = code != 50126 && code != 50053;
            steps.push(auth_step(
                "Password",
                "Password in the cloud",
                &step_time,
                "primaryAuthentication",
                if password_ok {
                    "Correct password"
                } else {
                    "Invalid username or password or Invalid on-premise username or password."
                },
                password_ok,
            ));
            if mfa {
                let denied = code == 500121;
                let detail = match &additional {
                    J::Str(t) if denied => t.clone(),
                    _ => "MFA successfully completed".to_string(),
                };
                steps.push(auth_step(
                    methods.get(1).copied().unwrap_or("Mobile app notification"),
                    "",
                    &step_time,
                    "secondaryAuthentication",
                    &detail,
                    !denied,
                ));
            }
        } else {
            steps.push(auth_step(
                "Previously satisfied",
                "",
                &step_time,
                "primaryAuthentication",
                "First factor requirement satisfied by claim in the token",
                true,
            ));
        }
        o.put("authenticationDetails", J::Arr(steps));
        o.put(
            "networkLocationDetails",
            if on_corp {
                let mut n = Obj::new();
                n.put("networkType", s("namedNetwork"))
                    .put("networkNames", strs(&["Corporate egress"]));
                J::Arr(vec![n.done()])
            } else {
                J::Arr(Vec::new())
            },
        );
        o.done()
    }

    fn principal_sign_in(&mut self, index: u64, log: Log) -> J {
        let managed = log == Log::ManagedIdentity;
        let candidates: Vec<usize> = (0..self.principals.len())
            .filter(|&i| self.principals[i].managed == managed)
            .collect();
        let p = &self.principals[*self.rng.pick(&candidates)];
        let (sp_id, app_id, name, credential) =
            (p.id.clone(), p.app_id.clone(), p.name.clone(), p.credential);
        let (secs, frac) = self.timestamp(index);
        let (code, reason) = if managed {
            (0, "Other.")
        } else {
            self.error(2)
        };
        let resource = *self.rng.pick(RESOURCES);
        let ca = if self.rng.chance(150) {
            "success"
        } else {
            "notApplied"
        };
        let ip = if managed || self.rng.chance(700) {
            format!(
                "20.{}.{}.{}",
                self.rng.range(36, 231),
                self.rng.below(256),
                self.rng.range(1, 254)
            )
        } else {
            corporate_ip(&mut self.rng)
        };
        let country = if self.rng.chance(700) { 0 } else { 2 };
        let mut o = Obj::new();
        o.put("id", s(self.rng.guid()))
            .put("createdDateTime", s(timestamp(secs, frac)))
            .put("userDisplayName", J::Null)
            .put("userPrincipalName", J::Null)
            .put("userId", s(""))
            .put("appId", s(app_id.clone()))
            .put("appDisplayName", s(name.clone()))
            .put("ipAddress", s(ip))
            .put("clientAppUsed", J::Null)
            .put("userAgent", J::Null)
            .put("correlationId", s(self.rng.guid()))
            .put("conditionalAccessStatus", s(ca))
            .put("originalRequestId", s(self.rng.guid()))
            .put("isInteractive", J::Bool(false))
            .put("tokenIssuerName", s(""))
            .put("tokenIssuerType", s("AzureAD"))
            .put("clientCredentialType", s(credential))
            .put(
                "processingTimeInMilliseconds",
                J::Int(self.rng.range(5, 120) as i64),
            )
            .put("riskDetail", s("none"))
            .put("riskLevelAggregated", s("none"))
            .put("riskLevelDuringSignIn", s("none"))
            .put("riskState", s("none"))
            .put("resourceDisplayName", s(resource.0))
            .put("resourceId", s(resource.1))
            .put("resourceTenantId", s(TENANT))
            .put("homeTenantId", s(TENANT))
            .put("authenticationRequirement", s("singleFactorAuthentication"))
            .put("servicePrincipalName", s(name))
            .put("servicePrincipalId", s(sp_id))
            .put(
                "servicePrincipalCredentialKeyId",
                if credential == "managedIdentity" {
                    J::Null
                } else {
                    s(self.rng.guid())
                },
            )
            .put("crossTenantAccessType", s("none"))
            .put("uniqueTokenIdentifier", s(token_id(&mut self.rng)))
            .put("incomingTokenType", s("none"))
            .put("authenticationProtocol", s("none"))
            .put("signInEventTypes", strs(&[log.event_type()]));
        let mut st = Obj::new();
        st.put("errorCode", J::Int(code))
            .put("failureReason", s(reason))
            .put("additionalDetails", J::Null);
        o.put("status", st.done());
        o.put("location", self.location(country, 0));
        if managed {
            let mut m = Obj::new();
            m.put("msiType", s("systemAssigned")).put(
                "associatedResourceId",
                s(format!(
                    "/subscriptions/{}/resourceGroups/prod/providers/Microsoft.Web/sites/{}",
                    TENANT, app_id
                )),
            );
            o.put("managedServiceIdentity", m.done());
        }
        let count = if ca == "success" {
            self.rng.range(1, 4)
        } else {
            0
        };
        o.put(
            "appliedConditionalAccessPolicies",
            self.policies(count, ca, false),
        );
        o.put("authenticationDetails", J::Arr(Vec::new()));
        o.done()
    }

    /// Appends one record in `shape` (one line, newline included; for a
    /// Graph page, the element and its separator).
    pub fn write_record(&mut self, shape: Shape, first: bool, out: &mut String) {
        let (record, log) = self.next_sign_in();
        match shape {
            Shape::Jsonl => record.write(out),
            Shape::GraphPage => {
                if !first {
                    out.push(',');
                }
                out.push('\n');
                record.write(out);
                return;
            }
            Shape::Diagnostic => diagnostic(&record, log).write(out),
            Shape::LogAnalytics | Shape::LogAnalyticsCsv => log_analytics(&record, log).write(out),
        }
        out.push('\n');
    }
}

/// Writes `count` records from `seed` in `shape`.
pub fn write_all(shape: Shape, count: u64, seed: u64, out: &mut dyn Write) -> io::Result<()> {
    let mut generator = Generator::new(seed);
    if shape == Shape::LogAnalyticsCsv {
        return write_csv(&mut generator, count, out);
    }
    let mut buf = String::with_capacity(1 << 20);
    if shape == Shape::GraphPage {
        buf.push_str("{\"@odata.context\":\"https://graph.microsoft.com/beta/$metadata#auditLogs/signIns\",\"value\":[");
    }
    for i in 0..count {
        generator.write_record(shape, i == 0, &mut buf);
        if buf.len() > (1 << 20) - 16384 {
            out.write_all(buf.as_bytes())?;
            buf.clear();
        }
    }
    if shape == Shape::GraphPage {
        buf.push_str("\n]}\n");
    }
    out.write_all(buf.as_bytes())
}

/// Log Analytics rows as CSV: the rows are made first, as the header
/// names every column any row has (in order of first appearance); a row
/// without a column has an empty cell there.
fn write_csv(generator: &mut Generator, count: u64, out: &mut dyn Write) -> io::Result<()> {
    let mut rows = Vec::with_capacity(count as usize);
    let mut columns: Vec<String> = Vec::new();
    for _ in 0..count {
        let (record, log) = generator.next_sign_in();
        let J::Obj(row) = log_analytics(&record, log) else {
            continue;
        };
        for (key, _) in &row {
            if !columns.contains(key) {
                columns.push(key.clone());
            }
        }
        rows.push(row);
    }
    let cell = |text: &str, out: &mut String| {
        if text.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&text.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(text);
        }
    };
    let mut buf = String::with_capacity(1 << 20);
    for (i, column) in columns.iter().enumerate() {
        if i > 0 {
            buf.push(',');
        }
        cell(column, &mut buf);
    }
    buf.push_str("\r\n");
    for row in rows {
        for (i, column) in columns.iter().enumerate() {
            if i > 0 {
                buf.push(',');
            }
            match row.iter().find(|(k, _)| k == column).map(|(_, v)| v) {
                None | Some(J::Null) => {}
                Some(J::Str(text)) => cell(text, &mut buf),
                Some(value) => cell(&value.to_json(), &mut buf),
            }
        }
        buf.push_str("\r\n");
        if buf.len() > (1 << 20) - 16384 {
            out.write_all(buf.as_bytes())?;
            buf.clear();
        }
    }
    out.write_all(buf.as_bytes())
}

/// `count` records from `seed` in `shape`, in memory.
pub fn buffer(shape: Shape, count: u64, seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(count as usize * 2600);
    // Writing to a Vec cannot fail.
    let _ = write_all(shape, count, seed, &mut out);
    out
}

fn diagnostic(record: &J, log: Log) -> J {
    let text = |key: &str| record.get(key).cloned().unwrap_or(J::Null);
    let status = record.get("status");
    let code = match status.and_then(|st| st.get("errorCode")) {
        Some(J::Int(n)) => n.to_string(),
        _ => "0".to_string(),
    };
    let identity = match record.get("userDisplayName") {
        Some(J::Str(name)) => s(name.clone()),
        _ => text("servicePrincipalName"),
    };
    let country = record
        .get("location")
        .and_then(|l| l.get("countryOrRegion"))
        .cloned()
        .unwrap_or(J::Null);
    let mut o = Obj::new();
    o.put("time", text("createdDateTime"))
        .put(
            "resourceId",
            s(format!("/tenants/{TENANT}/providers/Microsoft.aadiam")),
        )
        .put("operationName", s("Sign-in activity"))
        .put("operationVersion", s("1.0"))
        .put("category", s(log.diagnostic_category()))
        .put("tenantId", s(TENANT))
        .put("resultType", s(code))
        .put("resultSignature", s("None"))
        .put(
            "resultDescription",
            status
                .and_then(|st| st.get("failureReason"))
                .cloned()
                .unwrap_or(J::Null),
        )
        .put("durationMs", J::Int(0))
        .put("callerIpAddress", text("ipAddress"))
        .put("correlationId", text("correlationId"))
        .put("identity", identity)
        .put("Level", J::Int(4))
        .put("location", country)
        .put("properties", record.clone());
    o.done()
}

/// Log Analytics column names that are not the Graph name in PascalCase.
const LA_RENAMES: &[(&str, &str)] = &[
    ("id", "Id"),
    ("ipAddress", "IPAddress"),
    ("resourceId", "ResourceIdentity"),
    ("location", "LocationDetails"),
    (
        "appliedConditionalAccessPolicies",
        "ConditionalAccessPolicies",
    ),
    ("riskEventTypes_v2", "RiskEventTypes_V2"),
];

/// Columns that `SigninLogs` holds as JSON objects; every other table holds
/// them as JSON text.
const LA_OBJECTS: &[&str] = &[
    "ConditionalAccessPolicies",
    "DeviceDetail",
    "LocationDetails",
    "Status",
];

fn log_analytics(record: &J, log: Log) -> J {
    let J::Obj(fields) = record else {
        return record.clone();
    };
    let status = record.get("status");
    let code = match status.and_then(|st| st.get("errorCode")) {
        Some(J::Int(n)) => n.to_string(),
        _ => "0".to_string(),
    };
    let created = record
        .get("createdDateTime")
        .and_then(J::as_str)
        .unwrap_or("");
    let mut o = Obj::new();
    o.put("TenantId", s(TENANT))
        .put("SourceSystem", s("Azure AD"))
        // Ingestion time: the sign-in time with whole seconds, in the
        // seven-digit form Log Analytics writes.
        .put("TimeGenerated", s(created))
        .put(
            "ResourceId",
            s(format!("/tenants/{TENANT}/providers/Microsoft.aadiam")),
        )
        .put("OperationName", s("Sign-in activity"))
        .put("OperationVersion", s("1.0"))
        .put("Category", s(log.diagnostic_category()))
        .put("ResultType", s(code))
        .put("ResultSignature", s("None"))
        .put(
            "ResultDescription",
            status
                .and_then(|st| st.get("failureReason"))
                .cloned()
                .unwrap_or(J::Null),
        )
        .put("DurationMs", J::Int(0))
        .put("Level", s("4"))
        .put(
            "Location",
            record
                .get("location")
                .and_then(|l| l.get("countryOrRegion"))
                .cloned()
                .unwrap_or(J::Null),
        );
    for (key, value) in fields {
        if matches!(value, J::Null) || key == "signInEventTypes" {
            continue;
        }
        let column = LA_RENAMES
            .iter()
            .find(|(graph, _)| graph == key)
            .map(|(_, la)| la.to_string())
            .unwrap_or_else(|| pascal(key));
        let value = match value {
            J::Obj(_) | J::Arr(_) => {
                let as_object = log == Log::Interactive && LA_OBJECTS.contains(&column.as_str());
                if as_object {
                    value.clone()
                } else {
                    s(value.to_json())
                }
            }
            J::Bool(b) => s(if *b { "True" } else { "False" }),
            other => other.clone(),
        };
        o.put(&column, value);
    }
    o.put("Type", s(log.table()));
    o.done()
}

fn pascal(key: &str) -> String {
    let mut chars = key.chars();
    match chars.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

fn title(word: &str) -> String {
    pascal(word)
}

fn auth_step(
    method: &str,
    detail: &str,
    at: &str,
    requirement: &str,
    result: &str,
    succeeded: bool,
) -> J {
    let mut o = Obj::new();
    o.put("authenticationStepDateTime", s(at))
        .put("authenticationMethod", s(method));
    if !detail.is_empty() {
        o.put("authenticationMethodDetail", s(detail));
    }
    o.put("succeeded", J::Bool(succeeded))
        .put("authenticationStepResultDetail", s(result))
        .put("authenticationStepRequirement", s(requirement));
    o.done()
}

fn token_id(rng: &mut Rng) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    (0..22)
        .map(|_| ALPHABET[rng.below(ALPHABET.len())] as char)
        .collect()
}

fn corporate_ip(rng: &mut Rng) -> String {
    let prefix = ["203.0.113", "198.51.100", "192.0.2"][rng.below(3)];
    format!("{prefix}.{}", rng.range(1, 254))
}

fn public_ip(rng: &mut Rng) -> String {
    loop {
        let a = rng.range(11, 223);
        if matches!(a, 100 | 127 | 169 | 172 | 192 | 198 | 203) {
            continue;
        }
        return format!(
            "{a}.{}.{}.{}",
            rng.below(256),
            rng.below(256),
            rng.range(1, 254)
        );
    }
}

fn ipv6(rng: &mut Rng) -> String {
    format!(
        "2a01:{:x}:{:x}:{:x}::{:x}",
        rng.below(0xffff),
        rng.below(0xffff),
        rng.below(0xffff),
        rng.range(1, 0xffff)
    )
}

/// Whether an address is in [`CORPORATE_RANGES`].
pub fn is_corporate(ip: &str) -> bool {
    ["203.0.113.", "198.51.100.", "192.0.2."]
        .iter()
        .any(|p| ip.starts_with(p))
}

/// `YYYY-MM-DDTHH:MM:SS.fffffffZ` for seconds since 1970 and a seven-digit
/// fraction.
pub fn timestamp(secs: i64, frac: u32) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{frac:07}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The calendar date of a day count since 1970-01-01 (proleptic Gregorian).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// `count` rule variants as YAML documents: the kinds of the built-in pack
/// and of `bench/rules12.yaml`, each with its own constants, ids
/// `GEN-0001`, `GEN-0002`, ...
pub fn rules(count: usize, seed: u64) -> String {
    let mut rng = Rng::new(seed ^ 0x5eed_0fa1_1700);
    let mut out = String::new();
    for i in 1..=count {
        if i > 1 {
            out.push_str("---\n");
        }
        let _ = writeln!(out, "id: GEN-{i:04}");
        let kind = (i - 1) % 13;
        let severity = *rng.pick(&["info", "low", "medium", "high"]);
        let app = APPS[rng.below(APPS.len())].0;
        let countries = sample(&mut rng, &USUAL_COUNTRIES, 2, 8);
        let body = match kind {
            0 => format!(
                "title: Interactive sign-in to {app} without Conditional Access\nlogs: [interactive]\nparams:\n  trusted_countries: {{ type: list, default: [{}] }}\nmatch:\n  all:\n    - isInteractive: true\n    - appDisplayName: \"{app}\"\n    - conditionalAccessStatus: notApplied\n    - status.errorCode: 0\n  not:\n    any:\n      - crossTenantAccessType: [passthrough, b2bCollaboration, b2bDirectConnect]\n      - location.countryOrRegion: {{ in: $trusted_countries }}\n",
                countries.join(", ")
            ),
            1 => format!(
                "title: Non-interactive sign-in to {app} marked interactive\nlogs: [nonInteractive]\nmatch:\n  isInteractive: true\n  appDisplayName: \"{app}\"\n"
            ),
            2 => {
                let tenants: Vec<String> = (0..rng.range(1, 5)).map(|_| rng.guid()).collect();
                format!(
                    "title: Passthrough into a restricted tenant ({i})\nparams:\n  restricted_tenants: {{ type: list, default: [{}] }}\nmatch:\n  crossTenantAccessType: passthrough\n  any:\n    - isTenantRestricted: true\n    - resourceTenantId: {{ in: $restricted_tenants }}\n",
                    tenants.join(", ")
                )
            }
            3 => format!(
                "title: Federated sign-in through sts{i}\nmatch:\n  tokenIssuerType: [ADFederationServices, ADFederationServicesMFAAdapter]\n  tokenIssuerName: {{ endsWith: sts{i}.contoso.com }}\n"
            ),
            4 => {
                let clients = sample(
                    &mut rng,
                    &LEGACY_CLIENTS.iter().map(|c| c.0).collect::<Vec<_>>(),
                    1,
                    6,
                );
                format!(
                    "title: Legacy client sign-in ({i})\nmatch:\n  status.errorCode: {}\n  clientAppUsed: [{}]\n",
                    rng.pick(&[0, 50126, 50053]),
                    clients.join(", ")
                )
            }
            5 => format!(
                "title: ROPC sign-in to {app}\nmatch:\n  authenticationProtocol: ropc\n  appDisplayName: \"{app}\"\n  status.errorCode: 0\n"
            ),
            6 => format!(
                "title: Device code sign-in outside usual countries ({i})\nmatch:\n  authenticationProtocol: deviceCode\n  location.countryOrRegion: {{ notIn: [{}] }}\n",
                countries.join(", ")
            ),
            7 => format!(
                "title: Risky sign-in to {app}\nmatch:\n  appDisplayName: \"{app}\"\n  riskLevelDuringSignIn: [{}]\n  riskState: {{ ne: {} }}\n",
                sample(&mut rng, &["low", "medium", "high"], 1, 3).join(", "),
                rng.pick(&["remediated", "dismissed", "confirmedSafe"])
            ),
            8 => {
                // The usual countries and a few of the rare ones are expected.
                let rare: Vec<&str> = COUNTRIES
                    .iter()
                    .map(|c| c.0)
                    .filter(|c| !USUAL_COUNTRIES.contains(c))
                    .collect();
                let mut expected = USUAL_COUNTRIES.to_vec();
                expected.extend(sample(&mut rng, &rare, 0, 5));
                format!(
                    "title: Successful sign-in from an unusual country ({i})\nmatch:\n  status.errorCode: 0\n  location.countryOrRegion: {{ notIn: [{}] }}\n",
                    expected.join(", ")
                )
            }
            9 => {
                let ranges: Vec<String> = (0..rng.range(1, 6))
                    .map(|_| {
                        if rng.chance(500) {
                            format!("{}.{}.0.0/16", rng.range(11, 223), rng.below(256))
                        } else {
                            format!(
                                "{}.{}.{}.0/24",
                                rng.range(11, 223),
                                rng.below(256),
                                rng.below(256)
                            )
                        }
                    })
                    .collect();
                format!(
                    "title: {app} from a watched network ({i})\nmatch:\n  appDisplayName: \"{app}\"\n  ipAddress: {{ cidr: [{}] }}\n",
                    ranges.join(", ")
                )
            }
            10 => format!(
                "title: MFA denied ({i})\nmatch:\n  status.errorCode: 500121\n  status.additionalDetails: {{ contains: \"{}\" }}\n",
                rng.pick(&[
                    "MFA denied",
                    "user declined",
                    "did not respond",
                    "incomplete"
                ])
            ),
            11 => format!(
                "title: Conditional Access policy failed ({i})\nmatch:\n  appliedConditionalAccessPolicies:\n    any:\n      displayName: \"{}\"\n      result: [failure, reportOnlyFailure]\n",
                POLICIES[rng.below(POLICIES.len())].0
            ),
            _ => format!(
                "title: Sign-in by a matching account ({i})\nmatch:\n  userPrincipalName: {{ matches: \"^{}\\\\.[a-z]+{}[0-9]*@\" }}\n",
                rng.pick(FIRST),
                rng.below(10)
            ),
        };
        let _ = writeln!(out, "severity: {severity}");
        out.push_str(&body);
    }
    out
}

fn sample<'a>(rng: &mut Rng, items: &[&'a str], min: usize, max: usize) -> Vec<&'a str> {
    let n = rng.range(min, max.min(items.len()));
    let mut pool: Vec<&str> = items.to_vec();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(pool.remove(rng.below(pool.len())));
    }
    out
}
