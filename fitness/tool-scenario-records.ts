import { join } from "node:path";
import { z } from "zod";
import { GENERATED_TOOLS_DIR } from "../config/workspace-paths.ts";
import { FITNESS_DIR } from "./gate-key.ts";
import { canonicalJson } from "../config/canonical-json.ts";
import type { RepoGit } from "../git/repo-git.ts";
import { readSignedRecord, writeSignedRecord } from "./signed-records.ts";
import { sha256Hex, type ToolExample } from "../generated-tools/tool-metadata.ts";

/** `.org/fitness/tool-examples/<key>.json`: every example of a tool passed on an instance in this gate, signed with its key. */
export const TOOL_EXAMPLES_DIR = join(FITNESS_DIR, "tool-examples");
const KEPT = 1024;
const Count = z.number().int().min(0);
const ExamplesPassed = z.strictObject({
  version: z.literal(1),
  key: z.string().regex(/^[0-9a-f]{64}$/),
  tool: z.string().max(60),
  examples: Count,
  passedAt: z.string().max(40),
});
export type ExamplesPassed = z.infer<typeof ExamplesPassed>;

/**
 * An instance as a tool's examples meet it: the code it runs (its commit's files outside tools/generated/,
 * `committedCode`) and what it tells of how it runs tools (`/health`'s version and settings, `toolRunSettings`).
 */
export type InstanceSide = { code: string; version: string; settings: string };

/**
 * What a tool's examples through `POST /v1/tools/<name>/run` of one instance depend on, hashed: the gate's own code
 * (`code-identity.ts`, which sends them and judges the answers), the tool's name, the examples and the time each
 * may take, the instance (`InstanceSide`) and the tool's own files there (file → mode and blob id). An instance runs a
 * tool from that tool's folder alone (its three files, hash-checked), with the runner and sandbox of its code and
 * settings: another tool's folder can neither hide it nor change its run. So the key is the same for current and for a
 * candidate that run the same code with the same settings and files, whatever other tools either has: a tool whose
 * examples passed on the candidate that brought it passes on current once promoted, and on the next candidates.
 */
export function toolExamplesKey(input: {
  gate: string;
  tool: string;
  examples: readonly ToolExample[];
  timeoutMs: number;
  instance: InstanceSide;
  files: Record<string, string>;
}): string {
  return sha256Hex(canonicalJson({ version: 1, kind: "tool-examples", ...input }));
}

/**
 * The code of `commit` as an instance started from it runs it: every file outside tools/generated/ (mode, object id,
 * path), hashed. The protected core lets a candidate change nothing else, so a candidate shares its main's code.
 */
export async function committedCode(git: RepoGit, commit: string, signal?: AbortSignal): Promise<string> {
  const entries = await git.treeEntries(commit, { recursive: true, signal });
  // Each entry as `ls-tree` prints it (`mode type id\tpath`), so the hash, and the records keyed on it, stay as they were.
  const code = entries
    .filter((entry) => !entry.path.startsWith(`${GENERATED_TOOLS_DIR}/`))
    .map((entry) => `${entry.mode} ${entry.type} ${entry.id}\t${entry.path}`);
  return sha256Hex(code.join("\n"));
}

/** That every one of `examples` examples passed, as this checkout's gate recorded it under `key`; undefined otherwise (none, unsigned, another
 * gate's, malformed, another tool's).
 */
export function readExamplesPass(repoDir: string, key: string, tool: string, examples: number): ExamplesPassed | undefined {
  const record = readSignedRecord(repoDir, TOOL_EXAMPLES_DIR, key, ExamplesPassed);
  return record?.tool === tool && record.examples === examples ? record : undefined;
}

/** Records, signed with the gate key, that every example passed; a checkout that cannot write one runs them again next time. */
export function recordExamplesPass(repoDir: string, key: string, tool: string, examples: number): void {
  try {
    writeSignedRecord(
      repoDir,
      TOOL_EXAMPLES_DIR,
      key,
      ExamplesPassed.parse({ version: 1, key, tool, examples, passedAt: new Date().toISOString() }),
      KEPT,
    );
  } catch {}
}
