import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";

// `org tool new`, `org tool search` and `org tool stats` are subcommands of `org tool`, `org mcp servers` and `org mcp trust` of
// `org mcp`, and `org workflow plan` of `org workflow`, each kept in a file of its own: the only command files another imports.
const SUBCOMMANDS = new Set([
  "tool/tool-command.ts -> tool/tool-new-command.ts",
  "tool/tool-command.ts -> tool/tool-search-command.ts",
  "tool/tool-command.ts -> tool/tool-stats-command.ts",
  "mcp/mcp-command.ts -> mcp/mcp-servers-command.ts",
  "workflow/workflow-command.ts -> workflow/workflow-plan-command.ts",
]);

/** The command files of `cli/` and its group folders, as paths relative to `cli/`. */
function commandFiles(): string[] {
  return readdirSync(import.meta.dir, { recursive: true, encoding: "utf8" })
    .filter((path) => basename(path).endsWith("-command.ts"))
    .sort();
}

/** The command files that `file` imports (statically or with `import()`), relative to `cli/`. */
function importedCommands(file: string): string[] {
  const source = readFileSync(join(import.meta.dir, file), "utf8");
  return [...source.matchAll(/(?:from|import\()\s*["'](\.{1,2}\/[a-z/.-]*-command\.ts)["']/g)].map(([, specifier]) =>
    relative(import.meta.dir, join(import.meta.dir, dirname(file), specifier ?? "")),
  );
}

test("no command imports another command: what two commands share lives in a lower module", () => {
  const commands = commandFiles();
  expect(commands.length).toBeGreaterThan(10);
  const crossings = commands.flatMap((file) =>
    importedCommands(file)
      .filter((imported) => !imported.startsWith(".."))
      .map((imported) => `${file} -> ${imported}`)
      .filter((edge) => !SUBCOMMANDS.has(edge)),
  );
  expect(crossings).toEqual([]);
});

test("the check sees a command in a group folder importing one in another", () => {
  expect(commandFiles()).toContain("chat/chat-command.ts");
  expect(importedCommands("tool/tool-command.ts")).toContain("tool/tool-new-command.ts");
});
