import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { importsOf } from "./module-imports.ts";
import { productionFiles } from "./production-files.ts";

const REPO = join(import.meta.dir, "..");

/**
 * The layer of each part, read from the table between the `layers:begin` and `layers:end` markers of
 * docs/ARCHITECTURE.md, so the document and this test cannot drift apart.
 */
function layersFromArchitecture(): Record<string, number> {
  const text = readFileSync(join(REPO, "docs", "ARCHITECTURE.md"), "utf8");
  const table = /<!-- layers:begin -->([\s\S]*?)<!-- layers:end -->/.exec(text)?.[1];
  if (table === undefined) throw new Error("docs/ARCHITECTURE.md has no layers:begin/layers:end table");
  const layers: Record<string, number> = {};
  for (const row of table.split("\n")) {
    const cells = /^\|\s*(\d+)\s*\|(.*)\|\s*$/.exec(row.trim());
    if (!cells?.[1] || cells[2] === undefined) continue;
    for (const part of cells[2].matchAll(/`([^`]+)`/g)) if (part[1]) layers[part[1]] = Number(cells[1]);
  }
  return layers;
}
const LAYER = layersFromArchitecture();
// Test-only code may import anything.
const EXEMPT_TOP = new Set(["testing", "bench", "node_modules", ".org", ".git", "ops", "demo", ".ci", "docs"]);

/**
 * The part a file belongs to: the deepest folder the table names (a row may name `llm/extract` apart from `llm`), else its top
 * folder, or the file itself at the root.
 */
function partOf(file: string): string {
  const segments = file.split("/");
  for (let depth = segments.length - 1; depth > 1; depth--) {
    const folder = segments.slice(0, depth).join("/");
    if (folder in LAYER) return folder;
  }
  return segments[0] ?? file;
}
/** The folder a file sits in, for the cycle check (`llm/extract` and `llm` are two nodes). */
const folderOf = (file: string) => (file.includes("/") ? dirname(file) : file);

const files = productionFiles(EXEMPT_TOP);
const edges = files.flatMap((file) => importsOf(file, REPO).map((target) => ({ file, target })));

describe("the parts' import arrows (docs/ARCHITECTURE.md)", () => {
  test("the root holds only main.ts as code", () => {
    const rootCode = readdirSync(REPO).filter((name) => name.endsWith(".ts"));
    expect(rootCode).toEqual(["main.ts"]);
  });

  test("every part is placed in a layer", () => {
    const unplaced = [...new Set(files.map(partOf))].filter((part) => !(part in LAYER));
    expect(unplaced).toEqual([]);
  });

  test("no arrow points up", () => {
    const upward = edges
      .filter(({ target }) => !EXEMPT_TOP.has(partOf(target)))
      .filter(({ file, target }) => (LAYER[partOf(file)] ?? -1) < (LAYER[partOf(target)] ?? Number.POSITIVE_INFINITY))
      .map(({ file, target }) => `${file} → ${target}`);
    expect(upward).toEqual([]);
  });

  test("production code does not import test-only code", () => {
    const intoTests = edges
      .filter(({ target }) => EXEMPT_TOP.has(partOf(target)) || target.endsWith(".test.ts"))
      .map(({ file, target }) => `${file} → ${target}`);
    expect(intoTests).toEqual([]);
  });

  test("no two folders import each other, directly or around a loop", () => {
    const graph = new Map<string, Set<string>>();
    for (const { file, target } of edges) {
      const from = folderOf(file);
      const to = folderOf(target);
      if (from === to) continue;
      if (!graph.has(from)) graph.set(from, new Set());
      graph.get(from)?.add(to);
    }
    const cycles: string[] = [];
    const state = new Map<string, "open" | "done">();
    const walk = (node: string, path: string[]) => {
      if (state.get(node) === "done") return;
      if (state.get(node) === "open") {
        cycles.push([...path.slice(path.indexOf(node)), node].join(" → "));
        return;
      }
      state.set(node, "open");
      for (const next of graph.get(node) ?? []) walk(next, [...path, node]);
      state.set(node, "done");
    };
    for (const node of graph.keys()) walk(node, []);
    expect(cycles).toEqual([]);
  });

  test("the check itself sees an upward arrow (a file of room imported by config would be caught)", () => {
    const fake = [{ file: "config/x.ts", target: "room/room.ts" }];
    const upward = fake.filter(({ file, target }) => (LAYER[partOf(file)] ?? -1) < (LAYER[partOf(target)] ?? 99));
    expect(upward).toHaveLength(1);
    expect(edges.length).toBeGreaterThan(100);
  });
});
