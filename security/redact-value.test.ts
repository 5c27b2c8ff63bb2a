import { describe, expect, test } from "bun:test";
import { z } from "zod";
import { defineTool, runTool, toolSet } from "../tools/define-tool.ts";
import { EventRedactor } from "./event-redactor.ts";
import { REDACTED, redactValue } from "./redact.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";

// Invariants named by number in this file are those of docs/ARCHITECTURE.md.
const SECRET: string = "room-server-key-9f8e7d6c5b4a";
const GITHUB: string = `ghp_${"a1B2c3D4e5".repeat(4)}`;

describe("redactValue: one deep redaction, keys included (invariant 4)", () => {
  test("strings in values and in object keys, at any depth; numbers, booleans and null stay", () => {
    const value = { [SECRET]: [{ [GITHUB]: `token ${SECRET}`, n: 1, yes: true, none: null }] };
    const redacted = redactValue(value, [SECRET]);
    expect(JSON.stringify(redacted)).not.toContain(SECRET);
    expect(JSON.stringify(redacted)).not.toContain(GITHUB);
    expect(redacted).toEqual({ [REDACTED]: [{ [REDACTED]: `token ${REDACTED}`, n: 1, yes: true, none: null }] });
  });

  test("a secret in an object key of a tool's data does not reach the model (runTool)", async () => {
    const leaky = defineTool("leaky", {
      description: "returns data keyed by a secret",
      parameters: z.object({}),
      execute: async () => ({ ok: true, output: "done", data: { [SECRET]: "value", nested: { [GITHUB]: 1 } } }),
    });
    const result = await runTool(
      toolSet([leaky]),
      { name: "leaky", arguments: {} },
      { ...testSandboxAccess(), signal: AbortSignal.timeout(10_000), workspaceDir: ".", secrets: [SECRET] },
    );
    expect(JSON.stringify(result.data)).not.toContain(SECRET);
    expect(JSON.stringify(result.data)).not.toContain(GITHUB);
    expect(result.data).toEqual({ [REDACTED]: "value", nested: { [REDACTED]: 1 } });
  });

  test("a secret in an object key of a room event does not reach the console, transcript or a client (EventRedactor)", () => {
    const redactor = new EventRedactor([SECRET]);
    const event = { type: "tool-result", replyId: "r1", data: { [SECRET]: "value", list: [{ [GITHUB]: "x" }] } };
    const passed = redactor.pass(event);
    expect(JSON.stringify(passed)).not.toContain(SECRET);
    expect(JSON.stringify(passed)).not.toContain(GITHUB);
    expect(passed).toEqual([{ type: "tool-result", replyId: "r1", data: { [REDACTED]: "value", list: [{ [REDACTED]: "x" }] } }]);
  });
});
