#!/usr/bin/env node
// Checks KQL queries against declared Log Analytics table schemas with
// Microsoft's Kusto parser and semantic analyzer (@kusto/language-service-next).
//
// Usage:
//   node tests/kusto/check.js TABLES.json QUERIES.json
//   node tests/kusto/check.js --self-test TABLES.json
//
// TABLES.json:  {"source": "...", "tables": {"SigninLogs": [["Col", "type"], ...], ...}}
// QUERIES.json: {"queries": [{"ruleId": "...", "query": "..."}, ...], ...other keys ignored}
//
// The package is loaded from $KUSTO_NODE_MODULES (a node_modules directory),
// default: target/ci/node/node_modules relative to the current directory.
//
// Exit status: 0 when every query analyzes without an Error diagnostic;
// 1 when any query has an error, or the document holds no queries;
// 2 on a usage, input or setup problem.
"use strict";

const fs = require("fs");
const path = require("path");

const PACKAGE = "@kusto/language-service-next";
const DATABASE_NAME = "LogAnalytics";
// Scalar types accepted in TABLES.json (Kusto type names).
const SCALAR_TYPES = new Set([
  "bool", "datetime", "decimal", "dynamic", "guid", "int", "long", "real", "string", "timespan",
]);

class SetupError extends Error {}

function loadKusto() {
  const nodeModules = path.resolve(
    process.env.KUSTO_NODE_MODULES || path.join("target", "ci", "node", "node_modules")
  );
  const dir = path.join(nodeModules, PACKAGE);
  const bridge = path.join(dir, "bridge.min.js");
  const language = path.join(dir, "Kusto.Language.Bridge.min.js");
  for (const file of [bridge, language]) {
    if (!fs.existsSync(file)) {
      throw new SetupError(
        `cannot find ${file}; set KUSTO_NODE_MODULES to the node_modules directory holding ${PACKAGE}`
      );
    }
  }
  // bridge.min.js defines the global `Bridge` runtime; the language library
  // then registers the global `Kusto` namespace on it.
  require(bridge);
  require(language);
  if (typeof Kusto === "undefined" || !Kusto.Language || !Kusto.Language.KustoCode) {
    throw new SetupError(`${PACKAGE} loaded but did not define Kusto.Language`);
  }
  return Kusto.Language;
}

function readJson(file, what) {
  let text;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new SetupError(`cannot read ${what} ${file}: ${e.message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new SetupError(`${what} ${file} is not valid JSON: ${e.message}`);
  }
}

function quoteName(name) {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? name : `['${name.replace(/'/g, "\\'")}']`;
}

// Builds the GlobalState holding one database with the declared tables.
function buildGlobals(K, tablesDoc, file) {
  const tables = tablesDoc && tablesDoc.tables;
  if (!tables || typeof tables !== "object" || Array.isArray(tables) || !Object.keys(tables).length) {
    throw new SetupError(`${file} has no "tables" object`);
  }
  const symbols = [];
  for (const [tableName, columns] of Object.entries(tables)) {
    if (!Array.isArray(columns) || !columns.length) {
      throw new SetupError(`${file}: table ${tableName} has no columns`);
    }
    const seen = new Set();
    const parts = columns.map((col, i) => {
      if (!Array.isArray(col) || col.length !== 2 || typeof col[0] !== "string" || typeof col[1] !== "string") {
        throw new SetupError(`${file}: ${tableName} column #${i} is not ["Name", "type"]`);
      }
      const [name, type] = col;
      if (!SCALAR_TYPES.has(type)) {
        throw new SetupError(`${file}: ${tableName}.${name} has unknown type "${type}"`);
      }
      if (seen.has(name)) throw new SetupError(`${file}: ${tableName}.${name} is declared twice`);
      seen.add(name);
      return `${quoteName(name)}:${type}`;
    });
    // TableSymbol.From parses a schema such as "(TimeGenerated:datetime, Status:dynamic)".
    const table = K.Symbols.TableSymbol.From(`(${parts.join(", ")})`).WithName(tableName);
    // Make sure the schema parser kept every column with the declared type.
    const declared = table.Columns;
    if (declared.Count !== columns.length) {
      throw new SetupError(`${file}: ${tableName}: ${columns.length} columns given, ${declared.Count} understood`);
    }
    for (let i = 0; i < declared.Count; i++) {
      const c = declared.getItem(i);
      if (c.Name !== columns[i][0] || c.Type.Name !== columns[i][1]) {
        throw new SetupError(
          `${file}: ${tableName}: column ${columns[i][0]}:${columns[i][1]} was read as ${c.Name}:${c.Type.Name}`
        );
      }
    }
    symbols.push(table);
  }
  const database = new K.Symbols.DatabaseSymbol.ctor(DATABASE_NAME, symbols);
  return K.GlobalState.Default.WithDatabase(database);
}

