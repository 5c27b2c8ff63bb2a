import { readFileSync, realpathSync, statSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { z } from "zod";
import { CHECKOUT_DIR } from "../config/workspace-paths.ts";
import { sha256Hex } from "../generated-tools/tool-metadata.ts";
import { canonicalJson } from "../config/canonical-json.ts";
import { FITNESS_DIR, readRegularFile } from "./gate-key.ts";
import { signedRecordsNewestFirst, writeSignedRecord } from "./signed-records.ts";
import type { Dependency, TreeStates } from "./trace-dependencies.ts";

/** `.org/fitness/readers/<key>.json`: which of a code version's selected test files read the tool folders when traced. */
export const READERS_DIR = join(FITNESS_DIR, "readers");
/**
 * The trace shipped with the code (`npm run trace:ship` writes it): read from the checkout org runs from, never from
 * the tree judged, and trusted only for the files whose every dependency is as it was traced.
 */
export const SHIPPED_TRACE_FILE = join("fitness", "shipped-trace.json");
const KEPT = 8;
const MAX_BYTES = 1024 * 1024;
const Sha256 = z.string().regex(/^[0-9a-f]{64}$/);

/**
 * What a trace's verdicts hold under besides the files each test read: the bun that ran the tests (its version and
 * build), bun's configuration files of the checkout running the gate, the rules that read a trace (this checkout's
 * folder-trace.ts and trace-dependencies.ts), and, for a trace of this checkout, the values of the variables that can
 * move what a test touches (`keyed`: PATH, HOME, TMPDIR, hashed). A shipped trace holds no environment: it stands
 * wherever PATH names only absolute folders (a relative one would find programs in the worktree).
 */
const TraceContext = z.strictObject({
  bun: z.string(),
  configuration: z.record(z.string(), z.string()),
  rules: z.string(),
  environment: z.record(z.string(), z.string()).optional(),
});
export type TraceContext = z.infer<typeof TraceContext>;

/**
 * A trace's verdicts: for each test file traced, whether it read the tool folders and a digest of the states of the
 * keys it depends on (`reads|clear <digest>`); for each key, which tests depend on it (a bit per test in `tests`'
 * sorted order, in hex) and its state when traced (`<bits> <state>`, to tell later what changed). A verdict stands
 * only while the digest of its keys' states in the tree judged is the one recorded.
 */
const TraceVerdicts = z.strictObject({
  version: z.literal(3),
  key: Sha256,
  context: TraceContext,
  tests: z.record(z.string(), z.string().regex(/^(reads|clear) [0-9a-f]{64}$/)),
  paths: z.record(z.string(), z.string().regex(/^[0-9a-f]+ \S.*$/)),
});
export type TraceVerdicts = z.infer<typeof TraceVerdicts>;

/** One test file's verdict with what it rests on: whether it read the folders, and the keys of the tree it depends on. */
export type Verdict = { reads: boolean; keys: readonly Dependency[] };
/** Where a verdict that stands came from: a trace this checkout's gate made and signed, or the one shipped with the code. */
export type VerdictSource = "recorded" | "shipped";

const hashFile = (path: string) => {
  try {
    return sha256Hex(readFileSync(path));
  } catch {
    return "none";
  }
};

/** The version and build of the bun at `bun`, as `bun --revision` tells it (this process's own when it is the same file). */
function bunBuild(bun: string): string {
  const real = (path: string) => {
    try {
      return realpathSync(path);
    } catch {
      return path;
    }
  };
  if (real(bun) === real(process.execPath)) return Bun.revision;
  const asked = Bun.spawnSync([bun, "--revision"], { stdin: "ignore", stderr: "ignore", timeout: 10_000 });
  const stat = statSync(bun, { throwIfNoEntry: false });
  return asked.exitCode === 0 ? asked.stdout.toString().trim() : `${bun} ${stat?.size} ${stat?.mtimeMs}`;
}

/** The context of a trace run now with `bun` and the tests' `keyed` variables (`TraceContext`). */
export function traceContext(bun: string, keyed: Readonly<Record<string, string>>): TraceContext {
  return {
    bun: bunBuild(bun),
    // bun takes its configuration from this checkout (`isolatedBunFlags`).
    configuration: Object.fromEntries(["bunfig.toml", "tsconfig.json"].map((file) => [file, hashFile(join(CHECKOUT_DIR, file))])),
    rules: sha256Hex(["folder-trace.ts", "trace-dependencies.ts"].map((file) => hashFile(join(CHECKOUT_DIR, "fitness", file))).join("\n")),
    environment: Object.fromEntries(Object.entries(keyed).map(([name, value]) => [name, sha256Hex(value)])),
  };
}

/** The record of `verdicts` (test → verdict) traced in the tree `view` under `context`. */
export function verdictsRecord(context: TraceContext, view: TreeStates, verdicts: ReadonlyMap<string, Verdict>): TraceVerdicts {
  const tests = [...verdicts.keys()].sort();
  const users = new Map<Dependency, bigint>();
  for (const [index, test] of tests.entries()) {
    for (const key of verdicts.get(test)?.keys ?? []) users.set(key, (users.get(key) ?? 0n) | (1n << BigInt(index)));
  }
  const paths = Object.fromEntries(
    [...users].sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, bits]) => [key, `${bits.toString(16)} ${view.state(key)}`]),
  );
  const entries = Object.fromEntries(
    tests.map((test) => {
      const verdict = verdicts.get(test);
      return [test, `${verdict?.reads ? "reads" : "clear"} ${view.digest(verdict?.keys ?? [])}`];
    }),
  );
  const content = { context, tests: entries, paths };
  return { version: 3, key: sha256Hex(canonicalJson(content)), ...content };
}

