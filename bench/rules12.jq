# The twelve rules of bench/rules12.yaml in jq, for bench/compare.sh.
# Input: Graph sign-ins, one JSON object a line. Output: the id of every
# rule a record matches, one a line. Like tollgate, a test on an absent
# field is false (so its negation is true), `contains` ignores case, and
# the log of a record comes from signInEventTypes.

def legacy_clients: ["Exchange ActiveSync", "IMAP4", "POP3", "Authenticated SMTP", "MAPI Over HTTP", "Other clients"];
def usual_countries: ["US", "GB", "DE", "FR", "IN", "CA", "JP", "AU", "NL", "BR", "IE", "ES", "SG"];
def corporate_ranges: ["203.0.113.0/24", "198.51.100.0/24", "192.0.2.0/24"];

# An IPv4 address as a number, or null for anything else (IPv6 included).
def ip4:
  if type == "string" and test("^[0-9]{1,3}(\\.[0-9]{1,3}){3}$")
  then split(".") | map(tonumber) | ((.[0] * 256 + .[1]) * 256 + .[2]) * 256 + .[3]
  else null end;

# Whether the address (input) is inside an IPv4 range "a.b.c.d/n".
def in_cidr($range):
  ip4 as $ip
  | ($range | split("/")) as [$net, $bits]
  | pow(2; 32 - ($bits | tonumber)) as $size
  | $ip != null and (($ip / $size) | floor) == ((($net | ip4) / $size) | floor);

def interactive_log: any(.signInEventTypes[]?; . == "interactiveUser");

  (select(interactive_log
      and .isInteractive == true
      and .conditionalAccessStatus == "notApplied"
      and .status.errorCode == 0
      and ((.crossTenantAccessType | IN("passthrough", "b2bCollaboration", "b2bDirectConnect")) | not))
    | "BENCH-01"),
  (select(.status.errorCode == 0 and (.clientAppUsed | IN(legacy_clients[]))) | "BENCH-02"),
  (select(.crossTenantAccessType == "passthrough") | "BENCH-03"),
  (select(.tokenIssuerType | IN("ADFederationServices", "ADFederationServicesMFAAdapter")) | "BENCH-04"),
  (select(.authenticationProtocol == "ropc"
      and .authenticationRequirement == "singleFactorAuthentication"
      and .status.errorCode == 0)
    | "BENCH-05"),
  (select(.authenticationProtocol == "deviceCode") | "BENCH-06"),
  (select((.riskLevelDuringSignIn | IN("medium", "high"))
      and .riskState != null and .riskState != "remediated"
      and .status.errorCode == 0)
    | "BENCH-07"),
  (select(.status.errorCode == 0
      and .location.countryOrRegion != null
      and ((.location.countryOrRegion | IN(usual_countries[])) | not))
    | "BENCH-08"),
  (select(.appDisplayName == "Azure Portal"
      and (.ipAddress as $ip | any(corporate_ranges[]; . as $r | $ip | in_cidr($r)) | not))
    | "BENCH-09"),
  (select(.status.errorCode == 500121
      and (.status.additionalDetails | type == "string" and (ascii_downcase | contains("mfa denied"))))
    | "BENCH-10"),
  (select(.conditionalAccessStatus == "failure") | "BENCH-11"),
  (select(any(.appliedConditionalAccessPolicies[]?; .result == "reportOnlyFailure")) | "BENCH-12")
