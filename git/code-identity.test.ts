import { expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CodeIdentityError, codeIdentity } from "./code-identity.ts";

function checkout(): { dir: string } & Disposable {
  const dir = mkdtempSync(join(tmpdir(), "org-code-identity-"));
  mkdirSync(join(dir, "sandbox"));
  mkdirSync(join(dir, "tools", "generated", "echo"), { recursive: true });
  writeFileSync(join(dir, "sandbox", "run.ts"), "export const layers = 7;\n");
  writeFileSync(join(dir, "package-lock.json"), "{}\n");
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

test("code and configuration count, as on disk and tracked or not; generated tools, documents, dot-folders and node_modules do not", () => {
  using code = checkout();
  const first = codeIdentity(code.dir);
  expect(first).toMatch(/^[0-9a-f]{64}$/);
  for (const [file, text] of [
    ["tools/generated/echo/tool.ts", "export default () => 1;\n"],
    ["README.md", "words\n"],
    [".org/state.json", "{}\n"],
    ["node_modules/x/index.js", "module.exports = 1;\n"],
  ] as const) {
    mkdirSync(join(code.dir, file, ".."), { recursive: true });
    writeFileSync(join(code.dir, file), text);
  }
  expect(codeIdentity(code.dir)).toBe(first);
  for (const [file, text] of [
    ["sandbox/run.ts", "export const layers = 6;\n"],
    ["sandbox/new-layer.ts", "export {};\n"],
    ["bunfig.toml", "[test]\n"],
  ] as const) {
    writeFileSync(join(code.dir, file), text);
    expect(codeIdentity(code.dir)).not.toBe(first);
  }
});

test("a link is not followed, a file over 1 MiB is known by size and time, and past 20 000 files nothing is told", () => {
  using code = checkout();
  using elsewhere = checkout();
  const first = codeIdentity(code.dir);
  symlinkSync(elsewhere.dir, join(code.dir, "linked"));
  symlinkSync(join(elsewhere.dir, "sandbox", "run.ts"), join(code.dir, "sandbox", "linked.ts"));
  expect(codeIdentity(code.dir)).toBe(first);

  writeFileSync(join(code.dir, "big.json"), Buffer.alloc(2 * 1024 * 1024, 0x20));
  const withBig = codeIdentity(code.dir);
  expect(withBig).not.toBe(first);
  expect(codeIdentity(code.dir)).toBe(withBig);

  mkdirSync(join(code.dir, "many"));
  for (let index = 0; index < 20_001; index += 1) writeFileSync(join(code.dir, "many", `${index}.json`), "");
  expect(() => codeIdentity(code.dir)).toThrow(CodeIdentityError);
});
