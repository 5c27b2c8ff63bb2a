// Every command a reader of the README's tour and of the guides types, and every line typed into a room in their
// sessions, is run by a walk (testing/doc-walks/, run by docs/*-walk.e2e.test.ts against the playground) or by the test
// ELSEWHERE names. A command added to a page fails here until a walk runs it; one a walk runs that a page no longer has
// fails too.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { commandsOf, docCommands, tourCommands } from "../testing/doc-commands.ts";
import { ELSEWHERE } from "../testing/doc-walk.ts";
import { ALL_WALKS } from "../testing/doc-walks/all-walks.ts";

const ROOT = join(import.meta.dir, "..");
const key = (doc: string, kind: string, text: string) => `${doc} ${kind === "typed" ? "›" : "$"} ${text}`;

/** What the walks and ELSEWHERE run, counted as the pages count them. */
function claimed(): Map<string, number> {
  const pages = docCommands();
  const typedOn = (doc: string) => new Set(pages.filter((entry) => entry.doc === doc && entry.kind === "typed").map((entry) => entry.text));
  const counts = new Map<string, number>();
  const add = (name: string) => counts.set(name, (counts.get(name) ?? 0) + 1);
  for (const walk of ALL_WALKS) {
    for (const step of walk.steps) {
      if (!step.repeats) add(key(step.doc, "command", step.command));
      for (const other of step.also ?? []) add(key(other.doc, "command", other.command));
      const typed = typedOn(step.doc);
      for (const line of step.typed ?? []) if (typed.has(line)) add(key(step.doc, "typed", line));
    }
  }
  for (const entry of ELSEWHERE) add(key(entry.doc, "command", entry.command));
  return counts;
}

describe("the docs' commands", () => {
  test("the pages are read as a reader types them: $ lines, room prompts, org lines of sh blocks, the README tour's commands", () => {
    expect(
      commandsOf("x.md", "```\n$ org tool list\nword_count  candidate\ngroup › @agent look around\n```\n```sh\norg init   # write it\nls\n```\n"),
    ).toEqual([
      { doc: "x.md", line: 2, kind: "command", text: "org tool list" },
      { doc: "x.md", line: 4, kind: "typed", text: "@agent look around" },
      { doc: "x.md", line: 7, kind: "command", text: "org init" },
    ]);
    const tour = tourCommands(
      "# org\n\n## A five-minute tour\n\n1. `npm start`, then `org.config.json` and `/diff`, `OLLAMA_MODEL=x org chat`.\n\n## Next\n`org doctor`\n",
    );
    expect(tour.map((entry) => entry.text)).toEqual(["npm start", "/diff", "OLLAMA_MODEL=x org chat"]);
  });

  test("every command and typed line of the README's tour and the guides is run by a walk, once for each time a page has it", () => {
    const pages = new Map<string, number>();
    const where = new Map<string, string>();
    for (const entry of docCommands()) {
      const name = key(entry.doc, entry.kind, entry.text);
      pages.set(name, (pages.get(name) ?? 0) + 1);
      where.set(name, `${entry.doc}:${entry.line}`);
    }
    const runs = claimed();
    const missing = [...pages].filter(([name, count]) => (runs.get(name) ?? 0) < count).map(([name]) => `${where.get(name)}: ${name}`);
    const stale = [...runs].filter(([name, count]) => count > (pages.get(name) ?? 0)).map(([name]) => name);
    expect({ notRun: missing, runButNotOnThePage: stale }).toEqual({ notRun: [], runButNotOnThePage: [] });
  });

  test("what ELSEWHERE leaves to other tests is run there", () => {
    for (const entry of ELSEWHERE) {
      const file = join(ROOT, entry.test);
      expect({ test: entry.test, exists: existsSync(file) }).toEqual({ test: entry.test, exists: true });
      expect({ test: entry.test, runs: readFileSync(file, "utf8").includes(entry.runs) }).toEqual({ test: entry.test, runs: true });
    }
  });
});
