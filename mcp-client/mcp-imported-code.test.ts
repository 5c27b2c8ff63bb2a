// Issue 51, item 1: trust covered the files on a server's launch line, not what they load. With the write view on, the
// agent changed a file that a confirmed server imports or sources, and the next start ran it on the host as the user.
// Whatever a server started from the workspace can load is the server: every code file of the workspace, and the folders
// it runs from whole, are refused to the agent and hashed by the confirmation.
import { afterAll, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { McpServerConfig } from "../config/mcp-servers.ts";
import { loadOrgConfig } from "../config/org-config.ts";
import { sandboxPolicy } from "../sandbox/sandbox-policy.ts";
import { agentRunsCommands } from "../testing/agent-commands.ts";
import { startMcpServers } from "../testing/mcp-hub-start.ts";
import { recordTrust, trustProblem } from "./mcp-trust.ts";

const base = mkdtempSync(join(tmpdir(), "org-mcp-imported-"));
chmodSync(base, 0o755);
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** Each server's start, the file it loads one step or more away (which its launch line never names), and what changes it. */
const CASES = [
  { server: "nested", file: "lib/util.mjs", how: "imported by srv/server.mjs as ../lib/util.mjs" },
  { server: "top", file: "util.mjs", how: "a sibling imported by a top-level server.mjs" },
  { server: "hooked", file: "support/dep.mjs", how: "imported by the hook NODE_OPTIONS=--import loads" },
  { server: "python", file: "helpers/tools.py", how: "a module of a package (no __init__.py) a top-level server.py imports" },
  { server: "sourced", file: "conf/settings.conf", how: "sourced by scripts/env.sh, which run.sh sources" },
  { server: "plugins", file: "plugins/evil.mjs", how: "a new file a dynamic import() of a folder's listing would load" },
] as const;

/** Code that, if it ever ran, leaves a mark outside the workspace (where only a process on the host could write). */
function payload(file: string, marker: string): string {
  if (file.endsWith(".py")) return `open(${JSON.stringify(marker)}, "w").write("ran")\n`;
  if (file.endsWith(".conf")) return `echo ran > ${JSON.stringify(marker)}\n`;
  return `import("node:fs").then((fs) => fs.writeFileSync(${JSON.stringify(marker)}, "ran"));\n`;
}

/** An org.config.json whose agent runs `sh` in the write view, changes applied unasked, beside `mcpServers`. */
const writeViewConfig = (mcpServers: Record<string, unknown>) =>
  JSON.stringify({
    personas: [{ name: "agent", kind: "agent", tools: { sh: "allow" } }],
    sandbox: { workspace: "write", workspaceWrite: "allow" },
    mcpServers,
  });

/** A new workspace folder under the scratch folder, and how to write a file of it. */
function newWorkspace(name: string): { workspaceDir: string; write: (path: string, text: string) => void } {
  const workspaceDir = join(base, name);
  mkdirSync(workspaceDir);
  chmodSync(workspaceDir, 0o755);
  const write = (path: string, text: string) => {
    mkdirSync(join(workspaceDir, path, ".."), { recursive: true });
    writeFileSync(join(workspaceDir, path), text);
  };
  return { workspaceDir, write };
}

function setUpWorkspace(): { workspaceDir: string; servers: McpServerConfig[] } {
  const { workspaceDir, write } = newWorkspace("project");
  write("srv/server.mjs", 'import "../lib/util.mjs";\n');
  write("lib/util.mjs", "export const util = 1;\n");
  write("server.mjs", 'import "./util.mjs";\n');
  write("util.mjs", "export const sibling = 1;\n");
  write("srv3/server.mjs", "// the hooked server\n");
  write("hook.mjs", 'import "./support/dep.mjs";\n');
  write("support/dep.mjs", "export const dep = 1;\n");
  write("server.py", "import helpers.tools\n");
  write("helpers/tools.py", "TOOLS = []\n");
  write("run.sh", ". ./scripts/env.sh\nexec node srv5/server.mjs\n");
  write("scripts/env.sh", ". ./conf/settings.conf\n");
  write("conf/settings.conf", "PORT=1\n");
  write("srv5/server.mjs", "// the sourced server\n");
  write(
    "plug/server.mjs",
    'import { readdirSync } from "node:fs";\nfor (const name of readdirSync("plugins")) await import(`../plugins/${name}`);\n',
  );
  write("plugins/README.md", "plugins go here\n");
  write("notes.md", "# notes\n");
  write(
    "org.config.json",
    writeViewConfig({
      nested: { command: "node", args: ["srv/server.mjs"] },
      top: { command: "node", args: ["server.mjs"] },
      hooked: { command: "node", args: ["srv3/server.mjs"], env: { NODE_OPTIONS: "--import ./hook.mjs" } },
      python: { command: "python3", args: ["server.py"] },
      sourced: { command: "bash", args: ["run.sh"] },
      plugins: { command: "node", args: ["plug/server.mjs"] },
      // A server in the sandbox runs what it runs there: it holds nothing back from the agents.
      boxed: { command: "node", args: ["srv/server.mjs"], sandbox: true },
    }),
  );
  const config = loadOrgConfig(
    join(workspaceDir, "org.config.json"),
    { OLLAMA_BASE: "http://127.0.0.1:9", OLLAMA_MODEL: "m" },
    { checkoutDir: workspaceDir },
  );
  return { workspaceDir, servers: config.mcpServers };
}

test("a file a confirmed server imports or sources, however it names it, is refused to the agent, and a change made otherwise keeps the server off", async () => {
  const { workspaceDir, servers } = setUpWorkspace();
  // The user confirmed every server with `org mcp trust NAME`.
  for (const server of servers) recordTrust(server, workspaceDir);
  const markers = CASES.map((entry) => join(base, `ran-${entry.server}`));
  const attacks = CASES.map((entry, index) =>
    entry.file.startsWith("plugins/")
      ? `printf '%s' '${payload(entry.file, markers[index] ?? "")}' > ${entry.file}`
      : `printf '%s' '${payload(entry.file, markers[index] ?? "")}' >> ${entry.file}`,
  );
  const before = CASES.map((entry) =>
    existsSync(join(workspaceDir, entry.file)) ? readFileSync(join(workspaceDir, entry.file), "utf8") : undefined,
  );
  const { outputs } = await agentRunsCommands(
    workspaceDir,
    [...attacks, "echo 'the agent may still write prose' >> notes.md", "mkdir -p docs && echo 'how to call it' > docs/usage.txt"],
    sandboxPolicy({ workspace: "write", poolSize: 0 }),
  );
  expect(outputs).toHaveLength(CASES.length + 2);
  for (const [index, entry] of CASES.entries()) {
    expect(outputs[index], entry.how).toContain("the change was refused whole; nothing of it was applied");
    const refusal = entry.server === "sourced" ? "a path the unsandboxed MCP server sourced runs from (conf/**)" : "code the unsandboxed MCP server";
    expect(outputs[index], entry.how).toContain(`"${entry.file}": ${refusal}`);
    expect(existsSync(join(workspaceDir, entry.file)) ? readFileSync(join(workspaceDir, entry.file), "utf8") : undefined, entry.how).toBe(
      before[index],
    );
  }
  // Prose too: a server started from the workspace may load any file of it, whatever its name
  // (the test below); the agents write there only when every such server runs in the sandbox.
  expect(outputs[CASES.length]).toContain("the change was refused whole");
  expect(readFileSync(join(workspaceDir, "notes.md"), "utf8")).not.toContain("the agent may still write prose");
  expect(outputs[CASES.length + 1]).toContain("the change was refused whole");
  // Nothing changed, so every confirmation still holds.
  for (const server of servers) expect([server.name, trustProblem(server, workspaceDir)]).toEqual([server.name, undefined]);

  // The same changes made another way (by hand, a host-side tool, a pull): every server stays off, naming the file.
  for (const [index, entry] of CASES.entries()) {
    mkdirSync(join(workspaceDir, entry.file, ".."), { recursive: true });
    writeFileSync(join(workspaceDir, entry.file), `${before[index] ?? ""}${payload(entry.file, markers[index] ?? "")}`);
  }
  const started = await startMcpServers(
    servers.filter((server) => server.name !== "boxed"),
    workspaceDir,
  );
  const notices = started.notices.join("\n");
  const states = Object.fromEntries(started.states);
  for (const entry of CASES) {
    expect(states[entry.server], entry.how).toBe("untrusted");
    expect(notices, entry.how).toContain(`mcp: ${entry.server} stays off: what it runs changed since you confirmed it:`);
    expect(notices, entry.how).toMatch(new RegExp(`mcp: ${entry.server} stays off: [^\\n]*"${entry.file}" \\((changed|new)\\)`));
  }
  for (const marker of markers) expect(existsSync(marker)).toBe(false);
}, 120_000);

// The class beyond the spellings the review showed: a server started from the workspace loads files by names no reader
// of its code can follow, and by names that are not code's (a shell sources `conf/settings.conf` through a variable,
// CommonJS `require` runs a `.txt` as JavaScript, Python `exec`s a `.cfg`, make includes a `.mk`). Code by its name is
// not enough: every file of the workspace such a server can reach is refused to the agent and hashed.
/** Each server, the file it loads under a name that is not code's, and how. */
const ANY_NAME_CASES = [
  { server: "sourced", file: "conf/settings.conf", how: 'sourced by the top-level run.sh as "$here/conf/settings.conf"' },
  { server: "required", file: "data/hook.txt", how: "required by srv/server.cjs: CommonJS runs a .txt as JavaScript" },
  { server: "execd", file: "etc/settings.cfg", how: "exec()'d by py/server.py" },
  { server: "made", file: "rules.mk", how: "included by the Makefile `make serve` reads" },
] as const;

function anyNamePayload(file: string, marker: string): string {
  if (file.endsWith(".cfg")) return `open(${JSON.stringify(marker)}, "w").write("ran")\n`;
  if (file.endsWith(".txt")) return `require("node:fs").writeFileSync(${JSON.stringify(marker)}, "ran");\n`;
  if (file.endsWith(".mk")) return `$(shell echo ran > ${marker})\n`;
  return `echo ran > ${JSON.stringify(marker)}\n`;
}

function setUpAnyNameWorkspace(): { workspaceDir: string; servers: McpServerConfig[] } {
  const { workspaceDir, write } = newWorkspace("any-name");
  write("run.sh", 'here=$(dirname "$0")\n. "$here/conf/settings.conf"\nexec sleep 60\n');
  write("conf/settings.conf", "PORT=1\n");
  write("srv/server.cjs", 'require(require("node:path").join(__dirname, "../data/hook.txt"));\n');
  write("data/hook.txt", "// nothing yet\n");
  write("py/server.py", 'import os\nexec(open(os.path.join(os.path.dirname(__file__), "../etc/settings.cfg")).read())\n');
  write("etc/settings.cfg", "PORT = 1\n");
  write("Makefile", "include rules.mk\nserve:\n\t@sleep 60\n");
  write("rules.mk", "PORT := 1\n");
  write("notes.md", "# notes\n");
  write(
    "org.config.json",
    writeViewConfig({
      sourced: { command: "sh", args: ["run.sh"] },
      required: { command: "node", args: ["srv/server.cjs"] },
      execd: { command: "python3", args: ["py/server.py"] },
      made: { command: "make", args: ["-s", "serve"] },
    }),
  );
  const config = loadOrgConfig(
    join(workspaceDir, "org.config.json"),
    { OLLAMA_BASE: "http://127.0.0.1:9", OLLAMA_MODEL: "m" },
    { checkoutDir: workspaceDir },
  );
  return { workspaceDir, servers: config.mcpServers };
}

test("a file a confirmed server loads under a name that is not code's is refused to the agent, and a change made otherwise keeps the server off", async () => {
  const { workspaceDir, servers } = setUpAnyNameWorkspace();
  for (const server of servers) recordTrust(server, workspaceDir);
  const markers = ANY_NAME_CASES.map((entry) => join(base, `ran-any-${entry.server}`));
  const before = ANY_NAME_CASES.map((entry) => readFileSync(join(workspaceDir, entry.file), "utf8"));
  const attacks = ANY_NAME_CASES.map((entry, index) => `printf '%s' '${anyNamePayload(entry.file, markers[index] ?? "")}' >> ${entry.file}`);
  const { outputs } = await agentRunsCommands(
    workspaceDir,
    [...attacks, "echo more >> notes.md"],
    sandboxPolicy({ workspace: "write", poolSize: 0 }),
  );
  for (const [index, entry] of ANY_NAME_CASES.entries()) {
    expect(outputs[index], entry.how).toContain("the change was refused whole; nothing of it was applied");
    expect(readFileSync(join(workspaceDir, entry.file), "utf8"), entry.how).toBe(before[index] ?? "");
  }
  // Any file of a workspace such a server runs from is what it may load: prose too.
  expect(outputs[ANY_NAME_CASES.length]).toContain("the change was refused whole");
  for (const server of servers) expect([server.name, trustProblem(server, workspaceDir)]).toEqual([server.name, undefined]);

  // The same changes made another way (by hand, a pull): every server stays off, naming the file, and nothing ran.
  for (const [index, entry] of ANY_NAME_CASES.entries())
    writeFileSync(join(workspaceDir, entry.file), `${before[index] ?? ""}${anyNamePayload(entry.file, markers[index] ?? "")}`);
  const started = await startMcpServers(servers, workspaceDir);
  const notices = started.notices.join("\n");
  const states = Object.fromEntries(started.states);
  for (const entry of ANY_NAME_CASES) {
    expect(states[entry.server], entry.how).toBe("untrusted");
    expect(notices, entry.how).toMatch(new RegExp(`mcp: ${entry.server} stays off: [^\\n]*"${entry.file.replace(".", "\\.")}" \\(changed\\)`));
  }
  for (const marker of markers) expect(existsSync(marker)).toBe(false);
}, 120_000);
