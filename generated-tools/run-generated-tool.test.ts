import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runGeneratedTool } from "./run-generated-tool.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";

const root = mkdtempSync(join(tmpdir(), "org-generated-run-"));
chmodSync(root, 0o755); // the sandbox uid passes through it when org runs as root
afterAll(() => rmSync(root, { recursive: true, force: true }));

const inputSchema = { type: "object", properties: { text: { type: "string" } }, required: ["text"], additionalProperties: false };
const outputSchema = { type: "object", properties: { words: { type: "integer" } }, required: ["words"] };

function toolDir(name: string, code: string): string {
  const directory = join(root, name);
  mkdirSync(directory, { recursive: true });
  writeFileSync(join(directory, "tool.ts"), code);
  return directory;
}

const run = (directory: string, input: unknown, timeoutMs?: number) =>
  runGeneratedTool({ ...testSandboxAccess(), toolDir: directory, inputSchema, outputSchema, input, scratchDir: join(root, "scratch"), timeoutMs });

const WORDS = `export default (input: { text: string }) => ({ words: input.text.split(/\\s+/).filter(Boolean).length });\n`;

describe("the fixed runner of generated tools (real sandbox)", () => {
  test("runs the tool and returns its checked output", async () => {
    const result = await run(toolDir("words", WORDS), { text: "one two  three" });
    expect(result).toMatchObject({ ok: true, output: { words: 3 } });
  });

  test("input that does not match the input schema never reaches the tool", async () => {
    const result = await run(toolDir("words2", WORDS), { text: 5 });
    expect(result).toMatchObject({ ok: false, reason: "input" });
  });

  test("a call its caller cuts is cancelled, the caller's outcome, not the tool's", async () => {
    const controller = new AbortController();
    const slow = toolDir("slow", `export default async () => { await new Promise((done) => setTimeout(done, 2_000)); return { words: 1 }; };\n`);
    const pending = runGeneratedTool({
      ...testSandboxAccess(),
      toolDir: slow,
      inputSchema,
      outputSchema,
      input: { text: "x" },
      scratchDir: join(root, "scratch"),
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 200);
    expect(await pending).toMatchObject({ ok: false, reason: "cancelled" });
  }, 30_000);

  test("output that does not match the output schema is refused", async () => {
    const result = await run(toolDir("bad-output", `export default () => ({ words: "many" });\n`), { text: "x" });
    expect(result).toMatchObject({ ok: false, reason: "output" });
  });

  test("an endless loop ends as a timeout", async () => {
    const result = await run(toolDir("loop", `export default () => { for (;;) {} };\n`), { text: "x" }, 300);
    expect(result).toMatchObject({ ok: false, reason: "timeout" });
  }, 30_000);

  test("what the tool prints cannot pass for its result", async () => {
    const code = `export default () => { console.log("\\norg-result-0000000000000000\\n" + JSON.stringify({ ok: true, output: { words: 99 } })); return { words: 1 }; };\n`;
    const result = await run(toolDir("forger", code), { text: "x" });
    expect(result).toMatchObject({ ok: true, output: { words: 1 } });
  });

  // Issue 18 §5: tools written to disk directly, past the static policy, as an escape from it would be.
  const anyOutput = (directory: string) =>
    runGeneratedTool({
      ...testSandboxAccess(),
      toolDir: directory,
      inputSchema,
      outputSchema: { type: "object" },
      input: { text: "x" },
      scratchDir: join(root, "scratch"),
    });

  test("a tool past the policy finds every global it could reach the host with undefined, and compiles no string", async () => {
    const names = [
      "Bun",
      "process",
      "require",
      "module",
      "exports",
      "__dirname",
      "__filename",
      "fetch",
      "WebSocket",
      "XMLHttpRequest",
      "EventSource",
      "Worker",
      "SharedWorker",
      "ShadowRealm",
      "Function",
      "globalThis",
      "global",
      "self",
      "window",
      "navigator",
      "Reflect",
      "addEventListener",
      "postMessage",
      "prompt",
      "eval",
    ];
    const code = [
      'import { z } from "zod";',
      "export default () => {",
      "  const found: Record<string, string> = {};",
      ...names.map(
        (name) => `  try { found[${JSON.stringify(name)}] = typeof ${name}; } catch (error) { found[${JSON.stringify(name)}] = "threw"; }`,
      ),
      "  const compile = (make: () => unknown) => { try { make(); return 'compiled'; } catch { return 'refused'; } };",
      "  found.functionConstructor = compile(() => ((() => 0) as any).constructor('return 1'));",
      "  found.asyncConstructor = compile(() => ((async () => 0) as any).constructor('return 1'));",
      "  found.generatorConstructor = compile(() => ((function* () {}) as any).constructor('return 1'));",
      "  found.asyncGeneratorConstructor = compile(() => ((async function* () {}) as any).constructor('return 1'));",
      "  found.zodDoc = compile(() => new (z as any).core.Doc([]).compile());",
      "  found.zodStillParses = String(z.object({ a: z.number() }).parse({ a: 1 }).a);",
      "  return found;",
      "};",
    ].join("\n");
    const result = await anyOutput(toolDir("every-global", code));
    expect(result.ok).toBe(true);
    const expected = {
      ...Object.fromEntries(names.map((name) => [name, "undefined"])),
      ...Object.fromEntries(
        ["functionConstructor", "asyncConstructor", "generatorConstructor", "asyncGeneratorConstructor", "zodDoc"].map((name) => [name, "refused"]),
      ),
      zodStillParses: "1",
    };
    expect(result.ok ? result.output : result).toEqual(expected);
  });

  test("a tool past the policy cannot import anything but zod, nor use import.meta", async () => {
    const imports = await anyOutput(
      toolDir("imports-fs", `import { readFileSync } from "node:fs";\nexport default () => ({ text: readFileSync("/etc/passwd", "utf8") });\n`),
    );
    expect(imports).toMatchObject({ ok: false, reason: "tool", error: expect.stringContaining('tool.ts may import only zod, not "node:fs"') });
    const dynamic = await anyOutput(toolDir("imports-dynamic", `export default async () => ({ fs: typeof (await import("node:" + "fs")) });\n`));
    expect(dynamic).toMatchObject({ ok: false, error: expect.stringContaining("tool.ts may import only zod, not import()") });
    const meta = await anyOutput(toolDir("import-meta", `export default () => ({ path: import.meta.path, req: typeof import.meta.require });\n`));
    expect(meta).toMatchObject({ ok: false, error: expect.stringContaining("tool.ts may not use import.meta") });
  });

  test("zod still works for a tool once the globals are withheld", async () => {
    const code = `import { z } from "zod";\nconst Input = z.object({ text: z.string().min(1) });\nexport default (input: unknown) => ({ words: Input.parse(input).text.split(" ").length });\n`;
    const result = await run(toolDir("with-zod", code), { text: "one two" });
    expect(result).toMatchObject({ ok: true, output: { words: 2 } });
  });
});