/** Each test's keys in a record (the bits of `paths`). */
function keysOf(record: TraceVerdicts): Map<string, Dependency[]> {
  const tests = Object.keys(record.tests).sort();
  const keys = new Map<string, Dependency[]>(tests.map((test) => [test, []]));
  for (const [key, value] of Object.entries(record.paths)) {
    const bits = BigInt(`0x${value.slice(0, value.indexOf(" "))}`);
    for (const [index, test] of tests.entries()) if ((bits >> BigInt(index)) & 1n) keys.get(test)?.push(key);
  }
  return keys;
}

/** Records, signed with the gate key, which of the traced files read the tool folders and what each depended on; keeps the newest few records. */
export function writeVerdicts(repoDir: string, context: TraceContext, view: TreeStates, verdicts: ReadonlyMap<string, Verdict>): void {
  const record = verdictsRecord(context, view, verdicts);
  writeSignedRecord(repoDir, READERS_DIR, record.key, record, KEPT);
}

/** The trace shipped in `checkoutDir` (`SHIPPED_TRACE_FILE`), or undefined: none, not a regular file, over 1 MiB, malformed. */
export function readShippedTrace(checkoutDir: string = CHECKOUT_DIR): TraceVerdicts | undefined {
  const read = readRegularFile(join(checkoutDir, SHIPPED_TRACE_FILE), MAX_BYTES);
  if (!read.ok) return undefined;
  try {
    const parsed = TraceVerdicts.safeParse(JSON.parse(read.text));
    return parsed.success &&
      parsed.data.key === sha256Hex(canonicalJson({ context: parsed.data.context, tests: parsed.data.tests, paths: parsed.data.paths }))
      ? parsed.data
      : undefined;
  } catch {
    return undefined;
  }
}

/** The shipped trace's text for `record`, without its environment: one key a line, so that a change to a few files changes a few lines. */
export function shippedTraceText(record: TraceVerdicts): string {
  const { environment: _, ...context } = record.context;
  const key = sha256Hex(canonicalJson({ context, tests: record.tests, paths: record.paths }));
  const block = (entries: Record<string, string>) =>
    Object.entries(entries)
      .map(([name, value]) => `    ${JSON.stringify(name)}: ${JSON.stringify(value)}`)
      .join(",\n");
  return (
    `{\n  "version": 3,\n  "key": ${JSON.stringify(key)},\n  "context": ${JSON.stringify(context)},\n  ` +
    `"tests": {\n${block(record.tests)}\n  },\n  "paths": {\n${block(record.paths)}\n  }\n}\n`
  );
}

