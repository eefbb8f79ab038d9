#!/usr/bin/env python3
"""Writes the example logs: one set of sign-ins in five shapes, and one set of
Microsoft Graph activity records in two.

Run by hand from the repository root after changing the sign-ins below:

    python3 examples/logs/generate.py

It rewrites, in examples/logs/:
  graph-signins.jsonl    Graph beta signIn objects, one a line
  graph-page.json        the same as a Graph page {"value": [...]}
  diagnostic-PT1H.json   Azure Monitor diagnostic-settings records, one a line
  eventhub-batch.json    the same as an Event Hub batch {"records": [...]}
  log-analytics.jsonl    Log Analytics rows (PascalCase columns; dynamic
                         columns as objects in SigninLogs, as JSON text in
                         the other tables and for the columns Log Analytics
                         always stores as text)
  graph-activity.jsonl   Microsoft Graph activity as Log Analytics rows
                         (table MicrosoftGraphActivityLogs)
  graph-activity-PT1H.json
                         the same calls as diagnostic-settings records
                         (category MicrosoftGraphActivityLogs), one a line

tests/shapes.rs checks that the built-in rules find the same sign-ins, with
the same evidence, in the five sign-in files, and the same Graph calls in
the two Graph activity files; tests/pack.rs checks that every built-in rule
finds something in them. The tests never run this script.
The first nine sign-ins are the original examples and must stay as they are.
"""

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
FABRIKAM = "11111111-2222-3333-4444-555555555555"

AZURE_PORTAL = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"
AZURE_MANAGEMENT = ("797f4846-ba00-4fd7-ba43-dac1f8f63013", "Windows Azure Service Management API")
SHAREPOINT = ("00000003-0000-0ff1-ce00-000000000000", "Office 365 SharePoint Online")
EXCHANGE = ("00000002-0000-0ff1-ce00-000000000000", "Office 365 Exchange Online")
GRAPH = ("00000003-0000-0000-c000-000000000000", "Microsoft Graph")
KEY_VAULT = ("cfa8b339-82a2-471a-a3c9-0fc0be7a4093", "Azure Key Vault")

SEATTLE = {"city": "Seattle", "state": "Washington", "countryOrRegion": "US",
           "geoCoordinates": {"latitude": 47.6, "longitude": -122.3}}
MFA_FOR_ADMINS = {"id": "8872f6fb-da88-4b63-bcc7-17247669596b", "displayName": "Require MFA for admins",
                  "enforcedGrantControls": ["Mfa"], "enforcedSessionControls": [], "result": "success"}
PASSWORD_STEP = {"authenticationMethod": "Password", "succeeded": True,
                 "authenticationStepDateTime": "2025-03-01T08:10:00Z"}
OK = {"errorCode": 0, "failureReason": "Other.", "additionalDetails": None}

# Keys that hold objects or lists of objects: they come after the scalar
# columns in a Log Analytics row.
DYNAMIC = ["status", "location", "deviceDetail", "appliedConditionalAccessPolicies",
           "authenticationDetails", "authenticationProcessingDetails", "networkLocationDetails"]
# Dynamic columns that SigninLogs keeps as objects; every other dynamic
# column, and all of them in the other tables, are JSON text.
SIGNINLOGS_OBJECTS = {"status", "location", "deviceDetail", "appliedConditionalAccessPolicies"}
LA_NAMES = {"id": "Id", "ipAddress": "IPAddress", "resourceId": "ResourceIdentity",
            "location": "LocationDetails", "appliedConditionalAccessPolicies": "ConditionalAccessPolicies",
            "riskEventTypes_v2": "RiskEventTypes_V2"}
CATEGORY = {"interactiveUser": ("SignInLogs", "SigninLogs"),
            "nonInteractiveUser": ("NonInteractiveUserSignInLogs", "AADNonInteractiveUserSignInLogs"),
            "servicePrincipal": ("ServicePrincipalSignInLogs", "AADServicePrincipalSignInLogs"),
            "managedIdentity": ("ManagedIdentitySignInLogs", "AADManagedIdentitySignInLogs")}


def guid(prefix, n):
    return f"{prefix}-0000-4000-8000-{n:012d}"


