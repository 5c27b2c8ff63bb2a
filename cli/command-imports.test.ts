import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

// `org tool new`, `org tool search` and `org tool stats` are subcommands of `org tool`, `org mcp servers` and `org mcp trust` of
// `org mcp`, and `org workflow plan` of `org workflow`, each kept in a file of its own: the only command files another imports.
const SUBCOMMANDS = new Set([
  "tool-command.ts -> tool-new-command.ts",
  "tool-command.ts -> tool-search-command.ts",
  "tool-command.ts -> tool-stats-command.ts",
  "mcp-command.ts -> mcp-servers-command.ts",
  "workflow-command.ts -> workflow-plan-command.ts",
]);

test("no command imports another command: what two commands share lives in a lower module", () => {
  const commands = readdirSync(import.meta.dir).filter((name) => name.endsWith("-command.ts"));
  expect(commands.length).toBeGreaterThan(10);
  const crossings = commands.flatMap((file) =>
    [...readFileSync(join(import.meta.dir, file), "utf8").matchAll(/(?:from|import\()\s*["']\.\/([a-z-]+-command\.ts)["']/g)]
      .map(([, imported]) => `${file} -> ${imported}`)
      .filter((edge) => !SUBCOMMANDS.has(edge)),
  );
  expect(crossings).toEqual([]);
});
