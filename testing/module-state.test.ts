import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { productionFiles } from "../docs/lint-figures.ts";
import { moduleState } from "./module-state.ts";

// docs/ARCHITECTURE.md: no production module keeps state at its top level; docs/lint.md counts it (0).

const REPO = join(import.meta.dir, "..");

describe("no module state in production code (docs/ARCHITECTURE.md)", () => {
  test("finds what it looks for: a top-level let or var, a collection or object changed as the module runs, an instance, a closure's let, a static field", () => {
    const source = [
      "let shared: number | undefined;",
      "export var count = 0;",
      "const cache = new Map<string, RegExp>();",
      "const seen: string[] = [];",
      "const FIXED = new Set([1, 2]);",
      "const LIMIT = 4;",
      "const table = new Float32Array(4);",
      "const totals = { calls: 0 };",
      "const limiter = new FifoSemaphore(1);",
      "const PATTERN = new RegExp('x');",
      "const next = (() => { let n = 0; return () => n++; })();",
      "const PURE = (() => { const n = 2; return n * 2; })();",
      "class Holder { #items = new Map(); static made = 0; static readonly registry = new Map(); static readonly NAME = 'h'; add() { this.#items.set(1, 2); } }",
      "const HANDLERS = { clear() {} };",
      "export function f(key: string) { let local = 1; cache.set(key, /x/); seen.push(key); table[0] = 1; totals.calls++; HANDLERS.clear(); return FIXED.has(local) ? LIMIT : 0; }",
    ].join("\n");
    expect(moduleState("x.ts", source)).toEqual([
      "x.ts:1: module-level let shared",
      "x.ts:2: module-level var count",
      "x.ts:9: module-level instance limiter of FifoSemaphore",
      "x.ts:11: module-level next keeps a closure's let",
      "x.ts:13: static field Holder.made, changed as the program runs",
      "x.ts:13: static field Holder.registry, changed as the program runs",
      "x.ts:3: module-level collection cache, changed as the module runs",
      "x.ts:4: module-level collection seen, changed as the module runs",
      "x.ts:7: module-level collection table, changed as the module runs",
      "x.ts:8: module-level collection totals, changed as the module runs",
    ]);
  });

  test("a value made on first use (onFirstUse: a module's zod schemas) is a constant made late, not state", () => {
    const source = [
      'import { onFirstUse } from "../concurrency/on-first-use.ts";',
      "export const recordSchemas = onFirstUse(() => ({ Record: z.object({ id: z.string() }) }));",
      "export function read(text: string) { return recordSchemas().Record.parse(JSON.parse(text)); }",
    ].join("\n");
    expect(moduleState("x.ts", source)).toEqual([]);
  });

  test("a production file with state at its top level fails the check", () => {
    expect(moduleState("config/version.ts", "let cached: string | undefined;\nexport const orgVersion = () => (cached ??= 'x');\n")).toEqual([
      "config/version.ts:1: module-level let cached",
    ]);
  });

  test("no production file keeps state at its top level: it lives in instances made at assembly", () => {
    const files = productionFiles(REPO);
    // Every production folder is read, the root's main.ts and the tool loop too.
    const folders = new Set(files.flatMap((file) => (file.includes("/") ? [file.split("/")[0], dirname(file)] : [file])));
    for (const folder of [
      "sandbox",
      "workspace",
      "mcp-client",
      "config",
      "registry",
      "git",
      "security",
      "tools",
      "serve",
      "web",
      "supervise",
      "main.ts",
      "tool-loop",
    ])
      expect(folders).toContain(folder);
    // The web page's components are production code too (issue 78: the lint read `.ts` only).
    expect(files).toContain("web/page/room/room-view.tsx");
    expect(files.flatMap((file) => moduleState(file, readFileSync(join(REPO, file), "utf8")))).toEqual([]);
  });
});
