// Writes a generated tool's three files (tool.ts, tool.test.ts, metadata.json with matching hashes) for tests.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sha256Hex } from "../toolsmith/tool-metadata.ts";

/** A tool that counts words: `{ text }` → `{ words }`. */
export const WORD_COUNT_CODE = `export default (input: { text: string }) => ({ words: input.text.split(/\\s+/).filter(Boolean).length });\n`;

/** Writes `tools/generated/<name>/` under `checkoutDir` with valid metadata; returns the folder. */
export function writeGeneratedTool(checkoutDir: string, name: string, code = WORD_COUNT_CODE): string {
  const directory = join(checkoutDir, "tools", "generated", name);
  mkdirSync(directory, { recursive: true });
  const tests = `import { expect, test } from "bun:test";\nimport tool from "./tool.ts";\ntest("counts", () => expect(tool({ text: "a b" })).toEqual({ words: 2 }));\n`;
  const time = "2026-11-23T10:15:00.000Z";
  const spec = {
    name,
    description: `Counts the words of a text (${name}).`,
    input_schema: { type: "object", properties: { text: { type: "string" } }, required: ["text"], additionalProperties: false },
    output_schema: { type: "object", properties: { words: { type: "integer" } }, required: ["words"] },
    examples: [
      { input: { text: "a b" }, output: { words: 2 } },
      { input: { text: "" }, output: { words: 0 } },
    ],
    deterministic: true,
    capabilities: { network: false, filesystem: "none" },
  };
  const metadata = {
    version: 1,
    spec,
    files: { "tool.ts": sha256Hex(code), "tool.test.ts": sha256Hex(tests) },
    validation: {
      stages: [{ stage: "policy", ok: true, durationMs: 3 }],
      tests: { passed: 1, failed: 0 },
      coverage: { lines: 1, threshold: 0.8 },
      mutants: { total: 10, killed: 9, score: 0.9, threshold: 0.6 },
      heldOutExamples: 1,
      determinismRuns: 3,
    },
    sandbox: { network: false, capabilities: spec.capabilities, timeoutMs: 5000, memoryBytes: 1 << 30 },
    provenance: {
      phases: [{ phase: "spec", model: "qwen3:8b", baseUrl: "http://127.0.0.1:11434", promptSha256: [sha256Hex("p")], attempts: 1, startedAt: time, finishedAt: time }],
      attempts: 1,
      repairRounds: 0,
      startedAt: time,
      finishedAt: time,
      orgCommit: null,
    },
  };
  writeFileSync(join(directory, "tool.ts"), code);
  writeFileSync(join(directory, "tool.test.ts"), tests);
  writeFileSync(join(directory, "metadata.json"), `${JSON.stringify(metadata, null, 2)}\n`);
  return directory;
}
