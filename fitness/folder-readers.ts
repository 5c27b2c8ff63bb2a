import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { CHECKOUT_DIR } from "../config/workspace-paths.ts";
import { sha256Hex } from "../generated-tools/tool-metadata.ts";
import { FITNESS_DIR, canonicalJson } from "../git/gate-key.ts";
import type { RepoGit } from "../git/repo-git.ts";
import { readSignedRecord, writeSignedRecord } from "../git/signed-records.ts";
import { committedCode } from "./tool-scenario-records.ts";

/** `.org/fitness/readers/<key>.json`: which of a code version's selected test files read the tool folders when traced. */
export const READERS_DIR = join(FITNESS_DIR, "readers");
const KEPT = 8;
/** The environment variables whose presence can change what org, bun or a test does, so a trace holds only for them. */
const KEYED_VARIABLE = /^(?:ORG_|OLLAMA_|BUN_|NODE_|LC_|TMUX_TMPDIR$|LANG$|TZ$|TMPDIR$|NO_COLOR$|PATH$|HOME$)/;
const Sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const FolderReaders = z.strictObject({ version: z.literal(1), key: Sha256, traced: z.array(z.string()), readers: z.array(z.string()) });
type FolderReaders = z.infer<typeof FolderReaders>;

/**
 * What a trace of the selected tests depends on, hashed: every file of `commit` outside `tools/generated/` (mode,
 * object id, path, so the tests and all the code they run), the test files traced, the bun that runs them, this
 * checkout's bunfig.toml and tsconfig.json (bun's configuration for them), the names of the environment's variables
 * that org, bun or the tests read (`KEYED_VARIABLE`) with PATH and HOME, and the rules that read the trace (this
 * checkout's `folder-trace.ts`). A candidate changes only files under `tools/generated/`, so it shares the key of
 * main's code; any other change makes a new key and a new trace. What a shell adds and changes as it goes (OLDPWD,
 * `_`, SHLVL, TMUX_PANE, npm's npm_*) is left out: with it, the same code got a new key, and a 30 s trace, from
 * one shell to the next.
 */
export async function readersKey(
  git: RepoGit,
  commit: string,
  tests: readonly string[],
  bun: string,
  variables: Readonly<Record<string, string | undefined>>,
  signal?: AbortSignal,
): Promise<string> {
  const code = await committedCode(git, commit, signal);
  const binary = statSync(bun);
  const hash = (path: string) => {
    try {
      return sha256Hex(readFileSync(path));
    } catch {
      return "none";
    }
  };
  // bun takes its configuration from this checkout (`isolatedBunFlags`), and the tests get this process's environment.
  const configuration = ["bunfig.toml", "tsconfig.json"].map((file) => hash(join(CHECKOUT_DIR, file)));
  const names = Object.keys(variables).filter((name) => variables[name] !== undefined && KEYED_VARIABLE.test(name));
  const environment = { names: names.sort(), PATH: variables.PATH ?? "", HOME: variables.HOME ?? "" };
  const rules = hash(join(import.meta.dir, "folder-trace.ts"));
  const content = { version: 2, code, tests: [...tests].sort(), bun: `${bun} ${binary.size} ${binary.mtimeMs}`, configuration, environment, rules };
  return sha256Hex(canonicalJson(content));
}

/** The readers recorded under `key` by this checkout's gate (signed with its key), or undefined: none, unsigned, malformed. */
export function readCachedReaders(repoDir: string, key: string): string[] | undefined {
  return readSignedRecord(repoDir, READERS_DIR, key, FolderReaders)?.readers;
}

/** Records, signed with the gate key, which of the traced files read the tool folders; keeps the newest few records. */
export function writeCachedReaders(repoDir: string, key: string, traced: readonly string[], readers: readonly string[]): void {
  const content: FolderReaders = FolderReaders.parse({ version: 1, key, traced: [...traced].sort(), readers: [...readers].sort() });
  writeSignedRecord(repoDir, READERS_DIR, key, content, KEPT);
}
