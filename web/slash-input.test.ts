import { expect, test } from "bun:test";
import { parseWebInput } from "./slash-input.ts";

test("the message box reads the terminal's slash commands, and anything else as a message", () => {
  expect(parseWebInput("hello @agent")).toEqual({ type: "message", text: "hello @agent" });
  expect(parseWebInput("  ")).toEqual({ type: "empty" });
  expect(parseWebInput("//etc/hosts is a path")).toEqual({ type: "message", text: "/etc/hosts is a path" });
  expect(parseWebInput("/mode")).toEqual({ type: "mode" });
  expect(parseWebInput("/mode direct:python")).toEqual({ type: "mode", mode: "direct:python" });
  expect(parseWebInput("/mode sideways").type).toBe("invalid");
  expect(parseWebInput("/wish convert CSV to JSON")).toEqual({ type: "wish", text: "convert CSV to JSON" });
  expect(parseWebInput("/wish").type).toBe("invalid");
  expect(parseWebInput("/undo --force")).toEqual({ type: "undo", force: true });
  expect(parseWebInput("/diff")).toEqual({ type: "diff" });
  expect(parseWebInput("/output 2")).toEqual({ type: "output", number: 2 });
  expect(parseWebInput("/output zero").type).toBe("invalid");
  expect(parseWebInput("/compact")).toEqual({ type: "compact" });
  expect(parseWebInput("/compact the deploy plan")).toEqual({ type: "compact", focus: "the deploy plan" });
  expect(parseWebInput("/facts")).toEqual({ type: "facts", argument: "" });
  expect(parseWebInput("/facts accept 2")).toEqual({ type: "facts", argument: "accept 2" });
  expect(parseWebInput("/context")).toEqual({ type: "context" });
  expect(parseWebInput("/context python")).toEqual({ type: "context", persona: "python" });
  expect(parseWebInput("/context a b").type).toBe("invalid");
  expect(parseWebInput("/rm -rf")).toMatchObject({ type: "invalid", message: expect.stringContaining("/output, /compact, /context and /facts") });
});
