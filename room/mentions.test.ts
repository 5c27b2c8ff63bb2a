import { expect, test } from "bun:test";
import { findMentions, unknownMentions } from "./mentions.ts";

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

test("a @name that is no persona comes back with the closest persona within two edits, if any", () => {
  expect(unknownMentions("@pyhton and @agnet, @Tool-smit, @python", names)).toEqual([
    { name: "pyhton", closest: "python" },
    { name: "agnet", closest: "agent" },
    { name: "tool-smit", closest: "tool-smith" },
  ]);
  expect(unknownMentions("@everyone listen; @ag; mail me@pyhton.org", names)).toEqual([{ name: "everyone" }, { name: "ag" }]);
});