def user(n, name, upn, when, **fields):
    """A user sign-in: the defaults of the original examples, then `fields`.

    A field already among the defaults keeps its place; a new one is added
    before signInEventTypes if it is a scalar or a list of strings, else at
    the end (the original examples put authenticationMethodsUsed last).
    """
    rec = {
        "id": guid("6f1c2b0e", n), "createdDateTime": when, "userDisplayName": name,
        "userPrincipalName": upn, "userId": guid("0b1c2d3e", n), "userType": "member",
        "appId": AZURE_PORTAL, "appDisplayName": "Azure Portal", "ipAddress": f"203.0.113.{10 + n}",
        "clientAppUsed": "Browser", "correlationId": guid("c0ffee00", n),
        "conditionalAccessStatus": "success", "isInteractive": True,
        "resourceDisplayName": AZURE_MANAGEMENT[1], "resourceId": AZURE_MANAGEMENT[0],
        "resourceTenantId": TENANT, "homeTenantId": TENANT, "crossTenantAccessType": "none",
        "isTenantRestricted": False, "authenticationRequirement": "multiFactorAuthentication",
        "tokenIssuerType": "AzureAD", "tokenIssuerName": "", "signInEventTypes": ["interactiveUser"],
        "status": OK, "location": SEATTLE,
        "deviceDetail": {"deviceId": "", "operatingSystem": "Windows 10", "browser": "Edge 120.0.0"},
        "appliedConditionalAccessPolicies": [MFA_FOR_ADMINS], "authenticationDetails": [PASSWORD_STEP],
    }
    scalars, tail = {}, {}
    for key, value in fields.items():
        if key in rec:
            rec[key] = value
        elif key in DYNAMIC or key == "authenticationMethodsUsed":
            tail[key] = value
        else:
            scalars[key] = value
    items = list(rec.items())
    at = [k for k, _ in items].index("signInEventTypes")
    return dict(items[:at] + list(scalars.items()) + items[at:] + list(tail.items()))


def app(n, when, kind, name, app_id, **fields):
    """A service principal or managed identity sign-in."""
    rec = {"id": guid("6f1c2b0e", n), "createdDateTime": when, "appId": app_id, "appDisplayName": name,
           "servicePrincipalId": guid("a1b2c3d4", n), "servicePrincipalName": name}
    rec.update(fields)
    rec.setdefault("signInEventTypes", [kind])
    return rec


