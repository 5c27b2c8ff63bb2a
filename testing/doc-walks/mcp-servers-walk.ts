// docs/mcp-servers.md in a project with the page's mcpServers (everything through npx, notes sandboxed, github not
// confirmed), against the playground: the asks a model would turn into writes where an unsandboxed server runs from
// (the playground's agent makes none), a package script changed behind a confirmation, a literal token refused, the
// servers confirmed, the room with them, and their list.
import { cpSync, existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { pageJson, type Walk, type WalkContext, walkShell } from "../doc-walk.ts";

const DOC = "docs/mcp-servers.md";
const project = (context: WalkContext) => join(context.home, "project");

/** The page's stdio servers: their packages, and the names npx finds in node_modules/.bin. */
const SERVER_PACKAGES = ["@modelcontextprotocol/server-everything", "@modelcontextprotocol/server-filesystem"];
const SERVER_BINS = ["mcp-server-everything", "mcp-server-filesystem"];

/**
 * The folders under `nodeModules` (relative to it) that `names` need to load: each package and, as node resolves them
 * from where it sits (its own node_modules, then each one above), its dependencies, theirs, and so on.
 */
function packageClosure(nodeModules: string, names: readonly string[]): string[] {
  const found = new Set<string>();
  const visit = (packageDir: string) => {
    if (found.has(packageDir)) return;
    found.add(packageDir);
    const manifest = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8")) as {
      dependencies?: Record<string, string>;
      optionalDependencies?: Record<string, string>;
      peerDependencies?: Record<string, string>;
    };
    const needed = { ...manifest.peerDependencies, ...manifest.optionalDependencies, ...manifest.dependencies };
    for (const name of Object.keys(needed)) {
      for (let from = packageDir; from.length >= nodeModules.length; from = dirname(from)) {
        const candidate = join(from, from === nodeModules ? "" : "node_modules", name);
        if (existsSync(join(candidate, "package.json"))) {
          visit(candidate);
          break;
        }
        if (from === nodeModules) break;
      }
    }
  };
  for (const name of names) visit(join(nodeModules, name));
  // A package nested in another's node_modules comes with the folder it sits in.
  return [...found].map((dir) => relative(nodeModules, dir)).filter((dir) => !dir.includes("/node_modules/"));
}

/** The page's project: its org.config.json, and the servers' packages in its node_modules (npx finds them there first). */
function makeProject(context: WalkContext): void {
  const dir = project(context);
  mkdirSync(join(dir, "node_modules", ".bin"), { recursive: true, mode: 0o755 });
  writeFileSync(join(dir, "org.config.json"), pageJson(DOC, '"github"'));
  // A copy, not a link: the sandboxed server reads its package from inside the workspace. Nor hard links: a link
  // changes the ctime of the checkout's files, which the prebuilt bundle's stamps hold, and every org run after it
  // would start from source. The servers' packages and what they load alone (40 MB, 5 000 files): a copy of all of
  // org's node_modules (384 MB, 13 000 files) was 5 of the walk's 10 CPU-s.
  const from = realpathSync(join(context.clone, "node_modules"));
  for (const name of packageClosure(from, SERVER_PACKAGES)) {
    cpSync(join(from, name), join(dir, "node_modules", name), { recursive: true, verbatimSymlinks: true });
  }
  for (const bin of SERVER_BINS) cpSync(join(from, ".bin", bin), join(dir, "node_modules", ".bin", bin), { verbatimSymlinks: true });
  context.cwd = dir;
}

/** A project whose server `app` runs a package script, confirmed as it is. */
function appProject(context: WalkContext): void {
  const dir = join(context.home, "app");
  mkdirSync(join(dir, "srv"), { recursive: true, mode: 0o755 });
  writeFileSync(join(dir, "srv", "server.mjs"), "process.stdin.resume();\n");
  writeFileSync(join(dir, "package.json"), `${JSON.stringify({ name: "app", private: true, scripts: { mcp: "node srv/server.mjs" } }, null, 2)}\n`);
  writeFileSync(
    join(dir, "org.config.json"),
    `${JSON.stringify({ mcpServers: { app: { command: "npm", args: ["run", "-s", "mcp"] } } }, null, 2)}\n`,
  );
  walkShell(context, dir, "org mcp trust app");
}