/** What differs between two contexts, in words; none when a record made under `before` holds under `now`. */
function contextChanges(now: TraceContext, before: TraceContext, shipped: boolean): string[] {
  const changes: string[] = [];
  if (now.bun !== before.bun) changes.push("another bun runs them");
  const configuration = [...new Set([...Object.keys(now.configuration), ...Object.keys(before.configuration)])]
    .filter((name) => now.configuration[name] !== before.configuration[name])
    .sort();
  if (configuration.length > 0) changes.push(`${configuration.join(" and ")} changed`);
  if (now.rules !== before.rules) changes.push("the rules that read a trace changed (fitness/folder-trace.ts, fitness/trace-dependencies.ts)");
  if (!shipped) {
    const environment = [...new Set([...Object.keys(now.environment ?? {}), ...Object.keys(before.environment ?? {})])]
      .filter((name) => now.environment?.[name] !== before.environment?.[name])
      .sort();
    if (environment.length > 0) changes.push(`the tests' ${environment.join(", ")} changed`);
  }
  return changes;
}

const listed = (names: readonly string[], most = 3) =>
  `${names.slice(0, most).join(", ")}${names.length > most ? `, and ${names.length - most} more` : ""}`;

/** The verdicts known for `tests` in the tree `view`, where they came from, and why the others are not known (for the trace's first line). */
export type KnownVerdicts = { verdicts: Map<string, Verdict & { source: VerdictSource }>; reason: string };

/**
 * Which of `tests` have a verdict that stands in the tree `view` under `context`: the newest record of this checkout's
 * gate (signed with its key, made under the same context) that holds one whose keys' states are as recorded, else
 * `shipped` (`readShippedTrace`) when its context but the environment is this one and PATH names absolute folders
 * only. Says why the rest must be traced: the first trace, what changed in the code, the context, or tests not traced
 * before.
 */
export function knownVerdicts(
  repoDir: string,
  tests: readonly string[],
  view: TreeStates,
  context: TraceContext,
  options: { shipped?: TraceVerdicts | undefined; path?: string | undefined } = {},
): KnownVerdicts {
  const recorded = signedRecordsNewestFirst(repoDir, READERS_DIR, TraceVerdicts, KEPT);
  const absolutePath = (options.path ?? "").split(":").every((folder) => isAbsolute(folder));
  // A record that holds none of these files (another repository's, or the tests of another selection) says nothing of them.
  const all: { record: TraceVerdicts; source: VerdictSource }[] = recorded.map((record) => ({ record, source: "recorded" }));
  if (options.shipped) all.push({ record: options.shipped, source: "shipped" });
  const sources = all.filter(({ record }) => tests.some((test) => record.tests[test] !== undefined));
  const verdicts: KnownVerdicts["verdicts"] = new Map();
  // Why the others are not known: the keys whose state changed, the tests no record of this context holds, the context.
  const changed = new Set<Dependency>();
  const heldByAny = new Set<string>();
  let matchingContext = false;
  let contextReason: string[] | undefined;
  for (const { record, source } of sources) {
    const changes = contextChanges(context, record.context, source === "shipped");
    if (source === "shipped" && !absolutePath) changes.push("the tests' PATH names a relative folder");
    if (changes.length > 0) {
      contextReason ??= changes;
      continue;
    }
    matchingContext = true;
    const keys = keysOf(record);
    for (const test of tests) {
      const entry = record.tests[test];
      if (verdicts.has(test) || entry === undefined) continue;
      heldByAny.add(test);
      const [state, digest] = entry.split(" ");
      const own = keys.get(test) ?? [];
      if (view.digest(own) === digest) verdicts.set(test, { reads: state === "reads", keys: own, source });
      else for (const key of own) if (record.paths[key]?.split(" ").slice(1).join(" ") !== view.state(key)) changed.add(key);
    }
  }
  const unknown = tests.filter((test) => !verdicts.has(test));
  const reasons: string[] = [];
  if (sources.length === 0) reasons.push("first trace for this code");
  else if (!matchingContext) reasons.push(`${(contextReason ?? []).join("; ")} since the last trace`);
  else {
    if (changed.size > 0) reasons.push(`code changed: ${changed.size} file(s) (${listed([...changed].sort())}) since the last trace`);
    const notHeld = unknown.filter((test) => !heldByAny.has(test));
    if (notHeld.length > 0) reasons.push(`other tests import a module that reads tools/generated/ (${listed(notHeld)})`);
  }
  return { verdicts, reason: reasons.join("; ") || "the last trace of this code recorded nothing (a test failed or it was stopped)" };
}