def sign_ins():
    day = lambda n: f"2025-03-{n + 1:02d}T08:{10 + n:02d}:00.1234567Z"  # noqa: E731
    return [
        # 1-9: the original examples.
        user(1, "Alice", "alice@contoso.com", day(1), conditionalAccessStatus="notApplied",
             authenticationRequirement="singleFactorAuthentication",
             location={"city": "Lyon", "state": "Auvergne-Rhone-Alpes", "countryOrRegion": "FR"},
             appliedConditionalAccessPolicies=[]),
        user(2, "Bob", "bob@contoso.com", day(2)),
        user(3, "Carol", "carol@contoso.com", day(3), appDisplayName=EXCHANGE[1],
             conditionalAccessStatus="notApplied", resourceTenantId=FABRIKAM,
             crossTenantAccessType="passthrough", isTenantRestricted=True,
             appliedConditionalAccessPolicies=[]),
        user(4, "Dave", "dave@contoso.com", day(4), appDisplayName="Microsoft Authentication Broker",
             signInEventTypes=["nonInteractiveUser"], authenticationMethodsUsed=["FIDO2 security key"]),
        user(5, "Erin", "erin@contoso.com", day(5), appDisplayName=SHAREPOINT[1],
             tokenIssuerType="ADFederationServices", tokenIssuerName="sts.contoso.com"),
        user(6, "Frank", "frank@contoso.com", day(6), appDisplayName=EXCHANGE[1], clientAppUsed="IMAP4",
             authenticationRequirement="singleFactorAuthentication"),
        user(7, "Grace", "grace@contoso.com", day(7), conditionalAccessStatus="notApplied",
             status={"errorCode": 50126,
                     "failureReason": "Error validating credentials due to invalid username or password."},
             appliedConditionalAccessPolicies=[]),
        user(8, "Heidi_Fabrikam.Com#Ext#", "heidi_fabrikam.com#EXT#@contoso.onmicrosoft.com", day(8),
             userType="guest", conditionalAccessStatus="notApplied", homeTenantId=FABRIKAM,
             crossTenantAccessType="b2bCollaboration", appliedConditionalAccessPolicies=[]),
        app(9, "2025-03-01T09:00:00.0000000Z", "servicePrincipal", "contoso-build-agent",
            "5e3ce6c0-2b1f-4285-8d4b-75ee78787346", ipAddress="198.51.100.20",
            correlationId=guid("c0ffee00", 9), clientCredentialType="clientSecret",
            resourceDisplayName=GRAPH[1], resourceId=GRAPH[0], resourceTenantId=TENANT,
            signInEventTypes=["servicePrincipal"], conditionalAccessStatus="notApplied",
            status={"errorCode": 0}, location={"countryOrRegion": "US"}),
        # 10: a script signing in with a password only (ROPC).
        user(10, "Ivan", "ivan@contoso.com", day(10), appId="3f6a1b2c-5d4e-4f70-8a9b-0c1d2e3f4a5b",
             appDisplayName="Contoso Timesheet Sync", clientAppUsed="Mobile Apps and Desktop clients",
             resourceDisplayName=GRAPH[1], resourceId=GRAPH[0],
             authenticationRequirement="singleFactorAuthentication", authenticationProtocol="ropc",
             userAgent="python-requests/2.31.0", appliedConditionalAccessPolicies=[]),
        # 11: Azure CLI through the device code flow.
        user(11, "Judy", "judy@contoso.com", day(11), appId="04b07795-8ddb-461a-bbee-02f9e1bf7b46",
             appDisplayName="Microsoft Azure CLI", clientAppUsed="Mobile Apps and Desktop clients",
             authenticationProtocol="deviceCode", originalTransferMethod="deviceCodeFlow"),
        # 12: blocked by a Conditional Access policy.
        user(12, "Karl", "karl@contoso.com", day(12), appId=EXCHANGE[0], appDisplayName=EXCHANGE[1],
             resourceDisplayName=EXCHANGE[1], resourceId=EXCHANGE[0], conditionalAccessStatus="failure",
             authenticationRequirement="singleFactorAuthentication",
             status={"errorCode": 53003,
                     "failureReason": "Access has been blocked by Conditional Access policies.",
                     "additionalDetails": None},
             location={"city": "Amsterdam", "state": "Noord-Holland", "countryOrRegion": "NL"},
             appliedConditionalAccessPolicies=[
                 {"id": "3b1f4c2a-6e7d-4f80-9a1b-2c3d4e5f6a7b", "displayName": "Block unmanaged devices",
                  "enforcedGrantControls": ["Block"], "enforcedSessionControls": [], "result": "failure"}]),
        # 13: a report-only policy would have blocked the sign-in.
        user(13, "Liam", "liam@contoso.com", day(13), appId=SHAREPOINT[0], appDisplayName=SHAREPOINT[1],
             resourceDisplayName=SHAREPOINT[1], resourceId=SHAREPOINT[0],
             appliedConditionalAccessPolicies=[
                 MFA_FOR_ADMINS,
                 {"id": "5d2e6f3a-7b8c-4d90-a1b2-3c4d5e6f7a8b",
                  "displayName": "Require compliant device (report-only)",
                  "enforcedGrantControls": ["RequireCompliantDevice"], "enforcedSessionControls": [],
                  "result": "reportOnlyFailure"}]),
        # 14: MFA prompt declined.
        user(14, "Mona", "mona@contoso.com", day(14), appId=EXCHANGE[0], appDisplayName=EXCHANGE[1],
             resourceDisplayName=EXCHANGE[1], resourceId=EXCHANGE[0], conditionalAccessStatus="notApplied",
             ipAddress="192.0.2.14",
             status={"errorCode": 500121,
                     "failureReason": "Authentication failed during strong authentication request.",
                     "additionalDetails": "MFA denied; user declined the authentication"},
             location={"city": "Lagos", "state": "Lagos", "countryOrRegion": "NG"},
             appliedConditionalAccessPolicies=[],
             authenticationDetails=[
                 PASSWORD_STEP,
                 {"authenticationMethod": "Mobile app notification", "succeeded": False,
                  "authenticationStepDateTime": "2025-03-01T08:10:20Z",
                  "authenticationStepResultDetail": "MFA denied; user declined the authentication"}]),
        # 15: MFA prompt reported as fraud.
        user(15, "Nina", "nina@contoso.com", day(15), appId=EXCHANGE[0], appDisplayName=EXCHANGE[1],
             resourceDisplayName=EXCHANGE[1], resourceId=EXCHANGE[0], conditionalAccessStatus="notApplied",
             ipAddress="192.0.2.15",
             status={"errorCode": 500121,
                     "failureReason": "Authentication failed during strong authentication request.",
                     "additionalDetails": "MFA denied; Phone App Reported Fraud"},
             location={"city": "Lagos", "state": "Lagos", "countryOrRegion": "NG"},
             appliedConditionalAccessPolicies=[]),
        # 16: high risk, not remediated.
        user(16, "Oscar", "oscar@contoso.com", day(16), appId=EXCHANGE[0], appDisplayName=EXCHANGE[1],
             resourceDisplayName=EXCHANGE[1], resourceId=EXCHANGE[0], ipAddress="192.0.2.16",
             riskDetail="none", riskLevelAggregated="high", riskLevelDuringSignIn="high",
             riskState="atRisk", riskEventTypes_v2=["unfamiliarFeatures"]),
        # 17: atypical travel.
        user(17, "Peggy", "peggy@contoso.com", day(17), appId=SHAREPOINT[0], appDisplayName=SHAREPOINT[1],
             resourceDisplayName=SHAREPOINT[1], resourceId=SHAREPOINT[0], ipAddress="198.51.100.17",
             riskDetail="none", riskLevelAggregated="medium", riskLevelDuringSignIn="medium",
             riskState="atRisk", riskEventTypes_v2=["unlikelyTravel"],
             location={"city": "Sao Paulo", "state": "Sao Paulo", "countryOrRegion": "BR"}),
        # 18: anonymous IP address.
        user(18, "Quinn", "quinn@contoso.com", day(18), appId=SHAREPOINT[0], appDisplayName=SHAREPOINT[1],
             resourceDisplayName=SHAREPOINT[1], resourceId=SHAREPOINT[0], ipAddress="192.0.2.18",
             riskDetail="none", riskLevelAggregated="low", riskLevelDuringSignIn="low",
             riskState="atRisk", riskEventTypes_v2=["anonymizedIPAddress"],
             location={"city": "Frankfurt am Main", "state": "Hessen", "countryOrRegion": "DE"}),
        # 19: an anomalous token replayed, in the non-interactive log.
        user(19, "Rupert", "rupert@contoso.com", day(19), appId="d3590ed6-52b3-4102-aeff-aad2292ab01c",
             appDisplayName="Microsoft Office", resourceDisplayName=EXCHANGE[1], resourceId=EXCHANGE[0],
             clientAppUsed="Mobile Apps and Desktop clients", isInteractive=False,
             ipAddress="192.0.2.19", incomingTokenType="refreshToken", riskDetail="none",
             riskLevelAggregated="medium", riskLevelDuringSignIn="medium", riskState="atRisk",
             riskEventTypes_v2=["anomalousToken"], signInEventTypes=["nonInteractiveUser"],
             authenticationDetails=[]),
        # 20: a guest at medium risk.
        user(20, "Sybil_Fabrikam.Com#Ext#", "sybil_fabrikam.com#EXT#@contoso.onmicrosoft.com", day(20),
             userType="guest", appId=SHAREPOINT[0], appDisplayName=SHAREPOINT[1],
             resourceDisplayName=SHAREPOINT[1], resourceId=SHAREPOINT[0], homeTenantId=FABRIKAM,
             crossTenantAccessType="b2bCollaboration", ipAddress="198.51.100.21",
             riskDetail="none", riskLevelAggregated="medium", riskLevelDuringSignIn="medium",
             riskState="atRisk", riskEventTypes_v2=["unfamiliarFeatures"]),
        # 21: a disabled account still syncing mail.
        user(21, "Trent", "trent@contoso.com", day(21), appId=EXCHANGE[0], appDisplayName=EXCHANGE[1],
             resourceDisplayName=EXCHANGE[1], resourceId=EXCHANGE[0], clientAppUsed="Exchange ActiveSync",
             conditionalAccessStatus="notApplied", authenticationRequirement="singleFactorAuthentication",
             status={"errorCode": 50057, "failureReason": "The user account is disabled.",
                     "additionalDetails": None},
             appliedConditionalAccessPolicies=[]),
        # 22: a federated sign-in from an issuer nobody listed.
        user(22, "Uma", "uma@contoso.com", day(22), appId=SHAREPOINT[0], appDisplayName=SHAREPOINT[1],
             resourceDisplayName=SHAREPOINT[1], resourceId=SHAREPOINT[0], ipAddress="198.51.100.22",
             tokenIssuerType="ADFederationServices", tokenIssuerName="sts.contoso-login.example"),
        # 23: an application signing in with a certificate.
        app(23, "2025-03-01T09:23:00.0000000Z", "servicePrincipal", "contoso-payroll-export",
            "8e7d6c5b-4a39-4281-b0c9-d8e7f6a5b4c3", ipAddress="198.51.100.23",
            correlationId=guid("c0ffee00", 23), clientCredentialType="certificate",
            resourceDisplayName=GRAPH[1], resourceId=GRAPH[0], resourceTenantId=TENANT,
            conditionalAccessStatus="notApplied", status={"errorCode": 0},
            location={"countryOrRegion": "US"}),
        # 24: a managed identity (no managed identity ranges are listed by default).
        app(24, "2025-03-01T09:24:00.0000000Z", "managedIdentity", "contoso-orders-func",
            "2b4c6d8e-0f1a-4b3c-9d5e-7f8a9b0c1d2e", ipAddress="198.51.100.24",
            correlationId=guid("c0ffee00", 24), clientCredentialType="managedIdentity",
            azureResourceId="/subscriptions/0f1e2d3c-4b5a-4968-8776-655443322110/resourceGroups/orders"
                            "/providers/Microsoft.Web/sites/contoso-orders-func",
            resourceDisplayName=KEY_VAULT[1], resourceId=KEY_VAULT[0], resourceTenantId=TENANT,
            conditionalAccessStatus="notApplied", status={"errorCode": 0},
            location={"countryOrRegion": "US"}),
    ]


