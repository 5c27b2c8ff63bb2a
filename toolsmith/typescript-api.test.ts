import { expect, test } from "bun:test";
import packageTs from "typescript";
import { ts } from "./typescript-api.ts";

/** Every node's kind and span, depth first: what the static policy and the mutants read of a parse. */
function shape(api: typeof packageTs, code: string): string[] {
  const source = api.createSourceFile("tool.ts", code, api.ScriptTarget.Latest, true, api.ScriptKind.TS);
  const out: string[] = [];
  const visit = (node: packageTs.Node) => {
    out.push(`${api.SyntaxKind[node.kind]} ${node.getStart(source)}-${node.end}`);
    api.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

test("the compiler comes from its bytecode bundle, and parses as the package's own file does", () => {
  // A second copy of the compiler: the bundle, not the file `import "typescript"` loads.
  expect(ts).not.toBe(packageTs);
  expect(ts.version).toBe(packageTs.version);
  const code = [
    'import { z } from "zod";',
    "const Input = z.object({ text: z.string() });",
    "export default (input: unknown) => ({ words: Input.parse(input).text.split(/\\s+/).filter((w) => w !== '').length >= 0 ? 1 : 0 });",
    "class A<T> { #x = 1; get y(): T | undefined { return undefined; } }",
  ].join("\n");
  expect(shape(ts, code)).toEqual(shape(packageTs, code));
  expect(shape(ts, code).length).toBeGreaterThan(50);
  // What the policy reports of code that does not parse: the same diagnostics.
  const broken = "export default (input: { text: string }) => { return input.text.split( ;\n";
  const diagnostics = (api: typeof packageTs) =>
    (
      api.createSourceFile("tool.ts", broken, api.ScriptTarget.Latest, true, api.ScriptKind.TS) as unknown as {
        parseDiagnostics: packageTs.Diagnostic[];
      }
    ).parseDiagnostics.map(
      (diagnostic) => `${diagnostic.start} ${diagnostic.code} ${api.flattenDiagnosticMessageText(diagnostic.messageText, "\n")}`,
    );
  expect(diagnostics(ts)).toEqual(diagnostics(packageTs));
  expect(diagnostics(ts).length).toBeGreaterThan(0);
});
