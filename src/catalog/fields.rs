//! The field tables: every field of the canonical sign-in record and of the
//! Graph activity record, with its type, its documentation, its enum values
//! and the Log Analytics names accepted as aliases.

use super::{Field, Kind};
use Kind::{Boolean, DateTime, Dynamic, Integer, Number, Object};

const fn f(name: &'static str, kind: Kind, doc: &'static str) -> Field {
    Field::new(name, kind, doc)
}
const fn s(name: &'static str, doc: &'static str) -> Field {
    Field::new(name, Kind::String, doc)
}

const RISK_LEVELS: &[&str] = &[
    "none",
    "low",
    "medium",
    "high",
    "hidden",
    "unknownFutureValue",
];
const CA_RESULTS: &[&str] = &[
    "success",
    "failure",
    "notApplied",
    "notEnabled",
    "unknown",
    "unknownFutureValue",
    "reportOnlySuccess",
    "reportOnlyFailure",
    "reportOnlyNotApplied",
    "reportOnlyInterrupted",
];

const STATUS: &[Field] = &[
    f(
        "errorCode",
        Integer,
        "0 for success, else the Entra error code",
    )
    .aliases(&["ResultType"]),
    s("failureReason", "why the sign-in failed").aliases(&["ResultDescription"]),
    s("additionalDetails", "extra detail on the result"),
];

const GEO: &[Field] = &[
    f("latitude", Number, "latitude in degrees"),
    f("longitude", Number, "longitude in degrees"),
    f("altitude", Number, "altitude"),
];

const LOCATION: &[Field] = &[
    s("city", "city of the sign-in"),
    s("state", "state or province of the sign-in"),
    s("countryOrRegion", "two-letter country or region code").aliases(&["Location"]),
    f("geoCoordinates", Object(GEO), "coordinates of the sign-in"),
];

const DEVICE: &[Field] = &[
    s("deviceId", "Entra device id"),
    s("displayName", "device name"),
    s("operatingSystem", "operating system"),
    s("browser", "browser and version"),
    f("isCompliant", Boolean, "device is compliant"),
    f("isManaged", Boolean, "device is managed"),
    s(
        "trustType",
        "how the device is joined (Azure AD joined, registered, ...)",
    ),
];

const CA_POLICY: &[Field] = &[
    s("id", "policy id"),
    s("displayName", "policy name"),
    s("enforcedGrantControls", "grant controls enforced").list(),
    s("enforcedSessionControls", "session controls enforced").list(),
    s("result", "outcome of the policy for this sign-in").values(CA_RESULTS),
    f(
        "conditionsSatisfied",
        Dynamic,
        "conditions met: enum-flag names in Graph, an integer bitmask in exports",
    ),
    f(
        "conditionsNotSatisfied",
        Dynamic,
        "conditions not met: enum-flag names in Graph, an integer bitmask in exports",
    ),
];

const AUTH_DETAIL: &[Field] = &[
    s("authenticationMethod", "method used in this step"),
    s("authenticationMethodDetail", "detail of the method"),
    f(
        "authenticationStepDateTime",
        DateTime,
        "when the step happened",
    ),
    s(
        "authenticationStepRequirement",
        "what the step was required for",
    ),
    s("authenticationStepResultDetail", "result of the step"),
    f("succeeded", Boolean, "the step succeeded"),
];

const NETWORK_LOCATION: &[Field] = &[
    s("networkType", "kind of network").values(&[
        "intranet",
        "extranet",
        "namedNetwork",
        "trusted",
        "trustedNamedLocation",
        "unknownFutureValue",
    ]),
    s("networkNames", "names of the network").list(),
];

const SESSION_LIFETIME: &[Field] = &[
    s("detail", "policy detail"),
    s("expirationRequirement", "what made the session expire"),
];

const AUTH_REQ_POLICY: &[Field] = &[
    s("detail", "policy detail"),
    s("requirementProvider", "what required the authentication"),
];

const KEY_VALUE: &[Field] = &[s("key", "name"), s("value", "value")];

const CA_AUDIENCE: &[Field] = &[
    s(
        "applicationId",
        "application that Conditional Access evaluated",
    ),
    s("audienceReasons", "why it was in the audience"),
];