def category(rec):
    return CATEGORY[rec["signInEventTypes"][0]]


def diagnostic(rec):
    status = rec["status"]
    return {
        "time": rec["createdDateTime"],
        "resourceId": f"/tenants/{TENANT}/providers/Microsoft.aadiam",
        "operationName": "Sign-in activity", "operationVersion": "1.0", "category": category(rec)[0],
        "tenantId": TENANT, "resultType": str(status["errorCode"]), "resultSignature": "None",
        "resultDescription": status.get("failureReason") or "", "durationMs": 0,
        "callerIpAddress": rec["ipAddress"], "correlationId": rec["correlationId"],
        "identity": rec.get("userDisplayName") or rec["servicePrincipalName"], "Level": 4,
        "location": rec["location"]["countryOrRegion"], "properties": rec,
    }


def log_analytics(rec):
    status = rec["status"]
    source, table = category(rec)
    row = {
        "TenantId": TENANT, "SourceSystem": "Azure AD", "TimeGenerated": rec["createdDateTime"][:23] + "Z",
        "ResourceId": f"/tenants/{TENANT}/providers/Microsoft.aadiam", "OperationName": "Sign-in activity",
        "Category": source, "ResultType": str(status["errorCode"]),
        "ResultDescription": status.get("failureReason") or "", "Level": "4",
        "Location": rec["location"]["countryOrRegion"], "Type": table,
    }
    column = lambda key: LA_NAMES.get(key, key[0].upper() + key[1:])  # noqa: E731
    for key, value in rec.items():
        if key == "signInEventTypes" or key in DYNAMIC:
            continue
        if isinstance(value, bool):
            value = "True" if value else "False"
        elif isinstance(value, list):
            value = json.dumps(value)
        row[column(key)] = value
    for key in (k for k in rec if k in DYNAMIC):
        value = rec[key]
        keep = table == "SigninLogs" and key in SIGNINLOGS_OBJECTS
        row[column(key)] = value if keep else json.dumps(value)
    return row


