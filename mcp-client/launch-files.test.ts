import { afterEach, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { McpServerConfig } from "../config/mcp-servers.ts";
import { stdioServer } from "../testing/mcp-hub-start.ts";
import { checkChangeSet } from "../workspace/check-change-set.ts";
import { executedPaths, launchPlan, mcpExecutedPaths } from "./launch-files.ts";
import { isTrusted, recordTrust, trustProblem } from "./mcp-trust.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A workspace and, beside it, a folder of programs put first on PATH (the environment is given, never the test's own). */
function setUp(): { workspace: string; bin: string; env: NodeJS.ProcessEnv } {
  const root = mkdtempSync(join(tmpdir(), "org-launch-files-"));
  dirs.push(root);
  const workspace = join(root, "project");
  const bin = join(root, "bin");
  mkdirSync(workspace);
  mkdirSync(bin);
  for (const program of ["npx", "node", "python3", "uvx"]) writeFileSync(join(bin, program), `#!/bin/sh\necho ${program}\n`, { mode: 0o755 });
  return { workspace, bin, env: { PATH: `${bin}:/nonexistent` } };
}

const stdio = stdioServer;

const write = (path: string, text: string, mode = 0o644) => {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, text, { mode });
  chmodSync(path, mode);
};

test("npx: the program PATH finds, and the package and .bin it would take from the workspace; any change there needs a new confirmation", () => {
  const { workspace, bin, env } = setUp();
  const server = stdio("everything", "npx", ["-y", "@modelcontextprotocol/server-everything@2025.1.1"]);
  const plan = launchPlan(server, workspace, env);
  expect(plan.files[0]).toBe(join(bin, "npx"));
  expect(plan.trees).toEqual([join(workspace, "node_modules/.bin"), join(workspace, "node_modules/@modelcontextprotocol/server-everything")]);
  expect(executedPaths(server, workspace, env)).toEqual(["node_modules/**", ".venv/**", ".bin/**", "/.npmrc"]);

  recordTrust(server, workspace, { env });
  expect(isTrusted(server, workspace, env)).toBe(true);
  // A package.json of the project's own, named otherwise: not what npx runs.
  write(join(workspace, "package.json"), '{"name": "my-app"}');
  expect(isTrusted(server, workspace, env)).toBe(true);
  // The same bytes written again (a checkout, a touch): still what was confirmed.
  utimesSync(join(bin, "npx"), new Date(2001, 1, 1), new Date(2001, 1, 1));
  expect(isTrusted(server, workspace, env)).toBe(true);
  for (const [change, undo] of [
    // The project named as the package: npx runs the project's own bin.
    [
      () => write(join(workspace, "package.json"), '{"name": "@modelcontextprotocol/server-everything"}'),
      () => write(join(workspace, "package.json"), '{"name": "my-app"}'),
    ],
    // A `node` in .bin is the node the package's `#!/usr/bin/env node` gets.
    [
      () => write(join(workspace, "node_modules/.bin/node"), "#!/bin/sh\n", 0o755),
      () => rmSync(join(workspace, "node_modules"), { recursive: true }),
    ],
    [() => write(join(bin, "npx"), "#!/bin/sh\necho other\n", 0o755), undefined],
  ] as const) {
    change();
    expect(trustProblem(server, workspace, env)).toMatchObject({ kind: "files" });
    undo?.();
  }
});

test("node: its script, what it requires by path and an executable it is handed; a data file it is given is not code", () => {
  const { workspace, env } = setUp();
  write(join(workspace, "server/index.js"), "console.log(1)\n");
  write(join(workspace, "hooks/pre.js"), "// hook\n");
  write(join(workspace, "notes.db"), "data");
  const server = stdio("local", "node", ["--require", "./hooks/pre.js", "server/index.js", "--db", "notes.db", "--title=x"]);
  const plan = launchPlan(server, workspace, env);
  expect(plan.files).toContain(join(workspace, "server/index.js"));
  expect(plan.files).toContain(join(workspace, "hooks/pre.js"));
  expect(plan.files).not.toContain(join(workspace, "notes.db"));
  expect(executedPaths(server, workspace, env)).toEqual(["node_modules/**", ".venv/**", ".bin/**", "server/**", "hooks/**"]);
  recordTrust(server, workspace, { env });
  write(join(workspace, "notes.db"), "more data");
  expect(isTrusted(server, workspace, env)).toBe(true);
  write(join(workspace, "server/index.js"), "require('child_process').exec('id')\n");
  expect(trustProblem(server, workspace, env)).toEqual({
    kind: "files",
    changed: [{ label: join(workspace, "server/index.js"), how: "changed" }],
    gone: 0,
  });
  // Its mode counts too: a script made executable is another file.
  recordTrust(server, workspace, { env });
  chmodSync(join(workspace, "server/index.js"), 0o755);
  expect(isTrusted(server, workspace, env)).toBe(false);
});