function snippet(text, start, length) {
  const from = Math.max(0, start - 40);
  const to = Math.min(text.length, start + Math.max(length, 1) + 40);
  let s = text.slice(from, to).replace(/\s+/g, " ");
  if (from > 0) s = "..." + s;
  if (to < text.length) s = s + "...";
  return JSON.stringify(s);
}

// Returns the Error diagnostics of one query as [{code, message, start, length}].
function analyze(K, globals, text) {
  const code = K.KustoCode.ParseAndAnalyze(text, globals);
  const diagnostics = code.GetDiagnostics();
  const errors = [];
  for (let i = 0; i < diagnostics.Count; i++) {
    const d = diagnostics.getItem(i);
    if (d.Severity === "Error") {
      errors.push({ code: d.Code, message: d.Message, start: d.Start, length: d.Length });
    }
  }
  return errors;
}

// One line per error: "RULE-ID: <message> at <offset>: <text around the offset>".
function formatError(ruleId, text, e, withCode) {
  const code = withCode ? ` [${e.code}]` : "";
  return `${ruleId}: ${e.message}${code} at ${e.start}: ${snippet(text, e.start, e.length)}`;
}

function checkDocument(K, globals, doc, file) {
  const queries = doc && doc.queries;
  if (!Array.isArray(queries)) {
    console.log(`${file}: no "queries" array`);
    console.log("checked 0 queries, 0 errors");
    return 1;
  }
  let errorCount = 0;
  queries.forEach((entry, i) => {
    const ruleId = entry && typeof entry.ruleId === "string" && entry.ruleId ? entry.ruleId : `queries[${i}]`;
    if (!entry || typeof entry.query !== "string") {
      console.log(`${ruleId}: entry has no "query" string`);
      errorCount++;
      return;
    }
    for (const e of analyze(K, globals, entry.query)) {
      console.log(formatError(ruleId, entry.query, e));
      errorCount++;
    }
  });
  console.log(`checked ${queries.length} queries, ${errorCount} errors`);
  if (queries.length === 0) {
    console.log(`${file}: the document has no queries`);
    return 1;
  }
  return errorCount > 0 ? 1 : 0;
}

const EXPECTED_TABLES = [
  "SigninLogs",
  "AADNonInteractiveUserSignInLogs",
  "AADServicePrincipalSignInLogs",
  "AADManagedIdentitySignInLogs",
  "MicrosoftGraphActivityLogs",
];

// Column types the self-test expects tables.json to declare.
const EXPECTED_TYPES = [
  ...["ConditionalAccessPolicies", "DeviceDetail", "LocationDetails", "Status", "MfaDetail"].map((c) => ["SigninLogs", c, "dynamic"]),
  ...["AuthenticationDetails", "AuthenticationProcessingDetails", "AuthenticationRequirementPolicies",
    "NetworkLocationDetails", "SessionLifetimePolicies", "RiskEventTypes_V2", "ResultType"].map((c) => ["SigninLogs", c, "string"]),
  ...["ConditionalAccessPolicies", "DeviceDetail", "LocationDetails", "Status", "MfaDetail", "ResultType"]
    .map((c) => ["AADNonInteractiveUserSignInLogs", c, "string"]),
  ["AADServicePrincipalSignInLogs", "ConditionalAccessPolicies", "string"],
  ["AADServicePrincipalSignInLogs", "LocationDetails", "string"],
  ["AADServicePrincipalSignInLogs", "ResultType", "string"],
  ["AADManagedIdentitySignInLogs", "ConditionalAccessPolicies", "string"],
  ["AADManagedIdentitySignInLogs", "LocationDetails", "string"],
  ["AADManagedIdentitySignInLogs", "ResultType", "string"],
  ["MicrosoftGraphActivityLogs", "TimeGenerated", "datetime"],
  ["MicrosoftGraphActivityLogs", "ResponseStatusCode", "int"],
  ["MicrosoftGraphActivityLogs", "TokenIssuedAt", "datetime"],
  ["MicrosoftGraphActivityLogs", "SessionId", "string"],
];