# Microsoft Graph activity: one record per Graph API call.
WORKSPACE = "9e0b4a4b-0000-4000-8000-00000000aaaa"  # the Log Analytics workspace
GRAPH_API = "https://graph.microsoft.com"
GRAPH_SP = "7d1e2f30-0000-4000-8000-000000000001"  # Microsoft Graph's service principal here
GRAPH_POWERSHELL = "14d82eec-204b-4c2f-b7e8-296a70dab67e"  # Microsoft Graph Command Line Tools
MICROSOFT_OFFICE = "d3590ed6-52b3-4102-aeff-aad2292ab01c"
# Applications that call Graph as themselves: (appId, servicePrincipalId).
BUILD_AGENT = ("5e3ce6c0-2b1f-4285-8d4b-75ee78787346", guid("a1b2c3d4", 9))  # sign-in 9
IDENTITY_AUTOMATION = ("5d6e7f80-0000-4000-8000-000000000001", "6e7f8091-0000-4000-8000-000000000001")
INVOICE_INTAKE = ("5d6e7f80-0000-4000-8000-000000000004", "6e7f8091-0000-4000-8000-000000000004")
PAYROLL_EXPORT_OBJECT = guid("9a8b7c6d", 23)  # the application object of sign-in 23's app
FINANCE_MAILBOX = guid("0b1c2d3e", 90)
SERVICE_PRINCIPAL_WIDS = "0997a1d0-0d1d-4acb-b408-d5ca73121e90"
USER_WIDS = "b79fbf4d-3ef9-4689-8143-76b194e85509"