/// The canonical sign-in record: Graph beta `signIn` names.
pub const SIGN_IN: &[Field] = &[
    s("id", "sign-in id (request id)").aliases(&["Id"]),
    f("createdDateTime", DateTime, "when the sign-in happened"),
    s("userDisplayName", "user's display name"),
    s(
        "userPrincipalName",
        "user's principal name (lower case; guests look like `x_domain#EXT#@tenant`)",
    ),
    s("userId", "user's object id"),
    s("userType", "member or guest").values(&["member", "guest", "unknownFutureValue"]),
    s("appDisplayName", "application signed in to"),
    s("appId", "application (client) id"),
    s("ipAddress", "client IP address").aliases(&["IPAddress"]),
    s(
        "clientAppUsed",
        "client app (Browser, Exchange ActiveSync, IMAP4, ...)",
    ),
    s(
        "correlationId",
        "id that ties the requests of one sign-in flow",
    ),
    s(
        "conditionalAccessStatus",
        "whether Conditional Access applied",
    )
    .values(&["success", "failure", "notApplied", "unknownFutureValue"])
    .codes(&[
        (0, "success"),
        (1, "failure"),
        (2, "notApplied"),
        (3, "unknownFutureValue"),
    ]),
    f("isInteractive", Boolean, "the sign-in was interactive"),
    s("resourceDisplayName", "resource the token is for"),
    s("resourceId", "app id of the resource").aliases(&["ResourceIdentity"]),
    s("resourceTenantId", "tenant of the resource"),
    s("homeTenantId", "user's home tenant"),
    s("homeTenantName", "user's home tenant name"),
    s("crossTenantAccessType", "kind of cross-tenant access").values(&[
        "none",
        "b2bCollaboration",
        "b2bDirectConnect",
        "microsoftSupport",
        "serviceProvider",
        "passthrough",
        "unknownFutureValue",
    ]),
    f(
        "isTenantRestricted",
        Boolean,
        "tenant restrictions applied to the sign-in",
    ),
    s(
        "authenticationRequirement",
        "strongest authentication required",
    )
    .values(&[
        "singleFactorAuthentication",
        "multiFactorAuthentication",
        "unknownFutureValue",
    ]),
    s("authenticationProtocol", "protocol of the sign-in").values(&[
        "none",
        "oAuth2",
        "ropc",
        "wsFederation",
        "saml20",
        "deviceCode",
        "authenticationTransfer",
        "nativeAuth",
        "unknownFutureValue",
    ]),
    s(
        "originalTransferMethod",
        "how the session was transferred to this sign-in (device code flow, authentication transfer)",
    )
    .values(&[
        "none",
        "deviceCodeFlow",
        "authenticationTransfer",
        "unknownFutureValue",
    ]),
    s("incomingTokenType", "token presented to sign in").values(&[
        "none",
        "primaryRefreshToken",
        "saml11",
        "saml20",
        "unknownFutureValue",
        "remoteDesktopToken",
        "refreshToken",
    ]),
    s("tokenIssuerType", "who issued the token").values(&[
        "AzureAD",
        "ADFederationServices",
        "UnknownFutureValue",
        "AzureADBackupAuth",
        "ADFederationServicesMFAAdapter",
        "NPSExtension",
    ]),
    s(
        "tokenIssuerName",
        "name of the token issuer (the federation server)",
    ),
    s(
        "uniqueTokenIdentifier",
        "id of the issued token; Graph activity's SignInActivityId",
    ),
    s("sessionId", "session id"),
    s(
        "originalRequestId",
        "request id of the first request of the flow",
    ),
    s("userAgent", "client user agent"),
    s("clientCredentialType", "credential a client presented").values(&[
        "none",
        "clientSecret",
        "clientAssertion",
        "federatedIdentityCredential",
        "managedIdentity",
        "certificate",
        "unknownFutureValue",
    ]),
    s("servicePrincipalId", "service principal id"),
    s("servicePrincipalName", "service principal name"),
    s("signInIdentifier", "identifier the user typed"),
    s("signInIdentifierType", "kind of identifier the user typed"),
    s("riskDetail", "why the risk state is what it is"),
    s("riskLevelAggregated", "aggregated risk level").values(RISK_LEVELS),
    s("riskLevelDuringSignIn", "risk level during the sign-in").values(RISK_LEVELS),
    s("riskState", "risk state").values(&[
        "none",
        "confirmedSafe",
        "remediated",
        "dismissed",
        "atRisk",
        "confirmedCompromised",
        "unknownFutureValue",
    ]),
    f(
        "autonomousSystemNumber",
        Integer,
        "autonomous system of the IP",
    ),
    f("processingTimeInMilliseconds", Integer, "processing time"),
    f("flaggedForReview", Boolean, "an admin flagged the sign-in"),
    f(
        "isThroughGlobalSecureAccess",
        Boolean,
        "came through Global Secure Access",
    ),
    s("globalSecureAccessIpAddress", "Global Secure Access IP"),
    s(
        "ipAddressFromResourceProvider",
        "IP as seen by the resource provider",
    ),
    s(
        "federatedCredentialId",
        "federated identity credential used",
    ),
    s("azureResourceId", "managed identity's Azure resource id"),
    s("signInEventTypes", "kinds of the sign-in event")
        .list()
        .values(&[
            "interactiveUser",
            "nonInteractiveUser",
            "servicePrincipal",
            "managedIdentity",
            "unknownFutureValue",
        ]),
    s("riskEventTypes_v2", "risk detections").list(),
    s("authenticationMethodsUsed", "authentication methods used").list(),
    f("status", Object(STATUS), "result of the sign-in"),
    f("location", Object(LOCATION), "where the sign-in came from").aliases(&["LocationDetails"]),
    f("deviceDetail", Object(DEVICE), "the device signed in from"),
    f(
        "appliedConditionalAccessPolicies",
        Object(CA_POLICY),
        "Conditional Access policies evaluated",
    )
    .list()
    .aliases(&["ConditionalAccessPolicies"]),
    f(
        "authenticationDetails",
        Object(AUTH_DETAIL),
        "steps of the authentication",
    )
    .list(),
    f(
        "networkLocationDetails",
        Object(NETWORK_LOCATION),
        "networks the sign-in came from",
    )
    .list(),
    f(
        "sessionLifetimePolicies",
        Object(SESSION_LIFETIME),
        "session lifetime policies applied",
    )
    .list(),
    f(
        "authenticationRequirementPolicies",
        Object(AUTH_REQ_POLICY),
        "what required the authentication",
    )
    .list(),
    f(
        "authenticationProcessingDetails",
        Object(KEY_VALUE),
        "processing details (legacy TLS, CAE, ...)",
    )
    .list(),
    f(
        "conditionalAccessAudiences",
        Object(CA_AUDIENCE),
        "applications Conditional Access evaluated",
    )
    .list(),
    // The log's tenant: the diagnostic envelope's `tenantId`, Log
    // Analytics' `AADTenantId` (its `TenantId` is the workspace, kept under
    // its own name). Graph pages do not carry it.
    s(
        "tenantId",
        "Entra tenant the log belongs to (absent in Graph API pages)",
    )
    .aliases(&["AadTenantId"]),
];

