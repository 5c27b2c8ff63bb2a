import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { CHECKOUT_DIR } from "../config/workspace-paths.ts";
import { sha256Hex } from "../generated-tools/tool-metadata.ts";
import { FITNESS_DIR } from "../git/gate-key.ts";
import { canonicalJson } from "../config/canonical-json.ts";
import type { RepoGit } from "../git/repo-git.ts";
import { newestSignedRecord, readSignedRecord, writeSignedRecord } from "../git/signed-records.ts";
import { filesOutsideTools } from "../git/tool-tree.ts";

/** `.org/fitness/readers/<key>.json`: which of a code version's selected test files read the tool folders when traced. */
export const READERS_DIR = join(FITNESS_DIR, "readers");
const KEPT = 8;
const Sha256 = z.string().regex(/^[0-9a-f]{64}$/);
/**
 * What a trace depends on, part by part, as a record keeps it to say later why a trace is new: each file of the code
 * (path → mode and the start of its object id), the tests, the bun, bun's configuration files and the keyed
 * variables (their values hashed).
 */
const TraceParts = z.strictObject({
  code: z.record(z.string(), z.string()),
  tests: z.array(z.string()),
  bun: z.string(),
  configuration: z.record(z.string(), z.string()),
  environment: z.record(z.string(), z.string()),
  rules: z.string(),
});
export type TraceParts = z.infer<typeof TraceParts>;
const FolderReaders = z.strictObject({ version: z.literal(2), key: Sha256, traced: z.array(z.string()), readers: z.array(z.string()), parts: TraceParts });
type FolderReaders = z.infer<typeof FolderReaders>;

const hashFile = (path: string) => {
  try {
    return sha256Hex(readFileSync(path));
  } catch {
    return "none";
  }
};

/**
 * What a trace of the selected tests depends on, hashed, with its parts: every file of `commit` outside
 * `tools/generated/` (mode, object id, path, so the tests and all the code they run), the test files traced, the bun
 * that runs them, this checkout's bunfig.toml and tsconfig.json (bun's configuration for them), the values of the
 * variables of the tests' environment that can move what they touch into the judged worktree (`keyed`: PATH, HOME,
 * TMPDIR; the tests get no other variable of the gate's but a few that cannot, config's `gateTestEnvironment`), and
 * the rules that read the trace (this checkout's `folder-trace.ts`). A candidate changes only files under
 * `tools/generated/`, so it shares the key of main's code; any other change makes a new key and a new trace.
 */
export async function readersKey(
  git: RepoGit,
  commit: string,
  tests: readonly string[],
  bun: string,
  keyed: Readonly<Record<string, string>>,
  signal?: AbortSignal,
): Promise<{ key: string; parts: TraceParts }> {
  const files = await filesOutsideTools(git, commit, signal);
  const binary = statSync(bun);
  // bun takes its configuration from this checkout (`isolatedBunFlags`).
  const configuration = Object.fromEntries(["bunfig.toml", "tsconfig.json"].map((file) => [file, hashFile(join(CHECKOUT_DIR, file))]));
  const environment = Object.fromEntries(Object.entries(keyed).map(([name, value]) => [name, sha256Hex(value)]));
  const common = {
    tests: [...tests].sort(),
    bun: `${bun} ${binary.size} ${binary.mtimeMs}`,
    configuration,
    environment,
    rules: hashFile(join(import.meta.dir, "folder-trace.ts")),
  };
  const key = sha256Hex(canonicalJson({ version: 3, code: Object.fromEntries(files), ...common }));
  const code = Object.fromEntries([...files].map(([path, entry]) => [path, entry.slice(0, 19)]));
  return { key, parts: { code, ...common } };
}

/** The readers recorded under `key` by this checkout's gate (signed with its key), or undefined: none, unsigned, malformed. */
export function readCachedReaders(repoDir: string, key: string): string[] | undefined {
  return readSignedRecord(repoDir, READERS_DIR, key, FolderReaders)?.readers;
}

/** Records, signed with the gate key, which of the traced files read the tool folders, and what the trace depended on; keeps the newest few records. */
export function writeCachedReaders(repoDir: string, key: string, parts: TraceParts, traced: readonly string[], readers: readonly string[]): void {
  const content: FolderReaders = FolderReaders.parse({ version: 2, key, traced: [...traced].sort(), readers: [...readers].sort(), parts });
  writeSignedRecord(repoDir, READERS_DIR, key, content, KEPT);
}

const listed = (names: readonly string[], most = 3) => `${names.slice(0, most).join(", ")}${names.length > most ? `, and ${names.length - most} more` : ""}`;

/** What differs between two sets of keyed entries (added, removed or changed names). */
function differing(now: Readonly<Record<string, string>>, before: Readonly<Record<string, string>>): string[] {
  return [...new Set([...Object.keys(now), ...Object.keys(before)])].filter((name) => now[name] !== before[name]).sort();
}

/** Why there is no record for this trace's key: the first trace in this checkout, or what changed since the newest record. */
export function newTraceReason(repoDir: string, parts: TraceParts): string {
  const previous = newestSignedRecord(repoDir, READERS_DIR, FolderReaders)?.parts;
  if (!previous) return "first trace for this code";
  const changes: string[] = [];
  const code = differing(parts.code, previous.code);
  if (code.length > 0) changes.push(`code changed: ${code.length} file(s) (${listed(code)})`);
  const tests = differing(Object.fromEntries(parts.tests.map((test) => [test, ""])), Object.fromEntries(previous.tests.map((test) => [test, ""])));
  if (tests.length > 0) changes.push(`other tests import a module that reads tools/generated/ (${listed(tests)})`);
  if (parts.bun !== previous.bun) changes.push("another bun runs them");
  const configuration = differing(parts.configuration, previous.configuration);
  if (configuration.length > 0) changes.push(`${configuration.join(" and ")} changed`);
  const environment = differing(parts.environment, previous.environment);
  if (environment.length > 0) changes.push(`the tests' ${environment.join(", ")} changed`);
  if (parts.rules !== previous.rules) changes.push("the rules that read a trace changed (fitness/folder-trace.ts)");
  return changes.length > 0 ? `${changes.join("; ")} since the last trace` : "the last trace of this code recorded nothing (a test failed or it was stopped)";
}