def call(n, when, method, path, status, caller, auth, ip, agent, roles="", scopes="", size=0,
         token=None, issued=None, region="West Europe"):
    """A Graph API call. `caller` is ("app", (appId, servicePrincipalId)) for
    an app-only token, or ("user", n, appId) for user n's delegated token."""
    if caller[0] == "app":
        app_id, sp_id, user_id, wids = caller[1][0], caller[1][1], "", SERVICE_PRINCIPAL_WIDS
    else:
        app_id, sp_id, user_id, wids = caller[2], "", guid("0b1c2d3e", caller[1]), USER_WIDS
    version = path.split("/")[1]
    return {
        "timeGenerated": when, "requestId": guid("a1a1a1a1", n), "operationId": guid("a1a1a1a1", n),
        "clientRequestId": guid("a1a1a1a1", n), "apiVersion": version, "requestMethod": method,
        "requestUri": GRAPH_API + path, "responseStatusCode": status, "responseSizeBytes": size,
        "durationMs": 40 + 7 * n, "tenantId": TENANT, "appId": app_id, "servicePrincipalId": sp_id,
        "userId": user_id, "signInActivityId": token or f"t0kEn{n:03d}AbCdEfGhIjKlMn",
        "sessionId": "" if caller[0] == "app" else guid("5e551000", caller[1]),
        "tokenIssuedAt": issued or when[:14] + "00:00Z", "clientAuthMethod": auth,
        "identityProvider": f"https://sts.windows.net/{TENANT}/", "scopes": scopes, "roles": roles,
        "wids": wids, "ipAddress": ip, "userAgent": agent, "location": region,
    }


