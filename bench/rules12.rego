# The twelve rules of bench/rules12.yaml in Rego, for bench/compare.sh.
# `input` is one Graph sign-in; `matches` is the set of ids of the rules it
# matches. Like tollgate, a test on an absent field is undefined (false), so
# its `not` holds; `contains` ignores case; the log comes from
# signInEventTypes.
package tollgate.bench

import rego.v1

legacy_clients := {"Exchange ActiveSync", "IMAP4", "POP3", "Authenticated SMTP", "MAPI Over HTTP", "Other clients"}

usual_countries := {"US", "GB", "DE", "FR", "IN", "CA", "JP", "AU", "NL", "BR", "IE", "ES", "SG"}

corporate_ranges := ["203.0.113.0/24", "198.51.100.0/24", "192.0.2.0/24"]

cross_tenant_excluded := {"passthrough", "b2bCollaboration", "b2bDirectConnect"}

interactive_log if "interactiveUser" in input.signInEventTypes

from_corporate if {
	some range in corporate_ranges
	net.cidr_contains(range, input.ipAddress)
}

matches contains "BENCH-01" if {
	interactive_log
	input.isInteractive == true
	input.conditionalAccessStatus == "notApplied"
	input.status.errorCode == 0
	not input.crossTenantAccessType in cross_tenant_excluded
}

matches contains "BENCH-02" if {
	input.status.errorCode == 0
	input.clientAppUsed in legacy_clients
}

matches contains "BENCH-03" if input.crossTenantAccessType == "passthrough"

matches contains "BENCH-04" if input.tokenIssuerType in {"ADFederationServices", "ADFederationServicesMFAAdapter"}

matches contains "BENCH-05" if {
	input.authenticationProtocol == "ropc"
	input.authenticationRequirement == "singleFactorAuthentication"
	input.status.errorCode == 0
}

matches contains "BENCH-06" if input.authenticationProtocol == "deviceCode"

matches contains "BENCH-07" if {
	input.riskLevelDuringSignIn in {"medium", "high"}
	input.riskState != "remediated"
	input.status.errorCode == 0
}

matches contains "BENCH-08" if {
	input.status.errorCode == 0
	country := input.location.countryOrRegion
	not country in usual_countries
}

matches contains "BENCH-09" if {
	input.appDisplayName == "Azure Portal"
	not from_corporate
}

matches contains "BENCH-10" if {
	input.status.errorCode == 500121
	contains(lower(input.status.additionalDetails), "mfa denied")
}

matches contains "BENCH-11" if input.conditionalAccessStatus == "failure"

matches contains "BENCH-12" if {
	some policy in input.appliedConditionalAccessPolicies
	policy.result == "reportOnlyFailure"
}