/** A project whose server `app` runs srv/server.mjs, which loads ../lib/util.mjs: both confirmed as they are. */
function moduleProject(context: WalkContext): void {
  const dir = join(context.home, "modules");
  mkdirSync(join(dir, "srv"), { recursive: true, mode: 0o755 });
  mkdirSync(join(dir, "lib"), { mode: 0o755 });
  writeFileSync(join(dir, "lib", "util.mjs"), "export const util = 1;\n");
  writeFileSync(join(dir, "srv", "server.mjs"), 'import { util } from "../lib/util.mjs";\nprocess.stdin.resume();\nvoid util;\n');
  writeFileSync(join(dir, "org.config.json"), `${JSON.stringify({ mcpServers: { app: { command: "node", args: ["srv/server.mjs"] } } }, null, 2)}\n`);
  walkShell(context, dir, "org mcp trust app");
}

/** The page's config with a token written into github's header, as the page's example has it. */
function tokenProject(context: WalkContext): void {
  const dir = join(context.home, "token");
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const config = JSON.parse(pageJson(DOC, '"github"')) as { mcpServers: { github: { headers: Record<string, string> } } };
  config.mcpServers.github.headers.Authorization = `Bearer ghp_8xKq${"Z7m2".repeat(8)}`;
  writeFileSync(join(dir, "org.config.json"), `${JSON.stringify(config, null, 2)}\n`);
}

const NO_CHANGE = "its model writes where the unsandboxed server runs from, and org refuses the change; the playground's agent writes nothing there";

export const mcpServersWalk: Walk = {
  name: "mcp-servers",
  setup: makeProject,
  steps: [
    {
      doc: DOC,
      command: `org chat --once "@agent install the MCP server's package"`,
      needsAModel: NO_CHANGE,
      says: [/I am the playground's scripted agent, not a model/],
    },
    {
      doc: DOC,
      command: 'org chat --once "@agent point the mcp script elsewhere"',
      needsAModel: NO_CHANGE,
      says: [/I am the playground's scripted agent, not a model/],
    },
    {
      doc: DOC,
      command: "sed -i 's#node srv/server.mjs#node evil.mjs#' package.json; org mcp servers",
      before: appProject,
      cwd: (context) => join(context.home, "app"),
      says: [/^app +untrusted \(stdio, as you\): not confirmed: what it runs changed since you confirmed it: "package\.json" \(changed\)/m],
    },
    {
      doc: DOC,
      command: "echo 'export const util = 2;' > lib/util.mjs; org mcp servers",
      before: moduleProject,
      cwd: (context) => join(context.home, "modules"),
      says: [/^app +untrusted \(stdio, as you\): not confirmed: what it runs changed since you confirmed it: "lib\/util\.mjs" \(changed\)/m],
    },
    {
      doc: DOC,
      command: "org mcp servers",
      before: tokenProject,
      cwd: (context) => join(context.home, "token"),
      exit: 1,
      says: [
        new RegExp(
          String.raw`org\.config\.json line \d+, key mcpServers\.github\.headers\.Authorization: holds what looks like a token \(a ` +
            String.raw`GitHub token\) written into the file`,
        ),
      ],
    },
    {
      doc: DOC,
      command: "org mcp trust everything notes",
      says: [
        /^confirmed everything: npx -y @modelcontextprotocol\/server-everything — on this host as you, unsandboxed/m,
        /^confirmed notes: node node_modules\/@modelcontextprotocol\/server-filesystem\/dist\/index\.js \/scratch — in the sandbox \(no network\)/m,
      ],
    },
    {
      doc: DOC,
      command: "org chat",
      typed: ["n", "save a note", "list my notes", "/mcp"],
      // A server is confirmed only by a person at a terminal: a pipe's lines may be anyone's.
      inTerminal: true,
      needsAModel:
        "its model calls notes__write_file and notes__list_directory; the playground's agent answers a note " +
        "with its NOTES.md, which the read view refuses",
      says: [
        /MCP server github is new or changed since you last confirmed it\./,
        /· github stays off \(\/mcp trust github starts it later\)/,
        /^github +untrusted \(http\): not confirmed/m,
      ],
    },
    {
      doc: DOC,
      command: "org mcp servers --json | jq -c '.servers[] | {name, state, tools: (.tools | length), detail}'",
      says: [
        /^\{"name":"everything","state":"up","tools":\d+,"detail":null\}$/m,
        /^\{"name":"notes","state":"up","tools":\d+,"detail":null\}$/m,
        /^\{"name":"github","state":"untrusted","tools":0,"detail":"not confirmed/m,
      ],
    },
  ],
};