test("python -m looks in the working folder first: a module of that name written there is a change, and every top-level module is guarded", () => {
  const { workspace, env } = setUp();
  const server = stdio("fetch", "python3", ["-m", "mcp_server_fetch"]);
  expect(launchPlan(server, workspace, env).files).toContain(join(workspace, "mcp_server_fetch.py"));
  expect(executedPaths(server, workspace, env)).toEqual(expect.arrayContaining(["/mcp_server_fetch.py", "/*.py", "/*/__init__.py"]));
  recordTrust(server, workspace, { env });
  write(join(workspace, "mcp_server_fetch.py"), "import os; os.system('id')\n");
  expect(trustProblem(server, workspace, env)).toMatchObject({
    kind: "files",
    changed: [{ label: join(workspace, "mcp_server_fetch.py"), how: "new" }],
  });
});

test("a program named by a path, a PATH entry inside the workspace, a runner's local package folder", () => {
  const { workspace, bin } = setUp();
  write(join(workspace, "run.sh"), "#!/bin/sh\n", 0o755);
  expect(executedPaths(stdio("script", "./run.sh", []), workspace, {})).toEqual(["node_modules/**", ".venv/**", ".bin/**", "/run.sh"]);
  // A relative or empty PATH entry is read from the workspace, where the server starts: what is there may run.
  const env = { PATH: `tools/bin::${bin}` };
  expect(executedPaths(stdio("npx", "npx", ["pkg"]), workspace, env)).toEqual(expect.arrayContaining(["tools/bin/**", "**"]));
  const plan = launchPlan(stdio("npx", "npx", ["pkg"]), workspace, env);
  expect(plan.files.slice(0, 3)).toEqual([join(workspace, "tools/bin/npx"), join(workspace, "npx"), join(bin, "npx")]);
  expect(launchPlan(stdio("tool", "uvx", ["--from", "./my-tool", "my-tool"]), workspace, { PATH: bin }).trees).toEqual([join(workspace, "my-tool")]);
});

test("a sandboxed server's files are covered by its confirmation, but guard nothing: what it runs, it runs in the sandbox", () => {
  const { workspace, env } = setUp();
  write(join(workspace, "srv.js"), "1\n");
  const server = stdio("boxed", "node", ["/workspace/srv.js"], { sandbox: true });
  expect(launchPlan(server, workspace, env).files).toContain(join(workspace, "srv.js"));
  expect(executedPaths(server, workspace, env)).toEqual([]);
  recordTrust(server, workspace, { env });
  write(join(workspace, "srv.js"), "2\n");
  expect(isTrusted(server, workspace, env)).toBe(false);
});

test("the write view refuses the paths an unsandboxed server runs from, and a link at a folder above them, naming the server", () => {
  const { workspace, env } = setUp();
  write(join(workspace, "app/server/index.js"), "1\n");
  const executed = mcpExecutedPaths(
    [stdio("local", "node", ["app/server/index.js"]), stdio("boxed", "node", ["x.js"], { sandbox: true })],
    workspace,
    env,
  );
  const file = (path: string) => ({
    path,
    status: "added" as const,
    after: { type: "file" as const, mode: 0o644, size: 1, content: new Uint8Array([49]) },
  });
  const refusal = (path: string, after = file(path)) => {
    const check = checkChangeSet({ changes: [after] }, { executedPaths: executed });
    return check.ok ? "" : check.message;
  };
  expect(refusal("app/server/lib.js")).toContain('"app/server/lib.js": a path the unsandboxed MCP server local runs from (app/server/**)');
  expect(refusal("node_modules/left-pad/index.js")).toContain("a path the unsandboxed MCP server local runs from (node_modules/**)");
  expect(refusal("app", { path: "app", status: "added", after: { type: "symlink", target: "elsewhere" } } as never)).toContain(
    '"app": a link at a folder above paths the unsandboxed MCP server local runs from (app/server/**)',
  );
  // It can load any file of the workspace it starts from, whatever its name.
  expect(refusal("docs/notes.md")).toContain("code the unsandboxed MCP server local can load (a file of the workspace");
});

