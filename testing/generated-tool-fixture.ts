import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { GENERATED_TOOLS_DIR } from "../config/workspace-paths.ts";
import { sha256Hex, type ToolSpec } from "../generated-tools/tool-metadata.ts";

const TIME = "2026-11-23T10:15:00.000Z";

/** A valid metadata.json object for `spec` whose file hashes match `code` and `testCode`. */
export function generatedToolMetadata(spec: ToolSpec, code = "export default () => ({});\n", testCode = "// tests\n") {
  return {
    version: 1,
    spec,
    files: { "tool.ts": sha256Hex(code), "tool.test.ts": sha256Hex(testCode) },
    validation: {
      stages: [{ stage: "policy", ok: true, durationMs: 3 }],
      tests: { passed: 3, failed: 0 },
      coverage: { lines: 1, threshold: 0.8 },
      mutants: { total: 10, killed: 9, score: 0.9, threshold: 0.6 },
      heldOutExamples: 1,
      determinismRuns: 3,
    },
    sandbox: { network: false, capabilities: spec.capabilities, timeoutMs: 5000, memoryBytes: 1 << 30 },
    provenance: {
      phases: [
        {
          phase: "spec",
          model: "qwen3:8b",
          baseUrl: "http://127.0.0.1:11434",
          promptSha256: [sha256Hex("p")],
          attempts: 1,
          startedAt: TIME,
          finishedAt: TIME,
        },
      ],
      attempts: 1,
      repairRounds: 0,
      startedAt: TIME,
      finishedAt: TIME,
      orgCommit: null,
    },
  };
}

/** A spec with one string input and one output field, for tests that need many tools quickly. */
export function simpleSpec(name: string, description: string, input = "text", output = "result"): ToolSpec {
  return {
    name,
    description,
    input_schema: { type: "object", properties: { [input]: { type: "string", description: `the ${input}` } }, required: [input] },
    output_schema: { type: "object", properties: { [output]: {} }, required: [output] },
    examples: [
      { input: { [input]: "a" }, output: { [output]: "a" } },
      { input: { [input]: "b" }, output: { [output]: "b" } },
    ],
    deterministic: true,
    capabilities: { network: false, filesystem: "none" },
  };
}

/** A word counter's spec: `{ text }` → `{ words }`, named `name`. */
export function wordCountSpec(name = "word_count", description = "Counts the words of a text."): ToolSpec {
  return {
    name,
    description,
    input_schema: { type: "object", properties: { text: { type: "string" } }, required: ["text"], additionalProperties: false },
    output_schema: { type: "object", properties: { words: { type: "integer" } }, required: ["words"] },
    examples: [
      { input: { text: "a b" }, output: { words: 2 } },
      { input: { text: "" }, output: { words: 0 } },
    ],
    deterministic: true,
    capabilities: { network: false, filesystem: "none" },
  };
}

/** Code for `wordCountSpec`: `{ text }` → `{ words }`. */
export const WORD_COUNT_CODE = `export default (input: { text: string }) => ({ words: input.text.split(/\\s+/).filter(Boolean).length });\n`;
/** Tests for `WORD_COUNT_CODE`. */
export const WORD_COUNT_TESTS =
  `import { expect, test } from "bun:test";\nimport tool from ` +
  `"./tool.ts";\ntest("counts", () => expect(tool({ text: "a b" })).toEqual({ words: 2 }));\n`;

/** Writes `tools/generated/<name>/` (tool.ts, tool.test.ts, metadata.json with matching hashes) under `root`; returns the folder. */
export function writeGeneratedTool(root: string, spec: ToolSpec, code = "export default () => ({});\n", testCode = "// tests\n"): string {
  const directory = writeGeneratedToolMetadata(root, spec, code, testCode);
  writeFileSync(join(directory, "tool.ts"), code);
  writeFileSync(join(directory, "tool.test.ts"), testCode);
  return directory;
}

/**
 * Writes `tools/generated/<name>/metadata.json` alone (hashes of `code` and `testCode`, which are not written): what
 * the registry reads, for a table of many tools, whose files are slow to make. Returns the folder.
 */
export function writeGeneratedToolMetadata(root: string, spec: ToolSpec, code = "export default () => ({});\n", testCode = "// tests\n"): string {
  const directory = join(root, GENERATED_TOOLS_DIR, spec.name);
  mkdirSync(directory, { recursive: true });
  writeFileSync(join(directory, "metadata.json"), `${JSON.stringify(generatedToolMetadata(spec, code, testCode), null, 2)}\n`);
  return directory;
}