/// The canonical Microsoft Graph activity record: one Graph API call, named
/// in camelCase as the diagnostic-settings export writes them; the Log
/// Analytics columns of `MicrosoftGraphActivityLogs` are the same names in
/// PascalCase, matched ignoring case, plus the aliases given here.
pub const GRAPH_ACTIVITY: &[Field] = &[
    f("timeGenerated", DateTime, "when the request was received"),
    s("requestId", "id of the request"),
    s(
        "operationId",
        "id of the batch (of the request itself when not batched)",
    ),
    s(
        "clientRequestId",
        "request id the client sent (the operation id when it sent none)",
    ),
    s("apiVersion", "Graph API version (v1.0, beta)"),
    s(
        "requestMethod",
        "HTTP method (GET, POST, PATCH, DELETE, ...)",
    ),
    s("requestUri", "URI of the request"),
    f(
        "responseStatusCode",
        Integer,
        "HTTP status code of the response",
    ),
    f(
        "responseSizeBytes",
        Integer,
        "size of the response in bytes",
    ),
    f(
        "durationMs",
        Integer,
        "duration of the request in milliseconds",
    ),
    s("appId", "application (client) id of the caller"),
    s(
        "servicePrincipalId",
        "service principal of the caller (app-only calls)",
    ),
    s("userId", "user of the caller (delegated calls)"),
    s("tenantId", "Entra tenant id").aliases(&["AadTenantId"]),
    s(
        "signInActivityId",
        "id of the sign-in that issued the token: a sign-in's uniqueTokenIdentifier",
    ),
    s("sessionId", "authentication session id"),
    f("tokenIssuedAt", DateTime, "when the token used was issued"),
    f(
        "clientAuthMethod",
        Integer,
        "how the client authenticated: 0 public client, 1 client secret, 2 certificate",
    ),
    s(
        "identityProvider",
        "identity provider that authenticated the subject of the token",
    ),
    s("scopes", "delegated permissions in the token (`scp` claim)").spaced(),
    s(
        "roles",
        "application permissions in the token (`roles` claim)",
    )
    .spaced(),
    s(
        "wids",
        "directory role template ids in the token (`wids` claim)",
    )
    .spaced(),
    s("ipAddress", "client IP address").aliases(&["IPAddress"]),
    s("userAgent", "client user agent"),
    s("deviceId", "device the request came from"),
    s("location", "Azure region that served the request"),
];
