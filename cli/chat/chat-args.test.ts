import { expect, test } from "bun:test";
import { parseChatArgs } from "./chat-args.ts";
import { UsageError } from "../command/command.ts";

test("flags with values, in both spellings", () => {
  expect(parseChatArgs(["--config", "a.json", "--mode=direct:python", "--once", "hi", "--json", "--yes", "--workspace", "w"])).toEqual({
    config: "a.json",
    mode: "direct:python",
    once: "hi",
    json: true,
    yes: true,
    workspace: "w",
  });
  expect(parseChatArgs([])).toEqual({ json: false, yes: false });
});

test("--resume takes an optional id", () => {
  expect(parseChatArgs(["--resume"]).resume).toBe(true);
  expect(parseChatArgs(["--resume", "--yes"])).toEqual({ resume: true, yes: true, json: false });
  expect(parseChatArgs(["--resume", "2026-11-22-abc"]).resume).toBe("2026-11-22-abc");
  expect(parseChatArgs(["--resume=abc"]).resume).toBe("abc");
});

test("mistakes are usage errors that say what is wrong", () => {
  expect(() => parseChatArgs(["--mode"])).toThrow(new UsageError("--mode needs a value", "chat"));
  expect(() => parseChatArgs(["--once", "--json"])).toThrow("--once needs a value");
  expect(() => parseChatArgs(["--colour"])).toThrow("unknown option '--colour' for chat");
  expect(() => parseChatArgs(["--json"])).toThrow("--json goes with --once");
  expect(() => parseChatArgs(["--once", "  "])).toThrow("--once needs a non-empty message");
  expect(() => parseChatArgs(["--once", "a", "--once=b"])).toThrow("--once is given twice; give it once");
  expect(() => parseChatArgs(["hello"])).toThrow(`unexpected argument 'hello': chat takes options only (to send one message, use --once "hello")`);
});