def graph_calls():
    at = lambda h, m, day=1: f"2025-03-{day:02d}T{h:02d}:{m:02d}:{(7 * m) % 60:02d}.5Z"  # noqa: E731
    build = ("app", BUILD_AGENT)
    build_token = {"token": "bUiLdAgEnTtOkEn0009xyz", "issued": "2025-03-01T09:00:00Z",
                   "ip": "203.0.113.250", "agent": "python-requests/2.31.0", "region": "East US",
                   "roles": "Application.ReadWrite.All AppRoleAssignment.ReadWrite.All"}
    automation = ("app", IDENTITY_AUTOMATION)
    automation_token = {"ip": "198.51.100.30", "agent": "Terraform/1.7.4 azuread/2.47.0",
                        "roles": "RoleManagement.ReadWrite.Directory Directory.Read.All"}
    invoices = ("app", INVOICE_INTAKE)
    invoice_token = {"ip": "198.51.100.31", "agent": "Contoso.InvoiceIntake/3.2", "roles": "Mail.Read"}

    def with_token(n, when, method, path, status, caller, auth, token, **extra):
        fields = dict(token)
        fields.update(extra)
        ip, agent = fields.pop("ip"), fields.pop("agent")
        return call(n, when, method, path, status, caller, auth, ip, agent, **fields)

    return [
        # 1: an identity automation app assigns a directory role (app-only, certificate).
        with_token(1, at(9, 1), "POST", "/v1.0/roleManagement/directory/roleAssignments", 201,
                   automation, 2, automation_token, size=412),
        # 2: ... and lists role assignments (a read: not reported).
        with_token(2, at(9, 2), "GET", "/v1.0/roleManagement/directory/roleAssignments"
                   f"?$filter=principalId eq '{guid('0b1c2d3e', 2)}'", 200,
                   automation, 2, automation_token, size=1804),
        # 3: Bob activates a role in PIM from the portal (delegated: not reported).
        call(3, at(9, 3), "POST", "/beta/roleManagement/directory/roleAssignmentScheduleRequests", 201,
             ("user", 2, AZURE_PORTAL), 0, "203.0.113.12",
             "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Edg/120.0.0.0",
             scopes="RoleAssignmentSchedule.ReadWrite.Directory", size=988),
        # 4: the build agent, with its client secret, adds a secret to the payroll export app.
        with_token(4, at(9, 4), "POST", f"/v1.0/applications/{PAYROLL_EXPORT_OBJECT}/addPassword", 200,
                   build, 1, build_token, size=356),
        # 5: ... grants an application permission of Microsoft Graph.
        with_token(5, at(9, 5), "POST", f"/v1.0/servicePrincipals/{GRAPH_SP}/appRoleAssignedTo", 201,
                   build, 1, build_token, size=498),
        # 6: ... and tries to assign itself a directory role; Graph refuses (not reported).
        with_token(6, at(9, 6), "POST", "/v1.0/roleManagement/directory/roleAssignments", 403,
                   build, 1, build_token, size=221),
        # 7: Judy removes an old secret with Graph PowerShell (not an addition: not reported).
        call(7, at(9, 7), "POST", f"/v1.0/applications/{PAYROLL_EXPORT_OBJECT}/removePassword", 204,
             ("user", 11, GRAPH_POWERSHELL), 0, "203.0.113.21", "Mozilla/5.0 (Windows NT 10.0) PowerShell/7.4.1",
             scopes="Application.ReadWrite.All", size=0),
        # 8: ... and lists the app's federated credentials (a read: not reported).
        call(8, at(9, 8), "GET", f"/v1.0/applications/{PAYROLL_EXPORT_OBJECT}/federatedIdentityCredentials",
             200, ("user", 11, GRAPH_POWERSHELL), 0, "203.0.113.21",
             "Mozilla/5.0 (Windows NT 10.0) PowerShell/7.4.1", scopes="Application.ReadWrite.All", size=240),
        # 9: the invoice intake app reads the finance mailbox (app-only).
        with_token(9, at(9, 9), "GET", f"/v1.0/users/{FINANCE_MAILBOX}/mailFolders/inbox/messages"
                   "?$top=50&$select=subject,from,hasAttachments", 200, invoices, 2, invoice_token,
                   size=61230),
        # 10: ... and Oscar's mailbox, which Exchange RBAC for Applications denies (not reported).
        with_token(10, at(9, 10), "GET", f"/v1.0/users/{guid('0b1c2d3e', 16)}/messages", 403,
                   invoices, 2, invoice_token, size=198),
        # 11: the app lists a mailbox's folders, not its messages (not reported).
        with_token(11, at(9, 11), "GET", f"/v1.0/users/{FINANCE_MAILBOX}/mailFolders", 200,
                   invoices, 2, invoice_token, size=2210),
        # 12: Oscar reads his own mail in Outlook (delegated: not reported).
        call(12, at(9, 12), "GET", "/v1.0/me/messages?$top=25", 200, ("user", 16, MICROSOFT_OFFICE), 0,
             "192.0.2.16", "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328)",
             scopes="Mail.ReadWrite Mail.Send User.Read", size=48211),
        # 13: Rupert's replayed token (sign-in 19, a few minutes earlier) writes
        # an inbox rule from a script.
        call(13, at(8, 35, day=20), "POST", "/v1.0/me/mailFolders/inbox/messageRules", 201,
             ("user", 19, MICROSOFT_OFFICE), 0, "192.0.2.19", "python-requests/2.31.0",
             scopes="Mail.ReadWrite MailboxSettings.ReadWrite User.Read", size=612,
             token="rUpErTrEpLaYeDtOkEn019"),
        # 14: ... having listed the existing rules first (a read: not reported).
        call(14, at(8, 34, day=20), "GET", "/v1.0/me/mailFolders/inbox/messageRules", 200,
             ("user", 19, MICROSOFT_OFFICE), 0, "192.0.2.19", "python-requests/2.31.0",
             scopes="Mail.ReadWrite MailboxSettings.ReadWrite User.Read", size=310,
             token="rUpErTrEpLaYeDtOkEn019"),
        # 15: Teams looks up a colleague (nothing to report).
        call(15, at(9, 15), "GET", "/v1.0/users?$filter=startswith(displayName,'Ali')&$select=displayName,mail",
             200, ("user", 2, "1fec8e78-bce4-4aaf-ab1b-5451cc387264"), 0, "203.0.113.12",
             "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Teams/24004.1307.2669.7070",
             scopes="User.ReadBasic.All", size=731),
    ]


