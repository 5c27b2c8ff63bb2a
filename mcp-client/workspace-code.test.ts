import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stdioServer } from "../testing/mcp-hub-start.ts";
import { checkChangeSet } from "../workspace/check-change-set.ts";
import { launchPlan, mcpExecutedPaths } from "./launch-files.ts";
import { codeReach, coveredFiles, isCodeFile } from "./workspace-code.ts";

const base = mkdtempSync(join(tmpdir(), "org-workspace-code-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));

function workspace(name: string, files: Record<string, string>): string {
  const dir = join(base, name);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

const stdio = stdioServer;

test("code by its name: code extensions in any case, files that steer loading, names without an extension; not data", () => {
  for (const path of [
    "lib/util.mjs",
    "a/b/c.CJS",
    "x.ts",
    "pkg/mod.py",
    "pkg/__pycache__/mod.cpython-311.pyc",
    "site.pth",
    "scripts/env.sh",
    "native.node",
    "package.json",
    "sub/tsconfig.build.json",
    ".python-version",
    ".tool-versions",
    "bin/serve",
    "config/settings",
    ".bashrc",
    "Makefile",
  ])
    expect([path, isCodeFile(path)]).toEqual([path, true]);
  for (const path of [
    "README.md",
    "docs/usage.txt",
    "data/rows.csv",
    "conf/settings.conf",
    "logo.png",
    "notes.md",
    "data.json",
    "lock.yaml",
    ".gitignore",
    "a/.DS_Store",
  ])
    expect([path, isCodeFile(path)]).toEqual([path, false]);
});

test("what a server's start reaches: the whole workspace's code from a script there, only node_modules' from a package run there, nothing from elsewhere", () => {
  const dir = workspace("reach", {
    "srv/server.mjs": "",
    "server.mjs": "",
    "node_modules/pkg/index.js": "",
    "node_modules/.bin/pkg": "",
  });
  expect(codeReach(dir, [{ path: join(dir, "srv/server.mjs"), folder: false }])).toEqual({
    workspace: dir,
    codeUnder: [dir],
    roots: [join(dir, "srv")],
    from: "srv/server.mjs",
  });
  // A top-level script's folder is the workspace: its code, not every file of it.
  expect(codeReach(dir, [{ path: join(dir, "server.mjs"), folder: false }])).toEqual({
    workspace: dir,
    codeUnder: [dir],
    roots: [],
    from: "server.mjs",
  });
  expect(codeReach(dir, [{ path: join(dir, "node_modules/pkg"), folder: true }])).toEqual({
    workspace: dir,
    codeUnder: [join(dir, "node_modules")],
    roots: [],
    from: "node_modules/pkg",
  });
  // node_modules/.bin is taken whole by the plan already; a program outside reaches nothing of the workspace.
  expect(codeReach(dir, [{ path: join(dir, "node_modules/.bin"), folder: true }])).toBeUndefined();
  expect(codeReach(dir, [{ path: "/usr/bin/node", folder: false }])).toBeUndefined();
});

test("launch plans: a script, Python's module folder, a sourced file, inline code and a project runner reach the workspace; npx of a package not there, or a sandboxed server, does not", () => {
  const dir = workspace("plans", {
    "srv/server.mjs": "",
    "run.sh": ". ./scripts/env.sh\n",
    "scripts/env.sh": ". ./conf/settings.conf\nexec node srv/server.mjs\n",
    "conf/settings.conf": "",
  });
  const env = { PATH: "/usr/bin:/bin" };
  expect(launchPlan(stdio("a", "node", ["srv/server.mjs"]), dir, env).code?.from).toBe("srv/server.mjs");
  expect(launchPlan(stdio("p", "python3", ["-m", "app"]), dir, env).code?.codeUnder).toEqual([dir]);
  const sourced = launchPlan(stdio("s", "bash", ["run.sh"]), dir, env);
  // What run.sh sources, and what that sources in turn, are followed: each file, and its folder whole.
  expect(sourced.files).toEqual(expect.arrayContaining([join(dir, "scripts/env.sh"), join(dir, "conf/settings.conf"), join(dir, "srv/server.mjs")]));
  expect(sourced.code?.roots).toEqual(expect.arrayContaining([join(dir, "scripts"), join(dir, "conf"), join(dir, "srv")]));
  // Inline code loads relative to its working folder, and a project runner runs the project: no file named, all reached.
  expect(launchPlan(stdio("e", "node", ["-e", "require('./' + process.env.PLUGIN)"]), dir, env).code?.codeUnder).toEqual([dir]);
  expect(launchPlan(stdio("u", "uv", ["run", "mcp-server"]), dir, env).code?.codeUnder).toEqual([dir]);
  expect(launchPlan(stdio("m", "make", ["serve"]), dir, env).code?.codeUnder).toEqual([dir]);
  expect(launchPlan(stdio("x", "uvx", ["some-server"]), dir, env).code).toBeUndefined();
  expect(launchPlan(stdio("n", "npx", ["-y", "some-server"]), dir, env).code).toBeUndefined();
  expect(launchPlan(stdio("b", "node", ["srv/server.mjs"], { sandbox: true }), dir, env).code).toBeUndefined();
});

test("the walk takes every file of the workspace, of its package folders the code; .git, .org and secret files are left out; a walk past its bound says so", () => {
  const dir = workspace("walk", {
    "srv/server.mjs": "",
    "srv/data.txt": "",
    "lib/util.mjs": "",
    "lib/readme.md": "",
    "bin/serve": "",
    ".git/hooks/pre-commit": "",
    ".org/mcp-trust.json": "",
    ".env": "",
    "keys/id_rsa": "",
    "node_modules/dep/index.js": "",
    "node_modules/dep/README.md": "",
    // Written by the server's own interpreter as it runs: not hashed (every start would differ), still refused below.
    "lib/__pycache__/util.cpython-311.pyc": "",
    "node_modules/.cache/esm/x.js": "",
  });
  const reach = { workspace: dir, codeUnder: [dir], roots: [join(dir, "srv")], from: "srv/server.mjs" };
  const { files, cut } = coveredFiles(reach);
  expect(cut).toBe(false);
  // lib/readme.md too: CommonJS runs any file it is handed as JavaScript, a shell sources any name.
  expect(files.map((file) => file.slice(dir.length + 1))).toEqual([
    "bin/serve",
    "lib/readme.md",
    "lib/util.mjs",
    "node_modules/dep/index.js",
    "srv/data.txt",
    "srv/server.mjs",
  ]);
  expect(coveredFiles(reach, 5).cut).toBe(true);
});

test("the write view refuses every file of a workspace a server starts from, naming why; a sandboxed server holds nothing back", () => {
  const dir = workspace("guard", { "srv/server.mjs": "", "docs/guide.md": "" });
  const executed = mcpExecutedPaths([stdio("app", "node", ["srv/server.mjs"]), stdio("boxed", "node", ["srv/server.mjs"], { sandbox: true })], dir, {
    PATH: "/usr/bin:/bin",
  });
  const refusal = (path: string) => {
    const check = checkChangeSet(
      { changes: [{ path, status: "added", after: { type: "file", mode: 0o644, size: 1, content: new Uint8Array([10]) } }] },
      { executedPaths: executed },
    );
    return check.ok ? "" : check.message;
  };
  expect(refusal("lib/util.mjs")).toContain(
    '"lib/util.mjs": code the unsandboxed MCP server app can load (a file of the workspace, which it runs from (srv/server.mjs) and may load whatever its name; give it "sandbox": true to let the agents change files)',
  );
  // A case-insensitive file system takes UTIL.MJS for a .mjs file too.
  expect(refusal("lib/UTIL.MJS")).toContain("code the unsandboxed MCP server app can load");
  expect(refusal("plugins/new.py")).toContain("code the unsandboxed MCP server app can load");
  expect(refusal("lib/__pycache__/util.cpython-311.pyc")).toContain("code the unsandboxed MCP server app can load");
  expect(refusal("srv/notes.txt")).toContain("a path the unsandboxed MCP server app runs from (srv/**)");
  expect(refusal("docs/guide.md")).toContain("code the unsandboxed MCP server app can load");
  // Without the unsandboxed server, the sandboxed one holds nothing back.
  expect(mcpExecutedPaths([stdio("boxed", "node", ["srv/server.mjs"], { sandbox: true })], dir)).toEqual([]);
});
