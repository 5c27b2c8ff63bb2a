import { expect, test } from "bun:test";
import { shellCommands } from "./shell-commands.ts";

test("a shell string's commands as words: quotes, escapes, separators, substitutions, keywords and comments as sh reads them", () => {
  expect(shellCommands(`cd "my srv" && NODE_OPTIONS='--import ./h.mjs' node server.mjs # start it\nif [ -f x ]; then . ./env.sh; fi`)).toEqual([
    ["cd", "my srv"],
    ["NODE_OPTIONS=--import ./h.mjs", "node", "server.mjs"],
    ["[", "-f", "x", "]"],
    [".", "./env.sh"],
  ]);
  expect(shellCommands("echo $(node a.js) `python b.py` | tee out.txt > log 2>&1 &")).toEqual([
    ["echo"],
    ["node", "a.js"],
    ["python", "b.py"],
    ["tee", "out.txt", "log", "2"],
    ["1"],
  ]);
  expect(shellCommands(`node "dir/with \\"quote\\".js" it\\'s\\\nfine`)).toEqual([["node", 'dir/with "quote".js', "it'sfine"]]);
  // An unclosed quote runs to the end; nothing is lost or thrown.
  expect(shellCommands(`node 'unclosed.js`)).toEqual([["node", "unclosed.js"]]);
});