// Newcomer review, item 3: what some launchers run lay outside the confirmation. For each, the trust covers it (a change
// needs `org mcp trust` again) and the write view refuses it.
describe("a launcher's indirect code: package scripts, shell strings, inline code, code-loading variables", () => {
  const changed = (server: McpServerConfig, workspace: string, env: NodeJS.ProcessEnv) => {
    const problem = trustProblem(server, workspace, env);
    return problem?.kind === "files" ? problem.changed.map(({ label, how }) => `${label.slice(workspace.length + 1)} ${how}`) : problem;
  };
  /** Confirms `server`, makes each change in turn, and gives what each made the confirmation find changed (undone after). */
  const afterEach_ = (server: McpServerConfig, workspace: string, env: NodeJS.ProcessEnv, changes: [() => void, () => void][]) => {
    recordTrust(server, workspace, { env });
    expect(isTrusted(server, workspace, env)).toBe(true);
    return changes.map(([change, undo]) => {
      change();
      const found = changed(server, workspace, env);
      undo();
      expect(isTrusted(server, workspace, env)).toBe(true);
      return found;
    });
  };

  test("a package manager's run (npm, pnpm, yarn, bun): package.json, its settings, and the files its script and pre-script name", () => {
    const { workspace, env } = setUp();
    write(
      join(workspace, "package.json"),
      JSON.stringify({ scripts: { premcp: "node tools/check.mjs", mcp: "cd srv && node server.mjs --port 0" } }),
    );
    write(join(workspace, "srv/server.mjs"), "1\n");
    write(join(workspace, "tools/check.mjs"), "1\n");
    for (const [command, args] of [
      ["npm", ["run", "-s", "mcp"]],
      ["npm", ["run-script", "mcp"]],
      ["pnpm", ["mcp"]],
      ["pnpm", ["run", "mcp"]],
      ["yarn", ["mcp"]],
      ["bun", ["run", "mcp"]],
    ] as const) {
      const server = stdio("pkg", command, [...args]);
      const paths = executedPaths(server, workspace, env);
      expect([command, args, paths]).toEqual([command, args, expect.arrayContaining(["/package.json", "srv/**", "tools/**"])]);
      const edit = (path: string, text: string) => {
        const before = readFileSync(join(workspace, path), "utf8");
        return [() => write(join(workspace, path), text), () => write(join(workspace, path), before)] as [() => void, () => void];
      };
      expect(
        afterEach_(server, workspace, env, [
          edit("package.json", JSON.stringify({ scripts: { mcp: "node evil.mjs" } })),
          edit("srv/server.mjs", "2\n"),
          edit("tools/check.mjs", "2\n"),
        ]),
      ).toEqual([["package.json changed"], ["srv/server.mjs changed"], ["tools/check.mjs changed"]]);
    }
    expect(executedPaths(stdio("y", "yarn", ["mcp"]), workspace, env)).toEqual(
      expect.arrayContaining(["/.yarnrc.yml", ".yarn/releases/**", "/.pnp.cjs"]),
    );
    // A run of something else (an install) names no script, but the settings it reads.
    expect(executedPaths(stdio("i", "npm", ["install"]), workspace, env)).not.toContain("/package.json");
  });

  test("a shell's -c string: each command's program and script, what `.` sources, a wrapper's command; the variables it sets", () => {
    const { workspace, env } = setUp();
    write(join(workspace, "srv/server.mjs"), "1\n");
    write(join(workspace, "env.sh"), "X=1\n");
    for (const args of [
      ["-c", "node srv/server.mjs"],
      ["-ec", ". ./env.sh; exec env -u HOME nice -n 5 node 'srv/server.mjs' --quiet"],
      ["-lc", "cd srv && NODE_OPTIONS='--import ../hook.mjs' node server.mjs"],
    ]) {
      const server = stdio("shell", "sh", args);
      // The script's folder is taken whole (its own imports sit beside it), the script with it.
      expect(executedPaths(server, workspace, env)).toEqual(expect.arrayContaining(["srv/**"]));
    }
    expect(executedPaths(stdio("s", "bash", ["-ec", ". ./env.sh; node srv/server.mjs"]), workspace, env)).toContain("/env.sh");
    const hooked = stdio("shell", "sh", ["-lc", "cd srv && NODE_OPTIONS='--import ../hook.mjs' node server.mjs"]);
    expect(executedPaths(hooked, workspace, env)).toContain("/hook.mjs");
    expect(
      afterEach_(hooked, workspace, env, [[() => write(join(workspace, "hook.mjs"), "x\n"), () => rmSync(join(workspace, "hook.mjs"))]]),
    ).toEqual([["hook.mjs new"]]);
  });

  test("inline code: python -c (and a python script) imports the modules of the folder it starts from first; node -e's named files", () => {
    const { workspace, env } = setUp();
    write(join(workspace, "lib/helper.js"), "1\n");
    write(join(workspace, "tools/serve.py"), "1\n");
    const python = stdio("py", "python3", ["-c", "import json, sys; sys.exit(0)"]);
    expect(executedPaths(python, workspace, env)).toEqual(expect.arrayContaining(["/*.py", "/*.pyc", "/*.so", "/*/__init__.py"]));
    expect(
      afterEach_(python, workspace, env, [
        [() => write(join(workspace, "json.py"), "import os\n"), () => rmSync(join(workspace, "json.py"))],
        [() => write(join(workspace, "sys/__init__.py"), "\n"), () => rmSync(join(workspace, "sys"), { recursive: true })],
      ]),
    ).toEqual([["json.py new"], ["sys/__init__.py new"]]);
    // A script's own folder is where Python looks first: its modules there are covered too.
    const script = stdio("py2", "python3", ["tools/serve.py"]);
    expect(executedPaths(script, workspace, env)).toEqual(expect.arrayContaining(["tools/**"]));
    expect(
      afterEach_(script, workspace, env, [[() => write(join(workspace, "tools/json.py"), "\n"), () => rmSync(join(workspace, "tools/json.py"))]]),
    ).toEqual([["tools/json.py new"]]);
    const node = stdio("js", "node", ["-e", "require('./lib/helper.js'); require('./lib/later.js')"]);
    expect(executedPaths(node, workspace, env)).toEqual(expect.arrayContaining(["lib/**"]));
    expect(launchPlan(node, workspace, env).files).toEqual(
      expect.arrayContaining([join(workspace, "lib/helper.js"), join(workspace, "lib/later.js")]),
    );
  });

  test("variables that load code: NODE_OPTIONS, PYTHONPATH, PYTHONSTARTUP, LD_PRELOAD, BASH_ENV, NODE_PATH", () => {
    const { workspace, env } = setUp();
    write(join(workspace, "srv/server.mjs"), "1\n");
    const server = stdio("hooked", "node", ["srv/server.mjs"], {
      env: {
        NODE_OPTIONS: "--max-old-space-size=512 --import ./hook.mjs --require=./pre.cjs -r some-package",
        PYTHONPATH: "pylib:/opt/elsewhere",
        PYTHONSTARTUP: "startup.py",
        LD_PRELOAD: "./libhook.so",
        BASH_ENV: "./bashenv.sh",
        NODE_PATH: "shared",
      },
    });
    expect(executedPaths(server, workspace, env)).toEqual(
      expect.arrayContaining([
        "/hook.mjs",
        "/pre.cjs",
        "pylib/*.py",
        "pylib/*/__init__.py",
        "/startup.py",
        "/libhook.so",
        "/bashenv.sh",
        "shared/**",
      ]),
    );
    expect(
      afterEach_(server, workspace, env, [
        [() => write(join(workspace, "hook.mjs"), "x\n"), () => rmSync(join(workspace, "hook.mjs"))],
        [() => write(join(workspace, "pylib/os.py"), "x\n"), () => rmSync(join(workspace, "pylib"), { recursive: true })],
        [() => write(join(workspace, "libhook.so"), "x\n"), () => rmSync(join(workspace, "libhook.so"))],
      ]),
    ).toEqual([["hook.mjs new"], ["pylib/os.py new", "pylib new"], ["libhook.so new"]]);
  });
});
