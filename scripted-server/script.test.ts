import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadScript, parseScript, ScriptError } from "./script.ts";

const directory = mkdtempSync(join(tmpdir(), "org-script-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

function parseError(text: string): ScriptError {
  try {
    parseScript(text, "demo/script.json");
  } catch (error) {
    if (error instanceof ScriptError) return error;
    throw error;
  }
  throw new Error("expected the script to be refused");
}

describe("parseScript", () => {
  test("fills in defaults: one model, ollama-new wire, usage on", () => {
    const script = parseScript('{"rules":[{"reply":{"text":"hi"}}]}', "s.json");
    expect(script.models).toEqual(["qwen3:8b"]);
    expect(script.rules[0]?.reply).toMatchObject({ text: "hi", wire: "ollama-new", usage: true, chunkSize: 8 });
  });

  test("bad JSON names the file and says it is not JSON", () => {
    const error = parseError('{"rules": [');
    expect(error.message).toStartWith("demo/script.json: not valid JSON");
  });

  test("a bad field names the file, the JSON path and what is allowed", () => {
    const error = parseError('{"rules":[{"reply":{"text":"a"}},{"reply":{"wire":"ollama-v2"}}]}');
    expect(error.message).toContain("demo/script.json");
    expect(error.message).toContain("at rules[1].reply.wire");
    expect(error.message).toContain('"ollama-old"');
  });

  test("a misspelt key is refused, not ignored", () => {
    const error = parseError('{"rules":[{"when":{"lastMesage":"hi"},"reply":{}}]}');
    expect(error.message).toContain("at rules[0].when");
    expect(error.message).toContain("lastMesage");
  });

  test("a regex that does not compile is refused at its path", () => {
    const error = parseError('{"rules":[{"when":{"lastMessage":"(unclosed"},"reply":{}}]}');
    expect(error.message).toContain("at rules[0].when.lastMessage: is not a valid regular expression");
  });

  test("faults: a status out of range is refused; the three fault kinds parse", () => {
    expect(parseError('{"rules":[{"reply":{"fault":{"status":200}}}]}').message).toContain("rules[0].reply.fault.status");
    const script = parseScript(
      '{"rules":[{"reply":{"fault":{"status":503}}},{"reply":{"fault":{"cutAfterChunks":2}}},{"reply":{"fault":{"malformedAfterChunks":0}}}]}',
      "s.json",
    );
    expect(script.rules.map((rule) => rule.reply.fault)).toEqual([{ status: 503 }, { cutAfterChunks: 2 }, { malformedAfterChunks: 0 }]);
  });

  test("rules are required", () => {
    expect(parseError("{}").message).toContain("at rules:");
  });
});

describe("loadScript", () => {
  test("reads a file", async () => {
    const path = join(directory, "ok.json");
    writeFileSync(path, JSON.stringify({ models: ["m:1"], rules: [{ reply: { text: "x" } }] }));
    expect((await loadScript(path)).models).toEqual(["m:1"]);
  });

  test("a missing file says so and names the path", async () => {
    const path = join(directory, "missing.json");
    await expect(loadScript(path)).rejects.toThrow(`${path}: no such script file`);
  });
});
