import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { productionFiles } from "../testing/production-files.ts";

const REPO = join(import.meta.dir, "..");
// Test, benchmark and shell code may speak the wire directly.
const EXEMPT_TOP = new Set(["llm", "testing", "bench", "node_modules", ".org", ".git", "ops", "demo", ".ci", "docs"]);

test("how a model server is reached stays in llm/: no production file outside it names a base URL", () => {
  const files = productionFiles(EXEMPT_TOP);
  expect(files.length).toBeGreaterThan(100);
  const naming = files.filter((file) => /baseUrl/i.test(readFileSync(join(REPO, file), "utf8")));
  expect(naming).toEqual([]);
});

test("a model is made by modelFor alone: no production file outside llm/ calls httpModel or probes a server by its URL", () => {
  const files = productionFiles(EXEMPT_TOP);
  const direct = files.filter((file) => /\b(httpModel|probeModelServer|chatOnce)\(|llm\/http-model\.ts/.test(readFileSync(join(REPO, file), "utf8")));
  expect(direct).toEqual([]);
});
