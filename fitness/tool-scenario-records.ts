import { join } from "node:path";
import { z } from "zod";
import { GENERATED_TOOLS_DIR } from "../config/workspace-paths.ts";
import { canonicalJson, FITNESS_DIR } from "../git/gate-key.ts";
import type { RepoGit } from "../git/repo-git.ts";
import { readSignedRecord, writeSignedRecord } from "../git/signed-records.ts";
import { sha256Hex, type ToolExample } from "../generated-tools/tool-metadata.ts";

/** `.org/fitness/tool-scenarios/<key>.json`: a tool's examples passed on both instances in this gate, signed with its key. */
export const TOOL_SCENARIOS_DIR = join(FITNESS_DIR, "tool-scenarios");
const KEPT = 1024;
const Count = z.number().int().min(0);
const ScenarioPassed = z.strictObject({
  version: z.literal(1),
  key: z.string().regex(/^[0-9a-f]{64}$/),
  tool: z.string().max(60),
  passedAt: z.string().max(40),
  examples: Count,
  candidatePasses: Count,
  currentPasses: Count,
});
export type ScenarioPassed = z.infer<typeof ScenarioPassed>;

/**
 * One instance as a tool's scenario meets it: the code it runs (its commit's files outside tools/generated/,
 * `committedCode`), the tool's own files there (file → blob id: tool.ts, tool.test.ts, metadata.json), and what it
 * reports of how it runs tools (`/health`'s version and settings, `toolRunSettings`).
 */
export type ScenarioSide = { code: string; files: Record<string, string>; version: string; settings: string };

/**
 * What a tool's scenario (its examples through `POST /v1/tools/<name>/run` on both instances) depends on, hashed: the
 * gate's own code (`git/code-identity.ts`, which judges the answers), the tool's name, the examples sent, the time each
 * may take, and each instance as `ScenarioSide` tells it. An instance runs a tool from that tool's folder alone (its
 * three files, hash-checked), with the runner and sandbox of its code and settings: another tool's folder can neither
 * hide it nor change its run, so a candidate that adds or changes other tools meets the same key for it.
 */
export function toolScenarioKey(input: {
  gate: string;
  tool: string;
  examples: readonly ToolExample[];
  timeoutMs: number;
  current: ScenarioSide;
  candidate: ScenarioSide;
}): string {
  return sha256Hex(canonicalJson({ version: 1, kind: "tool-scenario", ...input }));
}

/**
 * The code of `commit` as an instance started from it runs it: every file outside tools/generated/ (mode, object id,
 * path), hashed. The protected core lets a candidate change nothing else, so a candidate shares main's code.
 */
export async function committedCode(git: RepoGit, commit: string, signal?: AbortSignal): Promise<string> {
  const listing = await git.run(["ls-tree", "-r", "-z", "--full-tree", "--end-of-options", commit], { signal });
  const code = listing.split("\0").filter((line) => line.length > 0 && !line.split("\t")[1]?.startsWith(`${GENERATED_TOOLS_DIR}/`));
  return sha256Hex(code.join("\n"));
}

/** The pass recorded under `key` by this checkout's gate, or undefined: none, unsigned, another gate's, malformed, another tool's. */
export function readScenarioPass(repoDir: string, key: string, tool: string): ScenarioPassed | undefined {
  const record = readSignedRecord(repoDir, TOOL_SCENARIOS_DIR, key, ScenarioPassed);
  return record?.tool === tool ? record : undefined;
}

/** Records, signed with the gate key, that a tool's scenario passed with these figures; a checkout that cannot write one runs it again next time. */
export function recordScenarioPass(repoDir: string, key: string, pass: Omit<ScenarioPassed, "version" | "key" | "passedAt">): void {
  try {
    writeSignedRecord(repoDir, TOOL_SCENARIOS_DIR, key, ScenarioPassed.parse({ version: 1, key, passedAt: new Date().toISOString(), ...pass }), KEPT);
  } catch {}
}
