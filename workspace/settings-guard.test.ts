import { afterAll, expect, test } from "bun:test";
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { SETTINGS_PATHS } from "../config/workspace-paths.ts";
import { checkChangeSet } from "./check-change-set.ts";
import { restoreSettings, snapshotSettings } from "./settings-guard.ts";

const base = mkdtempSync(join(tmpdir(), "org-settings-guard-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));

test("what configures org, changed, added or removed by a call, is put back byte for byte; the rest of the workspace is left as the call made it", () => {
  const workspace = join(base, "w1");
  mkdirSync(join(workspace, "workflows"), { recursive: true });
  mkdirSync(join(workspace, "tools", "generated", "slugify"), { recursive: true });
  mkdirSync(join(workspace, "src"));
  writeFileSync(join(workspace, "org.config.json"), '{"sandbox":{"workspace":"read"}}\n');
  writeFileSync(join(workspace, "bunfig.toml"), "[test]\n");
  writeFileSync(join(workspace, "workflows", "lines.json"), '{"steps":[]}\n');
  writeFileSync(join(workspace, "tools", "generated", "slugify", "tool.ts"), "export default 1;\n");
  writeFileSync(join(workspace, "run.sh"), "echo hi\n", { mode: 0o755 });
  chmodSync(join(workspace, "tools", "generated", "slugify", "tool.ts"), 0o644);
  const before = snapshotSettings(workspace);

  // What a model could make a host-side server do.
  writeFileSync(join(workspace, "org.config.json"), '{"sandbox":{"workspace":"write","workspaceWrite":"allow"}}\n');
  writeFileSync(join(workspace, ".env.local"), "ORG_SANDBOX=off\n");
  unlinkSync(join(workspace, "bunfig.toml"));
  unlinkSync(join(workspace, "workflows", "lines.json"));
  symlinkSync("/etc/passwd", join(workspace, "workflows", "planted.json"));
  unlinkSync(join(workspace, "tools", "generated", "slugify", "tool.ts"));
  symlinkSync("/etc/passwd", join(workspace, "tools", "generated", "slugify", "tool.ts"));
  writeFileSync(join(workspace, "src", "main.ts"), "the user's own work\n");

  const { changed, unrestored } = restoreSettings(workspace, before);
  expect(changed).toEqual([
    ".env.local",
    "bunfig.toml",
    "org.config.json",
    "tools/generated/slugify/tool.ts",
    "workflows/lines.json",
    "workflows/planted.json",
  ]);
  expect(unrestored).toEqual([]);
  expect(readFileSync(join(workspace, "org.config.json"), "utf8")).toBe('{"sandbox":{"workspace":"read"}}\n');
  expect(readFileSync(join(workspace, "bunfig.toml"), "utf8")).toBe("[test]\n");
  expect(readFileSync(join(workspace, "workflows", "lines.json"), "utf8")).toBe('{"steps":[]}\n');
  expect(lstatSync(join(workspace, "tools", "generated", "slugify", "tool.ts")).isFile()).toBe(true);
  expect(readFileSync(join(workspace, "tools", "generated", "slugify", "tool.ts"), "utf8")).toBe("export default 1;\n");
  expect(existsSync(join(workspace, ".env.local"))).toBe(false);
  expect(existsSync(join(workspace, "workflows", "planted.json"))).toBe(false);
  expect(readFileSync("/etc/passwd", "utf8")).not.toContain("export default 1;");
  // Not org's: kept as the call left it.
  expect(readFileSync(join(workspace, "src", "main.ts"), "utf8")).toBe("the user's own work\n");
  expect(statSync(join(workspace, "run.sh")).mode & 0o777).toBe(0o755);
  // Nothing changed since: nothing to put back.
  expect(restoreSettings(workspace, snapshotSettings(workspace))).toEqual({ changed: [], unrestored: [] });
});

test("a workspace with none of those files snapshots to nothing, and a call that leaves them alone changes nothing", () => {
  const workspace = join(base, "w2");
  mkdirSync(workspace);
  const before = snapshotSettings(workspace);
  expect(before.size).toBe(0);
  writeFileSync(join(workspace, "notes.txt"), "hello\n");
  expect(restoreSettings(workspace, before)).toEqual({ changed: [], unrestored: [] });
  expect(readFileSync(join(workspace, "notes.txt"), "utf8")).toBe("hello\n");
});

test("names a case-insensitive file system takes for org's settings (.ENV, Bunfig.toml, ORG.CONFIG.JSON) are guarded as theirs", () => {
  const workspace = join(base, "w3");
  mkdirSync(workspace);
  const before = snapshotSettings(workspace);
  for (const name of [".ENV", "Bunfig.toml", "ORG.CONFIG.JSON", ".NPMRC", "Notes.md"]) writeFileSync(join(workspace, name), "planted\n");
  expect(restoreSettings(workspace, before)).toEqual({ changed: [".ENV", ".NPMRC", "Bunfig.toml", "ORG.CONFIG.JSON"], unrestored: [] });
  expect(existsSync(join(workspace, ".ENV"))).toBe(false);
  expect(existsSync(join(workspace, "Notes.md"))).toBe(true);
});

test("a call that makes tools/ or workflows/ a link has the link removed and the folders' files put back", () => {
  const workspace = join(base, "w4");
  mkdirSync(join(workspace, "workflows"), { recursive: true });
  mkdirSync(join(workspace, "tools", "generated", "slugify"), { recursive: true });
  writeFileSync(join(workspace, "workflows", "lines.json"), '{"steps":[]}\n');
  writeFileSync(join(workspace, "tools", "generated", "slugify", "tool.ts"), "export default 1;\n");
  const before = snapshotSettings(workspace);

  // The folders moved aside and links put where they were, to folders of the call's own.
  for (const [folder, planted] of [
    ["workflows", "pwn.json"],
    ["tools", "generated/pwn_tool/tool.ts"],
  ] as const) {
    rmSync(join(workspace, folder), { recursive: true });
    mkdirSync(join(workspace, `${folder}-x`, planted, ".."), { recursive: true });
    writeFileSync(join(workspace, `${folder}-x`, planted), "planted\n");
    symlinkSync(`${folder}-x`, join(workspace, folder));
  }

  const { changed, unrestored } = restoreSettings(workspace, before);
  expect(changed).toEqual(["tools", "tools/generated/slugify/tool.ts", "workflows", "workflows/lines.json"]);
  expect(unrestored).toEqual([]);
  expect(lstatSync(join(workspace, "tools")).isDirectory()).toBe(true);
  expect(lstatSync(join(workspace, "workflows")).isDirectory()).toBe(true);
  expect(readFileSync(join(workspace, "tools", "generated", "slugify", "tool.ts"), "utf8")).toBe("export default 1;\n");
  expect(readFileSync(join(workspace, "workflows", "lines.json"), "utf8")).toBe('{"steps":[]}\n');
  expect(existsSync(join(workspace, "tools", "generated", "pwn_tool"))).toBe(false);
});

// A name of one to eight letters, digits, '.', '_' or '-', never '.' or '..' alone.
const name = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,7}$/);
/** A path a settings pattern matches: each `*` some characters, `**` some folders; a bare name at the top. */
const settingsPath = fc.constantFrom(...SETTINGS_PATHS).chain((pattern) =>
  fc.tuple(fc.array(name, { maxLength: 7 }), fc.array(name, { minLength: 1, maxLength: 2 })).map(([fills, folders]) => {
    let fill = 0;
    const parts = pattern.split("/").flatMap((part) => (part === "**" ? [...folders, "tool.ts"] : [part.replace(/\*/g, () => fills[fill++] ?? "")]));
    return { pattern, path: parts.join("/") };
  }),
);

test("one list of settings paths: every one is a protected path, in any folder and any case, and guarded where org reads it (property)", () => {
  let run = 0;
  fc.assert(
    fc.property(settingsPath, fc.array(name, { maxLength: 2 }), ({ pattern, path }, folders) => {
      const refused = (candidate: string) =>
        !checkChangeSet({
          changes: [{ path: candidate, status: "added", after: { type: "file", mode: 0o644, size: 1, content: new Uint8Array([1]) } }],
        }).ok;
      expect({ path, refused: refused(path), upper: refused(path.toUpperCase()) }).toEqual({ path, refused: true, upper: true });
      if (!pattern.includes("/")) expect({ path, nested: refused([...folders, path].join("/")) }).toEqual({ path, nested: true });
      const workspace = join(base, `p${run++}`);
      mkdirSync(workspace);
      const before = snapshotSettings(workspace);
      mkdirSync(join(workspace, path, ".."), { recursive: true });
      writeFileSync(join(workspace, path), "planted\n");
      expect(restoreSettings(workspace, before)).toEqual({ changed: [path], unrestored: [] });
      expect(existsSync(join(workspace, path))).toBe(false);
    }),
    { numRuns: 120 },
  );
});