const SELF_TEST = [
  { name: "unknown column", ok: false, query: "SigninLogs | where NoSuchColumn == 1" },
  { name: "syntax error", ok: false, query: 'SigninLogs | where ResultType == "0" and | project Id' },
  { name: "unclosed parenthesis", ok: false, query: 'SigninLogs | where (ResultType == "0" | project Id' },
  { name: "unknown table", ok: false, query: "NoSuchTable | take 1" },
  { name: "column of another table", ok: false, query: "AADServicePrincipalSignInLogs | where UserPrincipalName == 'x'" },
  { name: "simple filter and project", ok: true, query: 'SigninLogs | where ResultType == "0" | project Id' },
  {
    name: "mv-apply over todynamic(AuthenticationDetails) with countif",
    ok: true,
    query: [
      "SigninLogs",
      "| where TimeGenerated > ago(1d)",
      "| mv-apply AuthStep = todynamic(AuthenticationDetails) on (",
      '    summarize FailedSteps = countif(tostring(AuthStep.succeeded) == "false"), Steps = count()',
      "  )",
      "| where FailedSteps > 0",
      "| project TimeGenerated, UserPrincipalName, IPAddress, FailedSteps, Steps",
    ].join("\n"),
  },
  {
    name: "union of interactive and non-interactive sign-ins",
    ok: true,
    query: [
      "union SigninLogs, AADNonInteractiveUserSignInLogs",
      "| where TimeGenerated > ago(1h)",
      '| where ResultType == "50126"',
      "| summarize Failures = count() by UserPrincipalName, IPAddress, Type",
    ].join("\n"),
  },
  {
    name: "dynamic column and JSON-in-string column",
    ok: true,
    query: [
      "SigninLogs",
      '| where tostring(DeviceDetail.operatingSystem) == "Windows"',
      '| extend Policies = todynamic(AuthenticationRequirementPolicies), Err = toint(Status.errorCode)',
      "| project TimeGenerated, UserPrincipalName, Err, Policies",
    ].join("\n"),
  },
  {
    name: "Graph activity",
    ok: true,
    query: 'MicrosoftGraphActivityLogs | where ResponseStatusCode == 403 and RequestMethod == "GET" | project TimeGenerated, AppId, UserId, RequestUri, DurationMs',
  },
];

function selfTest(K, globals, tablesDoc) {
  let failures = 0;
  for (const t of EXPECTED_TABLES) {
    if (!tablesDoc.tables[t]) {
      console.log(`FAIL: table ${t} is not declared`);
      failures++;
    }
  }
  for (const [table, column, type] of EXPECTED_TYPES) {
    const cols = tablesDoc.tables[table] || [];
    const found = cols.find((c) => c[0] === column);
    if (!found || found[1] !== type) {
      console.log(`FAIL: ${table}.${column} should be declared as ${type}, found ${found ? found[1] : "nothing"}`);
      failures++;
    }
  }
  for (const t of SELF_TEST) {
    const errors = analyze(K, globals, t.query);
    const passed = t.ok ? errors.length === 0 : errors.length > 0;
    const detail = errors.length
      ? errors.map((e) => formatError("  " + t.name, t.query, e, true)).join("\n")
      : "  (no errors)";
    console.log(`${passed ? "ok  " : "FAIL"} ${t.ok ? "accepts" : "rejects"}: ${t.name}\n${detail}`);
    if (!passed) failures++;
  }
  console.log(`self-test: ${SELF_TEST.length} queries, ${EXPECTED_TYPES.length + EXPECTED_TABLES.length} schema checks, ${failures} failures`);
  return failures ? 1 : 0;
}

function main(argv) {
  const usage = "usage: node tests/kusto/check.js TABLES.json QUERIES.json\n" +
    "       node tests/kusto/check.js --self-test TABLES.json";
  let mode;
  let tablesFile;
  let queriesFile;
  if (argv.length === 2 && argv[0] === "--self-test") {
    mode = "self-test";
    tablesFile = argv[1];
  } else if (argv.length === 2 && !argv[0].startsWith("--")) {
    mode = "check";
    [tablesFile, queriesFile] = argv;
  } else {
    console.error(usage);
    return 2;
  }
  try {
    const K = loadKusto();
    const tablesDoc = readJson(tablesFile, "table schema file");
    const globals = buildGlobals(K, tablesDoc, tablesFile);
    if (mode === "self-test") return selfTest(K, globals, tablesDoc);
    const doc = readJson(queriesFile, "query file");
    return checkDocument(K, globals, doc, queriesFile);
  } catch (e) {
    if (e instanceof SetupError) {
      console.error(`check.js: ${e.message}`);
      return 2;
    }
    throw e;
  }
}

process.exitCode = main(process.argv.slice(2));
