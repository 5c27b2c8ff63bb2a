import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runGeneratedTool } from "./run-generated-tool.ts";

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
  runGeneratedTool({ toolDir: directory, inputSchema, outputSchema, input, scratchDir: join(root, "scratch"), timeoutMs });

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

  test("a tool reaching for the network, the environment or host files by a trick gets nothing", async () => {
    const code = [
      "export default async () => {",
      "  const g = globalThis as any; const p = g['pro' + 'cess'];",
      "  const env = Object.keys(p.env).filter((k) => !['PATH','LANG','HOME','TMPDIR','BUN_RUNTIME_TRANSPILER_CACHE_PATH','DO_NOT_TRACK','NO_COLOR','PWD'].includes(k));",
      "  let net = 'blocked'; try { await g['fe' + 'tch']('http://1.1.1.1/', { signal: AbortSignal.timeout(2000) }); net = 'reached'; } catch {}",
      "  let host = 'hidden'; try { g['B' + 'un'].file('/etc/shadow'); if (await g['B' + 'un'].file('/root/.bashrc').exists()) host = 'seen'; } catch {}",
      "  return { words: env.length + (net === 'reached' ? 100 : 0) + (host === 'seen' ? 1000 : 0) };",
      "};",
    ].join("\n");
    const result = await run(toolDir("trick", code), { text: "x" });
    expect(result).toMatchObject({ ok: true, output: { words: 0 } });
  });
});
