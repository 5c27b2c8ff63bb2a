import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";

// The room's stream and serve's session routes are typed on both ends from one set of schemas (issue 54, item 8): a
// browser bundle imports these modules, so they and everything they import at run time need nothing but zod.
const REPO = join(import.meta.dir, "..");
const BROWSER_SAFE = [
  "room/room-event.ts",
  "room/persona-info.ts",
  "room/room-stream-frame.ts",
  "room/transcript-line.ts",
  "room/room-stream.ts",
  "serve/session-api.ts",
  // The web room's own modules that its page bundles beside these.
  "web/web-api.ts",
  "web/room-state.ts",
  "web/view-paths.ts",
];
const ALLOWED_PACKAGES = new Set(["zod"]);

/** The specifiers a module imports at run time (type-only imports are erased, so they do not count). */
function runtimeImports(file: string, source: string): string[] {
  const parsed = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  for (const statement of parsed.statements) {
    if (
      (ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) &&
      statement.moduleSpecifier &&
      ts.isStringLiteral(statement.moduleSpecifier)
    ) {
      const typeOnly = ts.isImportDeclaration(statement) ? statement.importClause?.isTypeOnly === true : statement.isTypeOnly;
      if (!typeOnly) found.push(statement.moduleSpecifier.text);
    }
  }
  return found;
}

/** Every module `entry` reaches at run time, and each package or builtin it names that is not allowed, with who names it. */
function reach(entries: readonly string[]): { modules: string[]; refused: string[] } {
  const seen = new Set<string>();
  const refused: string[] = [];
  const queue = entries.map((entry) => resolve(REPO, entry));
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    if (seen.has(file)) continue;
    seen.add(file);
    for (const specifier of runtimeImports(file, readFileSync(file, "utf8"))) {
      if (specifier.startsWith(".")) queue.push(resolve(dirname(file), specifier));
      else if (!ALLOWED_PACKAGES.has(specifier)) refused.push(`${relative(REPO, file)} imports ${specifier}`);
    }
  }
  return { modules: [...seen].map((file) => relative(REPO, file)).sort(), refused };
}

describe("the schemas a browser bundle shares with the server", () => {
  test("need nothing but zod at run time, through every module they import", () => {
    const { modules, refused } = reach(BROWSER_SAFE);
    expect(refused).toEqual([]);
    expect(modules).toContain("personas/room-message.ts");
  });

  test("the check can fail: a module that reads the disk is named", () => {
    expect(reach(["room/transcript.ts"]).refused).toContain("room/transcript.ts imports node:fs");
    expect(runtimeImports("x.ts", 'import type { A } from "node:fs";\nimport { b } from "./b.ts";')).toEqual(["./b.ts"]);
  });

  test("bun bundles them for a browser, with nothing of node or bun in the bundle", async () => {
    const built = await Bun.build({ entrypoints: BROWSER_SAFE.map((file) => join(REPO, file)), target: "browser", minify: true });
    expect(built.success).toBe(true);
    const code = (await Promise.all(built.outputs.map((output) => output.text()))).join("\n");
    expect(code).not.toMatch(/["']node:|\bprocess\.env\b|\bBun\./);
  });
});
