import { expect, test } from "bun:test";
import { linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CodeIdentityError, codeIdentity } from "./code-identity.ts";

function checkout(): { dir: string } & Disposable {
  const dir = mkdtempSync(join(tmpdir(), "org-code-identity-"));
  mkdirSync(join(dir, "sandbox"));
  mkdirSync(join(dir, "tools", "generated", "echo"), { recursive: true });
  writeFileSync(join(dir, "sandbox", "run.ts"), "export const layers = 7;\n");
  writeFileSync(join(dir, "package.json"), '{ "name": "org" }\n');
  writeFileSync(join(dir, "package-lock.json"), "{}\n");
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

test("code, configuration and the installed tree count, as on disk and tracked or not; generated tools, documents and dot-folders do not", () => {
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
  let last = first;
  for (const [file, text] of [
    ["sandbox/run.ts", "export const layers = 6;\n"],
    ["sandbox/new-layer.ts", "export {};\n"],
    ["bunfig.toml", "[test]\n"],
    // npm's record of what it installed: another zod or compiler under node_modules.
    ["node_modules/.package-lock.json", '{ "packages": { "node_modules/zod": { "version": "4.0.0" } } }\n'],
  ] as const) {
    writeFileSync(join(code.dir, file), text);
    const now = codeIdentity(code.dir);
    expect(now).not.toBe(last);
    last = now;
  }
});

test("a link, a flood of entries, no package.json: nothing is told; a file over 1 MiB is known by size and time", () => {
  using code = checkout();
  using elsewhere = checkout();
  const first = codeIdentity(code.dir);
  writeFileSync(join(code.dir, "big.json"), Buffer.alloc(2 * 1024 * 1024, 0x20));
  const withBig = codeIdentity(code.dir);
  expect(withBig).not.toBe(first);
  expect(codeIdentity(code.dir)).toBe(withBig);

  // bun would follow a link to code the hash never read.
  symlinkSync(join(elsewhere.dir, "sandbox", "run.ts"), join(code.dir, "sandbox", "linked.ts"));
  expect(() => codeIdentity(code.dir)).toThrow(CodeIdentityError);
  rmSync(join(code.dir, "sandbox", "linked.ts"));
  symlinkSync(elsewhere.dir, join(code.dir, "linked-folder"));
  expect(() => codeIdentity(code.dir)).toThrow(CodeIdentityError);
  rmSync(join(code.dir, "linked-folder"));

  rmSync(join(code.dir, "package.json"));
  expect(() => codeIdentity(code.dir)).toThrow(CodeIdentityError);
  writeFileSync(join(code.dir, "package.json"), '{ "name": "org" }\n');

  // Entries of any kind count; links to one file make a flood without a new inode each.
  mkdirSync(join(code.dir, "many"));
  writeFileSync(join(code.dir, "many", "0"), "");
  for (let index = 1; index < 20_001; index += 1) linkSync(join(code.dir, "many", "0"), join(code.dir, "many", String(index)));
  expect(() => codeIdentity(code.dir)).toThrow(CodeIdentityError);
});

test("with unchangedSince, code newer than that time is refused: it is not the code that ran", () => {
  using code = checkout();
  const hourAgo = new Date(Date.now() - 3_600_000);
  for (const file of ["sandbox/run.ts", "package.json", "package-lock.json"]) utimesSync(join(code.dir, file), hourAgo, hourAgo);
  const since = Date.now() - 60_000;
  expect(codeIdentity(code.dir, { unchangedSince: since })).toBe(codeIdentity(code.dir));
  writeFileSync(join(code.dir, "sandbox", "run.ts"), "export const layers = 8;\n");
  expect(() => codeIdentity(code.dir, { unchangedSince: since })).toThrow(CodeIdentityError);
});
