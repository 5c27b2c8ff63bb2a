import { describe, expect, test } from "bun:test";
import { parseToolMetadata, recordableBaseUrl, sha256Hex, ToolMetadataError, ToolSpec } from "./tool-metadata.ts";

const spec = {
  name: "word_count",
  description: "Counts the words of a text.",
  input_schema: { type: "object", properties: { text: { type: "string" } }, required: ["text"] },
  output_schema: { type: "object", properties: { words: { type: "integer" } }, required: ["words"] },
  examples: [
    { input: { text: "a b" }, output: { words: 2 } },
    { input: { text: "" }, output: { words: 0 } },
  ],
  deterministic: true,
  capabilities: { network: false, filesystem: "none" },
};

const time = "2026-11-23T10:15:00.000Z";
const metadata = {
  version: 1,
  spec,
  files: { "tool.ts": sha256Hex("a"), "tool.test.ts": sha256Hex("b") },
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
      { phase: "spec", model: "qwen3:8b", baseUrl: "http://127.0.0.1:11434", promptSha256: [sha256Hex("p")], attempts: 1, startedAt: time, finishedAt: time },
    ],
    attempts: 3,
    repairRounds: 0,
    startedAt: time,
    finishedAt: time,
    orgCommit: "0".repeat(40),
  },
};

describe("ToolSpec (submit_spec arguments)", () => {
  test("a good spec passes", () => {
    expect(ToolSpec.safeParse(spec).success).toBe(true);
  });

  test.each([
    ["a name with capitals", { name: "WordCount" }],
    ["a one-letter name", { name: "w" }],
    ["a name that is an option", { name: "--force" }],
    ["one example", { examples: [spec.examples[0]] }],
    ["network asked for", { capabilities: { network: true, filesystem: "none" } }],
    ["an input schema that is not an object", { input_schema: { type: "string" } }],
    ["an extra field", { extra: 1 }],
  ])("%s is refused", (_label, change) => {
    expect(ToolSpec.safeParse({ ...spec, ...change }).success).toBe(false);
  });
});

describe("metadata.json", () => {
  test("round-trips through the schema", () => {
    expect(parseToolMetadata(JSON.stringify(metadata), "m.json")).toEqual(metadata as never);
  });

  test("a base URL with credentials is refused, and recordableBaseUrl strips them", () => {
    const phases = [{ ...metadata.provenance.phases[0], baseUrl: "http://user:pw@host:1/v1" }];
    const bad = { ...metadata, provenance: { ...metadata.provenance, phases } };
    expect(() => parseToolMetadata(JSON.stringify(bad), "m.json")).toThrow(ToolMetadataError);
    expect(recordableBaseUrl("http://user:pw@host:1/v1?key=x#y")).toBe("http://host:1/v1");
  });

  test("bad JSON and wrong hashes name the file", () => {
    expect(() => parseToolMetadata("{", "tools/generated/x/metadata.json")).toThrow(/tools\/generated\/x\/metadata.json: not valid JSON/);
    const bad = { ...metadata, files: { "tool.ts": "abc", "tool.test.ts": sha256Hex("b") } };
    expect(() => parseToolMetadata(JSON.stringify(bad), "m.json")).toThrow(/files.tool.ts/);
  });
});
