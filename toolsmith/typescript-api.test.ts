import { expect, test } from "bun:test";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import packageTs from "typescript";
import { bundledPackage } from "../generated-tools/bundled-package.ts";

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

test("the compiler comes from its bytecode bundle, and parses as the package's own file does", async () => {
  // The bundle is built once per version; a process whose build failed (or was cut short on a very busy machine) loads
  // the package's file instead, and keeps it. So the bundle is made here, and a fresh process shows which one it loads.
  const bundle = bundledPackage(dirname(Bun.resolveSync("typescript/package.json", import.meta.dir)), "lib/typescript.js");
  if (!bundle) throw new Error("bun could not build the compiler's bytecode bundle beside the installed packages");
  const child = Bun.spawn(
    [
      process.execPath,
      "-e",
      `const { ts } = await import(${JSON.stringify(join(import.meta.dir, "typescript-api.ts"))});` +
        `const own = require(${JSON.stringify(Bun.resolveSync("typescript", import.meta.dir))});` +
        "const bundled = Object.keys(require.cache).some((path) => path.includes('org-bundled'));" +
        "console.log(JSON.stringify({ second: ts !== own, version: ts.version === own.version, bundled }));",
    ],
    { cwd: import.meta.dir, stdin: "ignore", stdout: "pipe", stderr: "pipe" },
  );
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  expect({ exitCode, stderr }).toEqual({ exitCode: 0, stderr: "" });
  expect(JSON.parse(stdout)).toEqual({ second: true, version: true, bundled: true });
  const ts = createRequire(import.meta.url)(join(bundle.dir, "typescript.js")) as typeof packageTs;
  expect(ts).not.toBe(packageTs);
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
}, 180_000);
