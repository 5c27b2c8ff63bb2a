import { describe, expect, test } from "bun:test";
import { generatedToolMetadata, wordCountSpec } from "../testing/generated-tool-fixture.ts";
import { recordableServerUrl } from "../llm/recorded-model.ts";
import { parseToolMetadata, sha256Hex, ToolMetadataError, toolMetadataSchemas } from "./tool-metadata.ts";

const spec = wordCountSpec();
const base = generatedToolMetadata(spec, "a", "b");
const metadata = { ...base, provenance: { ...base.provenance, attempts: 3, orgCommit: "0".repeat(40) } };

describe("ToolSpec (submit_spec arguments)", () => {
  test("a good spec passes", () => {
    expect(toolMetadataSchemas().ToolSpec.safeParse(spec).success).toBe(true);
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
    expect(toolMetadataSchemas().ToolSpec.safeParse({ ...spec, ...change }).success).toBe(false);
  });
});

describe("metadata.json", () => {
  test("round-trips through the schema", () => {
    expect(parseToolMetadata(JSON.stringify(metadata), "m.json")).toEqual(metadata as never);
  });

  test("a base URL with credentials is refused, and recordableServerUrl strips them", () => {
    const phases = [{ ...metadata.provenance.phases[0], baseUrl: "http://user:pw@host:1/v1" }];
    const bad = { ...metadata, provenance: { ...metadata.provenance, phases } };
    expect(() => parseToolMetadata(JSON.stringify(bad), "m.json")).toThrow(ToolMetadataError);
    expect(recordableServerUrl("http://user:pw@host:1/v1?key=x#y")).toBe("http://host:1/v1");
  });

  test("bad JSON and wrong hashes name the file", () => {
    expect(() => parseToolMetadata("{", "tools/generated/x/metadata.json")).toThrow(/tools\/generated\/x\/metadata.json: not valid JSON/);
    const bad = { ...metadata, files: { "tool.ts": "abc", "tool.test.ts": sha256Hex("b") } };
    expect(() => parseToolMetadata(JSON.stringify(bad), "m.json")).toThrow(/files.tool.ts/);
  });
});
