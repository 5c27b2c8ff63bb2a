// Issue 51, item 1, the class beyond the spellings it showed: a server started from the workspace loads files by names no
// reader of its code can follow, and by names that are not code's (a shell sources `conf/settings.conf` through a
// variable, CommonJS `require` runs a `.txt` as JavaScript, Python `exec`s a `.cfg`, make includes a `.mk`). Code by its
// name is not enough: every file of the workspace such a server can reach is refused to the agent and hashed.
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

const base = mkdtempSync(join(tmpdir(), "org-mcp-any-file-"));
chmodSync(base, 0o755);
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** Each server, the file it loads under a name that is not code's, and how. */
const CASES = [
  { server: "sourced", file: "conf/settings.conf", how: 'sourced by the top-level run.sh as "$here/conf/settings.conf"' },
  { server: "required", file: "data/hook.txt", how: "required by srv/server.cjs: CommonJS runs a .txt as JavaScript" },
  { server: "execd", file: "etc/settings.cfg", how: "exec()'d by py/server.py" },
  { server: "made", file: "rules.mk", how: "included by the Makefile `make serve` reads" },
] as const;

function payload(file: string, marker: string): string {
  if (file.endsWith(".cfg")) return `open(${JSON.stringify(marker)}, "w").write("ran")\n`;
  if (file.endsWith(".txt")) return `require("node:fs").writeFileSync(${JSON.stringify(marker)}, "ran");\n`;
  if (file.endsWith(".mk")) return `$(shell echo ran > ${marker})\n`;
  return `echo ran > ${JSON.stringify(marker)}\n`;
}

function setUpWorkspace(): { workspaceDir: string; servers: McpServerConfig[] } {
  const workspaceDir = join(base, "project");
  const write = (path: string, text: string) => {
    mkdirSync(join(workspaceDir, path, ".."), { recursive: true });
    writeFileSync(join(workspaceDir, path), text);
  };
  mkdirSync(workspaceDir);
  chmodSync(workspaceDir, 0o755);
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
    JSON.stringify({
      personas: [{ name: "agent", kind: "agent", tools: { sh: "allow" } }],
      sandbox: { workspace: "write", workspaceWrite: "allow" },
      mcpServers: {
        sourced: { command: "sh", args: ["run.sh"] },
        required: { command: "node", args: ["srv/server.cjs"] },
        execd: { command: "python3", args: ["py/server.py"] },
        made: { command: "make", args: ["-s", "serve"] },
      },
    }),
  );
  const config = loadOrgConfig(join(workspaceDir, "org.config.json"), { OLLAMA_BASE: "http://127.0.0.1:9", OLLAMA_MODEL: "m" }, { checkoutDir: workspaceDir });
  return { workspaceDir, servers: config.mcpServers };
}

test("a file a confirmed server loads under a name that is not code's is refused to the agent, and a change made otherwise keeps the server off", async () => {
  const { workspaceDir, servers } = setUpWorkspace();
  for (const server of servers) recordTrust(server, workspaceDir);
  const markers = CASES.map((entry) => join(base, `ran-${entry.server}`));
  const before = CASES.map((entry) => readFileSync(join(workspaceDir, entry.file), "utf8"));
  const attacks = CASES.map((entry, index) => `printf '%s' '${payload(entry.file, markers[index] ?? "")}' >> ${entry.file}`);
  const { outputs } = await agentRunsCommands(workspaceDir, [...attacks, "echo more >> notes.md"], sandboxPolicy({ workspace: "write", poolSize: 0 }));
  for (const [index, entry] of CASES.entries()) {
    expect(outputs[index], entry.how).toContain("the change was refused whole; nothing of it was applied");
    expect(readFileSync(join(workspaceDir, entry.file), "utf8"), entry.how).toBe(before[index] ?? "");
  }
  // Any file of a workspace such a server runs from is what it may load: prose too.
  expect(outputs[CASES.length]).toContain("the change was refused whole");
  for (const server of servers) expect([server.name, trustProblem(server, workspaceDir)]).toEqual([server.name, undefined]);

  // The same changes made another way (by hand, a pull): every server stays off, naming the file, and nothing ran.
  for (const [index, entry] of CASES.entries())
    writeFileSync(join(workspaceDir, entry.file), `${before[index] ?? ""}${payload(entry.file, markers[index] ?? "")}`);
  const started = await startMcpServers(servers, workspaceDir);
  const notices = started.notices.join("\n");
  const states = Object.fromEntries(started.states);
  for (const entry of CASES) {
    expect(states[entry.server], entry.how).toBe("untrusted");
    expect(notices, entry.how).toMatch(new RegExp(`mcp: ${entry.server} stays off: [^\\n]*"${entry.file.replace(".", "\\.")}" \\(changed\\)`));
  }
  for (const marker of markers) expect(existsSync(marker)).toBe(false);
}, 120_000);
