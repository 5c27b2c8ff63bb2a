import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import ts from "typescript";
import { importsOf } from "../testing/module-imports.ts";
import { openUpdates } from "../testing/view-updates-stream.ts";
import { publishWorkspaceEvent } from "../workspace-events/event-journal.ts";
import { ViewUpdates } from "./view-updates.ts";

// Issue 78, item 3: the web server learns what changed from the workspace's event stream (web/view-updates.ts, and the
// follower it imports from workspace-events/), not from a timer that re-reads files. A timer in that code must be named
// here, by its file and the function that starts it, with its reason.
const ALLOWED: Record<string, string> = {
  "workspace-events/journal-watch.ts #looking":
    "the look that stands in for a watch, started only where none could be set up, one failed, or the filesystem's " +
    "watch misses writes; the last case here shows that none starts while the watches hold",
};
// Timers the running web server starts while a page listens for updates and events come, by the file that starts them.
const RUNNING: Record<string, string> = {
  "serve/sse-stream.ts": "the stream's keep-alive comment every 15 s: it writes to the page and reads nothing",
};

const root = join(import.meta.dir, "..");
const base = mkdtempSync(join(tmpdir(), "org-server-timers-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));

const TIMERS = new Set(["setInterval", "setTimeout"]);

/** The name of the function, method or arrow bound to a name that holds `node`; `(top level)` outside any. */
function enclosingFunction(node: ts.Node): string {
  for (let at = node.parent; at !== undefined; at = at.parent) {
    if ((ts.isFunctionDeclaration(at) || ts.isMethodDeclaration(at) || ts.isFunctionExpression(at)) && at.name) return at.name.getText();
    if (ts.isConstructorDeclaration(at)) return "constructor";
    if ((ts.isArrowFunction(at) || ts.isFunctionExpression(at)) && ts.isVariableDeclaration(at.parent)) return at.parent.name.getText();
  }
  return "(top level)";
}

/** The timers `source` starts: `setInterval(…)` or `setTimeout(…)`, bare or on `globalThis`, by line and enclosing function. */
export function timersIn(file: string, source: string): string[] {
  const found: string[] = [];
  const sourceFile = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true);
  const visit = (node: ts.Node) => {
    if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const name = ts.isIdentifier(callee) ? callee.text : ts.isPropertyAccessExpression(callee) ? callee.name.text : undefined;
      if (name && TIMERS.has(name)) {
        const line = sourceFile.getLineAndCharacterOfPosition(node.getStart()).line + 1;
        found.push(`${file}:${line} ${name} in ${enclosingFunction(node)}`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  return found;
}

/** web/'s server code and what it imports, directly or not, from workspace-events/ (the follower and its parts). */
function serverFiles(): string[] {
  const files = new Set(
    readdirSync(import.meta.dir)
      .filter((name) => name.endsWith(".ts") && !name.endsWith(".test.ts"))
      .map((name) => `web/${name}`),
  );
  for (const file of files) {
    for (const target of importsOf(file, root)) if (target.startsWith("workspace-events/") && target.endsWith(".ts")) files.add(target);
  }
  return [...files];
}

test("finds a timer it looks for, with the function that starts it, and not a word in a comment or a string", () => {
  const planted = [
    "// setInterval(look, 1000) was how the views were told",
    'const said = "setTimeout(x)";',
    "export function watch(look: () => void) { const timer = setInterval(look, 1_000); globalThis.setTimeout(look, 5); return timer; }",
    "class Watch { #look() { return setInterval(() => {}, 5); } }",
    "const later = () => setTimeout(() => {}, 5);",
  ].join("\n");
  expect(timersIn("web/planted.ts", planted)).toEqual([
    "web/planted.ts:3 setInterval in watch",
    "web/planted.ts:3 setTimeout in watch",
    "web/planted.ts:4 setInterval in #look",
    "web/planted.ts:5 setTimeout in later",
  ]);
});

test("the web server's code and its event follower start no timer but those allowed with a reason", () => {
  const files = serverFiles();
  expect(files).toContain("web/view-updates.ts");
  expect(files).toContain("workspace-events/follow-workspace-events.ts");
  const timers = files.flatMap((file) => timersIn(file, readFileSync(join(root, file), "utf8")));
  const unnamed = timers.filter((timer) => !Object.hasOwn(ALLOWED, `${timer.split(":")[0]} ${timer.split(" in ")[1]}`));
  expect(unnamed).toEqual([]);
});

/** The file of this checkout's production code that made the call whose stack this is; undefined for none. */
function productionCaller(stack: string): string | undefined {
  for (const match of stack.matchAll(/\(?(\/[^\s()]+\.tsx?):\d+:\d+\)?/g)) {
    const file = relative(root, match[1] ?? "");
    if (file.startsWith("..") || file.includes("node_modules") || file.startsWith("testing/") || file.endsWith(".test.ts")) continue;
    return file;
  }
  return undefined;
}

test("while a page listens and events come, the web server starts no timer that reads files", async () => {
  const started: string[] = [];
  const { setInterval: interval, setTimeout: timeout } = globalThis;
  const recorded = <F>(start: F): F => {
    const call = start as (...args: unknown[]) => unknown;
    return ((...args: unknown[]) => {
      const caller = productionCaller(new Error().stack ?? "");
      if (caller !== undefined) started.push(caller);
      return call(...args);
    }) as unknown as F;
  };
  globalThis.setInterval = recorded(interval);
  globalThis.setTimeout = recorded(timeout);
  const workspaceDir = mkdtempSync(join(base, "w"));
  const checkoutDir = mkdtempSync(join(base, "c"));
  const updates = new ViewUpdates({ workspaceDir, checkoutDir, maxStreams: 2 });
  try {
    const page = await openUpdates(updates);
    const frameNaming = async (view: string) => {
      while (!(await page.view()).startsWith(`${view} `));
    };
    // A workspace with no .org yet, and a checkout's journal: both heard, as they are written.
    publishWorkspaceEvent(workspaceDir, { type: "proposals-changed" });
    await frameNaming("growth");
    publishWorkspaceEvent(checkoutDir, { type: "gate-finished", branch: "cand/20261129T120000Z", verdict: "pass" });
    await frameNaming("candidates");
    await page.close();
  } finally {
    globalThis.setInterval = interval;
    globalThis.setTimeout = timeout;
    updates.close();
  }
  // The keep-alive is seen, so a timer the follower started would be too; none but those named with a reason.
  expect(started).toContain("serve/sse-stream.ts");
  expect(started.filter((file) => !Object.hasOwn(RUNNING, file))).toEqual([]);
});
