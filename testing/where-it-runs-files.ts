// The test files that depend on the checkout they run in, and the list of them `npm test` reads: the where-it-runs
// parts (testing/where-it-runs.ts) run them in a hostile clone, and npm test ignores them in this checkout, so each
// runs once. `bun testing/where-it-runs-files.ts --write` (npm run test:where-files) writes the list again.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { reachableTests } from "../fitness/reachable-tests.ts";

/** The list npm test passes to `bun test` as `--path-ignore-patterns`, one path a line, relative to the checkout. */
export const WHERE_IT_RUNS_FILES = join("testing", "where-it-runs.files");

/** The files that depend on the checkout they run in, as the gate selects them (`reachableTests`) and those known to. */
export function checkoutSensitiveFiles(root: string): string[] {
  return [
    ...new Set([
      ...reachableTests(root).tests,
      "config/org-config.test.ts",
      "registry/tool-registry.test.ts",
      "registry/ollama-embedder.test.ts",
      "cli/tool/tool-command.test.ts",
      "cli/command/org-invocation.test.ts",
      "cli/chat/chat-command.once.test.ts",
      "cli/chat/demo-command.test.ts",
      "cli/main.test.ts",
      "serve/sessions-across-chat.test.ts",
      "git/candidate-branch.test.ts",
      // Starts a process as another user: under a 0700 folder, only from a copy it can reach.
      "security/private-state.test.ts",
    ]),
  ].sort();
}

/** The list's text for `root`'s files: what `--write` puts in the file. */
export function whereItRunsFilesText(root: string): string {
  return `${checkoutSensitiveFiles(root).join("\n")}\n`;
}

/** The list as written in `root`, one path a line ("" when the file is missing). */
export function writtenWhereItRunsFiles(root: string): string {
  try {
    return readFileSync(join(root, WHERE_IT_RUNS_FILES), "utf8");
  } catch {
    return "";
  }
}

if (import.meta.main) {
  const root = join(import.meta.dir, "..");
  if (process.argv.includes("--write")) writeFileSync(join(root, WHERE_IT_RUNS_FILES), whereItRunsFilesText(root));
  else process.stdout.write(whereItRunsFilesText(root));
}
