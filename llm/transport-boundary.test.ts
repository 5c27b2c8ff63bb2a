import { expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const REPO = join(import.meta.dir, "..");
// Test, benchmark and shell code may speak the wire directly.
const EXEMPT_TOP = new Set(["llm", "testing", "bench", "node_modules", ".org", ".git", "ops", "demo", ".ci", "docs"]);

function productionFiles(directory: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(directory)) {
    const path = join(directory, name);
    const rel = relative(REPO, path);
    if (EXEMPT_TOP.has(rel.split("/")[0] ?? "")) continue;
    if (statSync(path).isDirectory()) found.push(...productionFiles(path));
    else if (name.endsWith(".ts") && !name.endsWith(".test.ts")) found.push(rel);
  }
  return found;
}

test("how a model server is reached stays in llm/: no production file outside it names a base URL", () => {
  const files = productionFiles(REPO);
  expect(files.length).toBeGreaterThan(100);
  const naming = files.filter((file) => /baseUrl/i.test(readFileSync(join(REPO, file), "utf8")));
  expect(naming).toEqual([]);
});