GRAPH_LA_NAMES = {"tenantId": "AadTenantId", "ipAddress": "IPAddress"}


def graph_log_analytics(rec):
    row = {"TenantId": WORKSPACE, "SourceSystem": "Azure AD", "Type": "MicrosoftGraphActivityLogs"}
    for key, value in rec.items():
        row[GRAPH_LA_NAMES.get(key, key[0].upper() + key[1:])] = value
    return row


def graph_diagnostic(rec):
    properties = {k: v for k, v in rec.items() if k not in ("ipAddress", "durationMs", "location")}
    return {
        "time": rec["timeGenerated"], "resourceId": f"/tenants/{TENANT}/providers/Microsoft.aadiam",
        "operationName": "Microsoft Graph Activity", "operationVersion": rec["apiVersion"],
        "category": "MicrosoftGraphActivityLogs", "resultSignature": str(rec["responseStatusCode"]),
        "durationMs": rec["durationMs"], "callerIpAddress": rec["ipAddress"], "level": "Informational",
        "location": rec["location"], "properties": properties,
    }


def main():
    records = sign_ins()
    lines = lambda items: "".join(json.dumps(i) + "\n" for i in items)  # noqa: E731
    page = {"@odata.context": "https://graph.microsoft.com/beta/$metadata#auditLogs/signIns",
            "value": records,
            "@odata.nextLink": "https://graph.microsoft.com/beta/auditLogs/signIns?$skiptoken=abc"}
    diag = [diagnostic(r) for r in records]
    files = {
        "graph-signins.jsonl": lines(records),
        "graph-page.json": json.dumps(page, indent=2) + "\n",
        "diagnostic-PT1H.json": lines(diag),
        "eventhub-batch.json": json.dumps({"records": diag}) + "\n",
        "log-analytics.jsonl": lines(log_analytics(r) for r in records),
    }
    for name, text in files.items():
        (HERE / name).write_text(text, encoding="utf-8")
        print(f"wrote examples/logs/{name}: {len(records)} sign-ins")
    calls = graph_calls()
    files = {
        "graph-activity.jsonl": lines(graph_log_analytics(c) for c in calls),
        "graph-activity-PT1H.json": lines(graph_diagnostic(c) for c in calls),
    }
    for name, text in files.items():
        (HERE / name).write_text(text, encoding="utf-8")
        print(f"wrote examples/logs/{name}: {len(calls)} Graph calls")


if __name__ == "__main__":
    main()
