import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { productionFiles } from "./production-files.ts";

// docs/ARCHITECTURE.md: only cycle/ moves main. The operations that move main, its promotion tags or the checkout's
// files are git/'s typed writes (the ref transaction, the checkout's files brought to a tree, the revert's merge) and
// cycle/'s steps over them (the journaled ref change, the promotion merge, the rollback's plan and run, the recovery
// of an interrupted run). Every other part reaches them through cycle/'s front doors, `promote`, `rollback` and
// `recoverInterrupted`, with a context from `promotionContext`. Tests and the fixtures of testing/ and bench/ are left
// out, as the git owner's check leaves them out.

const REPO = join(import.meta.dir, "..");
const NOT_PRODUCTION = new Set(["testing", "bench", "ops", "demo", "docs", "node_modules", ".org", ".git", ".ci"]);
const OWNERS = ["cycle/", "git/"];

/** The ref-moving operations, by the module that exports them. */
export const REF_MOVERS: Record<string, readonly string[]> = {
  // `update-ref --stdin`: main and a promote/ or rollback/ tag in one transaction.
  "git/ref-transaction.ts": ["moveMainAndTag"],
  // The checkout's index and files brought to main's new tree; the revert's three-way merge.
  "git/checkout-files.ts": ["moveCheckoutFiles", "resetCheckoutFiles", "mergeTreeOnBase"],
  // The journaled steps: the transaction, the baseline, the checkout, current.
  "cycle/ref-change.ts": ["applyRefChange"],
  // The promotion merge, with the verdict handed in.
  "cycle/promote-verdict.ts": ["promoteVerdict"],
  // The revert of a promotion, planned and run, and the finishing of an interrupted run without its lock.
  "cycle/rollback.ts": ["planRollback", "runRollback", "finishInterrupted"],
};
const MOVER_NAMES = new Set(Object.values(REF_MOVERS).flat());
const MOVER_MODULES = Object.keys(REF_MOVERS).map((module) => module.replace(/\.ts$/, ""));

const names = (file: string, node: ts.Node, parsed: ts.SourceFile) => `${file}:${parsed.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
const moduleOf = (specifier: string) => MOVER_MODULES.find((module) => specifier.replace(/\.ts$/, "").endsWith(module));

/**
 * Whether `source` could reach one at all: a name or a module's file name in its text, or a backslash that could spell
 * one of their characters (a `\u` escape in a name; in a specifier any escape but of a quote, a backslash or a control
 * character). Only those files are parsed: a third of them, not every file a second time over.
 */
const MAY_NAME_A_MOVER = new RegExp(
  [...MOVER_NAMES, ...MOVER_MODULES.map((module) => module.slice(module.lastIndexOf("/") + 1)), "\\\\(?![bfnrtv\\\\'\"`$])"].join("|"),
);

/** Where `source` reaches a ref-moving operation: a value import of one, a lazy import of its module, a call by its name. */
export function refMoverUses(file: string, source: string): string[] {
  if (!MAY_NAME_A_MOVER.test(source)) return [];
  const parsed = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier) && moduleOf(node.moduleSpecifier.text)) {
      const clause = node.importClause;
      const bindings = clause?.namedBindings;
      if (clause && !clause.isTypeOnly && bindings && ts.isNamedImports(bindings)) {
        for (const element of bindings.elements) {
          const imported = (element.propertyName ?? element.name).text;
          if (!element.isTypeOnly && MOVER_NAMES.has(imported)) found.push(`${names(file, element, parsed)}: imports ${imported}`);
        }
      }
      if (clause && !clause.isTypeOnly && bindings && ts.isNamespaceImport(bindings)) found.push(`${names(file, node, parsed)}: imports * as`);
    }
    if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const [first] = node.arguments;
      if (callee.kind === ts.SyntaxKind.ImportKeyword && first && ts.isStringLiteralLike(first) && moduleOf(first.text))
        found.push(`${names(file, node, parsed)}: import("${first.text}")`);
      const name = ts.isIdentifier(callee) ? callee.text : ts.isPropertyAccessExpression(callee) ? callee.name.text : undefined;
      if (name !== undefined && MOVER_NAMES.has(name)) found.push(`${names(file, node, parsed)}: calls ${name}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(parsed);
  return found;
}

describe("only cycle/ moves refs (docs/ARCHITECTURE.md)", () => {
  const files = productionFiles(NOT_PRODUCTION);

  test("every ref-moving operation is exported where the table says", () => {
    for (const [module, exported] of Object.entries(REF_MOVERS)) {
      const source = readFileSync(join(REPO, module), "utf8");
      for (const name of exported) {
        const found = source.includes(`export async function ${name}(`);
        expect({ module, name, found }).toEqual({ module, name, found: true });
      }
    }
  });

  test("no production file outside cycle/ and git/ imports or calls one: the front ends call cycle/'s promote and rollback", () => {
    const outside = files.filter((file) => !OWNERS.some((owner) => file.startsWith(owner)));
    expect(outside.length).toBeGreaterThan(300);
    expect(outside.flatMap((file) => refMoverUses(file, readFileSync(join(REPO, file), "utf8")))).toEqual([]);
  });

  test("the check fails on a planted import, a lazy import and a call; a type import and cycle/'s own use pass", () => {
    const planted = [
      `import { moveMainAndTag } from "../git/ref-transaction.ts";`,
      `import { applyRefChange as apply } from "../cycle/ref-change.ts";`,
      `const lazy = await import("../../git/checkout-files.ts");`,
      `await lazy.resetCheckoutFiles(git, main);`,
      `import * as rollbacks from "../cycle/rollback.ts";`,
    ].join("\n");
    expect(refMoverUses("web/x.ts", planted).map((line) => line.split(": ")[1])).toEqual([
      "imports moveMainAndTag",
      "imports applyRefChange",
      'import("../../git/checkout-files.ts")',
      "calls resetCheckoutFiles",
      "imports * as",
    ]);
    const allowed = [
      `import type { RefChangeContext } from "../cycle/ref-change.ts";`,
      `import { type CurrentInstance, PromotionRefusedError } from "../cycle/ref-change.ts";`,
      `import { rollback, recoverInterrupted } from "../cycle/rollback.ts";`,
      `await rollback(context, { restart: false, target: { newest: true } });`,
    ].join("\n");
    expect(refMoverUses("web/y.ts", allowed)).toEqual([]);
    // Spelt through escapes, each alone in its file, so that no name in plain text is what has it parsed.
    const escaped = [
      "await \\u006doveMainAndTag(git, main);",
      `const lazy = await import("../../git/ref\\x2dtransaction.ts");`,
      `import * as r from "../cycle/rollbac\\k.ts";`,
      `const lazy = await import("../../git/checkout-fi\\\nles.ts");`,
    ];
    expect(escaped.map((source) => refMoverUses("web/z.ts", source).map((line) => line.split(": ")[1]))).toEqual([
      ["calls moveMainAndTag"],
      ['import("../../git/ref-transaction.ts")'],
      ["imports * as"],
      ['import("../../git/checkout-files.ts")'],
    ]);
    expect(refMoverUses("cycle/rollback.ts", readFileSync(join(REPO, "cycle", "rollback.ts"), "utf8")).length).toBeGreaterThan(0);
  });
});
