import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { productionFiles } from "../docs/lint-figures.ts";

// Every production error class a person can read extends OrgError (errors/org-error.ts). The rest are signals a
// caller catches and turns into its own words, a retry or a repair; each is named here with why it never reaches a
// person as it stands.
const INTERNAL_SIGNALS: ReadonlyMap<string, string> = new Map([
  ["ChunkedBodyError", "a chunked body's framing broke; llm/ rethrows it as a ChatError"],
  ["ResponseHeadError", "a response head that does not parse; llm/ rethrows it as a ChatError"],
  ["SourceChangedError", "a file shrank while it was archived; the backup takes it again"],
  ["JsonSyntaxError", "a position in JSON text; config/ and the workflow reader put it into their own error"],
  ["CodeIdentityError", "the checkout cannot be hashed; the caller trusts no record and says so"],
  ["GitCommandError", "git failed unexpectedly: a bug shown with its stack; git/ turns the expected failures into OrgErrors"],
  ["BudgetReachedError", "the abort reason of grow's token budget; grow reports the budget it reached"],
  ["ForeignMemoryError", "not org's memory database; it is moved aside and made anew"],
  ["ForeignDatabaseError", "not org's registry database; it is moved aside and made anew"],
  ["ForeignStateError", "not the supervisor's state; it is moved aside and made anew"],
  ["NoUsableCallError", "the model gave no usable call; each caller says what that stage could not do"],
  ["PhaseFailedError", "a toolsmith phase ended with no usable call; the run's result says it"],
  ["Refusal", "the egress guard's refusal; it becomes the HTTP answer the sandboxed program gets and an audit line"],
  ["StaleMountsError", "the sandbox's mounts changed as it started; the caller makes them again and runs again"],
  ["ActionTimeoutError", "a browser action's clock ran out; the tool's result says what the page shows so far"],
  ["BrowserStoppedError", "the turn was stopped while the browser worked; the tool ends quietly"],
  ["PageUnresponsiveError", "the page stopped answering; the tool kills the browser and says so"],
  ["TreeTooLargeError", "the workspace is too large to scan; callers fall back or say what to set"],
  ["UndeclaredRoutesError", "serve's routes disagree with their declaration: a bug in org, shown with its stack"],
  ["ChatRequestError", "serve's OpenAI-compatible error body; its `code` is that API's field, answered, never thrown out"],
]);

type ErrorClass = { file: string; base: string; body: string };

/** The classes declared in `sources`, by name: where, what they extend, their body. */
function classesOf(sources: ReadonlyMap<string, string>): Map<string, ErrorClass> {
  const classes = new Map<string, ErrorClass>();
  for (const [file, text] of sources) {
    for (const match of text.matchAll(/\bclass\s+(\w+)\s+extends\s+(\w+)\b[^{]*\{([\s\S]*?)\n\}/g)) {
      const [, name = "", base = "", body = ""] = match;
      classes.set(name, { file, base, body });
    }
  }
  return classes;
}

function ancestry(classes: ReadonlyMap<string, ErrorClass>, name: string): string[] {
  const seen: string[] = [];
  for (let at: string | undefined = name; at !== undefined && !seen.includes(at); at = classes.get(at)?.base) seen.push(at);
  return seen;
}

/**
 * Error classes (their chain reaches `Error`) that neither reach `OrgError` nor are named in `internal`, and classes on
 * `OrgError` that do not name themselves (`override name = "…"`: their code comes from it), as `file: Class`.
 */
function offTheBase(sources: ReadonlyMap<string, string>, internal: ReadonlyMap<string, string>): string[] {
  const classes = classesOf(sources);
  const problems: string[] = [];
  for (const [name, { file, body }] of classes) {
    const chain = ancestry(classes, name);
    if (!(chain.includes("Error") || chain.includes("OrgError")) || name === "OrgError") continue;
    if (!chain.includes("OrgError")) {
      if (!internal.has(name)) problems.push(`${file}: ${name}`);
    } else if (!body.includes(`name = "${name}"`)) problems.push(`${file}: ${name} does not name itself`);
  }
  return problems.sort();
}

test("finds an error class off the base, through a subclass, or on it without a name; passes the rest", () => {
  const named = (name: string, base: string) => `export class ${name} extends ${base} {\n  override name = "${name}";\n}`;
  const sources = new Map([
    ["a.ts", [named("PlainError", "Error"), named("Deeper", "PlainError"), "class Widget extends Base {\n}"].join("\n")],
    [
      "b.ts",
      [named("ReadError", "OrgError"), named("Fine", "ReadError"), "class Nameless extends ReadError {\n}", named("Signal", "Error")].join("\n"),
    ],
  ]);
  expect(offTheBase(sources, new Map([["Signal", "caught"]]))).toEqual(["a.ts: Deeper", "a.ts: PlainError", "b.ts: Nameless does not name itself"]);
});

test("every production error class extends OrgError, naming itself, or is an internal signal named with its reason", () => {
  const repo = join(import.meta.dir, "..");
  const sources = new Map(productionFiles(repo).map((file) => [file, readFileSync(join(repo, file), "utf8")]));
  expect(offTheBase(sources, INTERNAL_SIGNALS)).toEqual([]);
  // The list names classes that exist, each still off the base: a class moved onto OrgError leaves it.
  const all = [...sources.values()].join("\n");
  const stale = [...INTERNAL_SIGNALS.keys()].filter((name) => !new RegExp(`\\bclass ${name} extends Error\\b`).test(all));
  expect(stale).toEqual([]);
});
