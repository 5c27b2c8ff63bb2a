import { expect, test } from "bun:test";
import { misspeltMentions } from "./misspelt-mentions.ts";

const NAMES = ["agent", "python", "toolsmith"];

test("a misspelt @name is found with the persona it meant, and the text corrected", () => {
  expect(misspeltMentions("@pyhton what is 2+2? ask @agnet too", NAMES)).toEqual({
    problem: 'there is no persona "@pyhton" (did you mean @python?), "@agnet" (did you mean @agent?)',
    corrected: "@python what is 2+2? ask @agent too",
  });
});

test("known names, e-mail addresses and @names close to no persona are left alone", () => {
  expect(misspeltMentions("@agent hi, mail me@example.com", NAMES)).toBeUndefined();
  expect(misspeltMentions("install @types/node please", NAMES)).toBeUndefined();
});
