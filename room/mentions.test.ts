import { expect, test } from "bun:test";
import { findMentions } from "./mentions.ts";

const names = ["agent", "python", "tool-smith"];

test("finds known @names in order, once each, case-insensitively", () => {
  expect(findMentions("@Python run this, then @agent check. @python again", names)).toEqual(["python", "agent"]);
});

test("ignores unknown names, e-mail addresses and bare words", () => {
  expect(findMentions("mail me@agent.org or @nobody; agent and python", names)).toEqual([]);
});

test("names with dashes and trailing punctuation", () => {
  expect(findMentions("(@tool-smith), @agent: hi, @python-", names)).toEqual(["tool-smith", "agent", "python"]);
});
