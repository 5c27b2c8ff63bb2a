import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const REPO = join(import.meta.dir, "..");
/** Folders that hold no code of org's: installed packages and what org or git write at run time. */
const NOT_PARTS = new Set(["node_modules", "coverage"]);

/** The folders a bullet of docs/how-it-is-built.md opens with: "- `cli/`, `ops/`: …" names `cli` and `ops`. */
function namedFolders(markdown: string): Set<string> {
  const named = new Set<string>();
  for (const line of markdown.split("\n")) {
    const opening = /^- ((?:`[\w.-]+\/`(?:, | and )?)+):/.exec(line)?.[1];
    for (const folder of opening?.matchAll(/`([\w.-]+)\/`/g) ?? []) named.add(folder[1] ?? "");
  }
  return named;
}

test("docs/how-it-is-built.md gives every top folder of the repo a bullet of its own job", () => {
  const folders = readdirSync(REPO, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith(".") && !NOT_PARTS.has(entry.name))
    .map((entry) => entry.name);
  const named = namedFolders(readFileSync(join(REPO, "docs", "how-it-is-built.md"), "utf8"));
  expect(folders.filter((folder) => !named.has(folder)).sort()).toEqual([]);
  // Only folders that exist: a bullet for a folder that has gone is stale.
  expect([...named].filter((folder) => !folders.includes(folder)).sort()).toEqual([]);
});

test("a folder named only inside a sentence, or as a file's path, is not named", () => {
  const named = namedFolders("- `cli/`, `ops/`: the terminal.\n- `llm/chat-once.ts`: a file.\n  - `web/`: indented.\nsee `grow/`.");
  expect([...named].sort()).toEqual(["cli", "ops"]);
});
