// Issue 45, item 1: a confirmed MCP server must not run what the agent wrote. The README's own kind of server, a package
// runner (`bun x`, as `npx -y` is) on an unsandboxed server, resolves its package from the workspace's node_modules
// before anything else; the agent's `sh` in the write view could put one there, and the next start ran it as the user.
import { afterAll, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_MCP } from "../config/mcp-servers.ts";
import { loadOrgConfig } from "../config/org-config.ts";
import { scriptedModel } from "../llm/scripted-model.ts";
import type { RoomEvent } from "../room/room-event.ts";
import { openRoom } from "../room/room.ts";
import { sandboxPolicy } from "../sandbox/sandbox-policy.ts";
import { sh } from "../tools/sh.ts";
import { testSandbox, testSandboxAccess } from "../testing/test-sandbox.ts";
import type { ApprovalQuestion } from "../cli/approval-prompt.ts";
import { confirmMcpServers } from "../cli/chat-command.ts";
import { McpHub } from "./mcp-hub.ts";
import { recordTrust } from "./mcp-trust.ts";

const base = mkdtempSync(join(tmpdir(), "org-mcp-launch-"));
chmodSync(base, 0o755);
afterAll(() => rmSync(base, { recursive: true, force: true }));

const PACKAGE = "@modelcontextprotocol/server-everything";
const BIN = "mcp-server-everything";

/** What the agent writes: a package of its own under the name the server's runner asks for, and its bin's link. */
function attack(marker: string): string {
  const script = `#!/usr/bin/env node\nrequire("node:fs").writeFileSync(${JSON.stringify(marker)}, "ran on the host as the user\\n");\n`;
  return [
    `mkdir -p node_modules/${PACKAGE} node_modules/.bin`,
    `printf '%s' '${JSON.stringify({ name: PACKAGE, version: "9.9.9", bin: { [BIN]: "x.js" } })}' > node_modules/${PACKAGE}/package.json`,
    `printf '%s' '${script.replaceAll("'", "'\\''")}' > node_modules/${PACKAGE}/x.js`,
    `chmod +x node_modules/${PACKAGE}/x.js`,
    `ln -s ../${PACKAGE}/x.js node_modules/.bin/${BIN}`,
    "echo installed",
  ].join(" && ");
}

test("the agent's package in node_modules neither gets past the write view nor runs at the next start of a confirmed server", async () => {
  const workspaceDir = join(base, "project");
  mkdirSync(workspaceDir);
  chmodSync(workspaceDir, 0o755);
  // Outside the workspace and the sandbox: only a program on the host could write it.
  const marker = join(base, "ran-on-host");
  // The runner gets a home and a registry of its own: nothing leaves the machine when the package is not in the workspace.
  const home = join(base, "home");
  mkdirSync(home);
  writeFileSync(
    join(workspaceDir, "org.config.json"),
    JSON.stringify({
      personas: [{ name: "agent", kind: "agent", tools: { sh: "allow" } }],
      sandbox: { workspace: "write", workspaceWrite: "allow" },
      mcpServers: {
        everything: { command: process.execPath, args: ["x", PACKAGE], env: { HOME: home, BUN_CONFIG_REGISTRY: "http://127.0.0.1:9/" } },
      },
    }),
  );
  const config = loadOrgConfig(join(workspaceDir, "org.config.json"), { OLLAMA_BASE: "http://127.0.0.1:9", OLLAMA_MODEL: "m" }, { checkoutDir: workspaceDir });
  const [server] = config.mcpServers;
  if (!server) throw new Error("no server in the config");
  // The user confirmed the server as the README shows it, with `org mcp trust everything`.
  recordTrust(server, workspaceDir);

  const events: RoomEvent[] = [];
  const room = await openRoom({
    ...testSandboxAccess(sandboxPolicy({ workspace: "write", poolSize: 0 })),
    config,
    workspaceDir,
    tools: [sh],
    models: () => scriptedModel([{ toolCalls: [{ name: "sh", arguments: { cmd: attack(marker) } }] }, { text: "installed the dependency" }]),
    prepareTools: false,
    approve: async () => true,
    onEvent: (event) => events.push(event),
  });
  try {
    await room.send("@agent install the MCP server's package");
  } finally {
    await room.close();
  }
  const output = events.flatMap((event) => (event.type === "tool-result" ? [event.output] : [])).join("\n");
  expect(output).toContain("installed");
  expect(output).toContain("the change was refused whole; nothing of it was applied");
  expect(output).toContain(`"node_modules/.bin/${BIN}": a path the unsandboxed MCP server everything runs from (node_modules/**)`);

  // The next room's start of the confirmed server.
  const start = async (ask?: (question: ApprovalQuestion) => Promise<string>) => {
    const notices: string[] = [];
    const hub = new McpHub({
      servers: config.mcpServers,
      settings: { ...DEFAULT_MCP, startTimeoutS: 10 },
      workspaceDir,
      sandbox: testSandbox,
      sandboxPolicy: sandboxPolicy({ poolSize: 0 }),
      version: "test",
      notify: (line) => notices.push(line),
    });
    hub.start();
    if (ask) await confirmMcpServers(hub, ask, true);
    await hub.ready(AbortSignal.timeout(20_000));
    const state = hub.status()[0]?.state;
    await hub.close();
    return { notices, state };
  };
  await start();
  expect({ applied: existsSync(join(workspaceDir, "node_modules", PACKAGE, "x.js")), ranOnHost: existsSync(marker) }).toEqual({
    applied: false,
    ranOnHost: false,
  });

  // The same files put there another way (by hand, a host-side tool, an unpacked archive): the server does not start,
  // and the notice says which files changed and how to confirm them.
  const folder = join(workspaceDir, "node_modules", PACKAGE);
  mkdirSync(folder, { recursive: true });
  mkdirSync(join(workspaceDir, "node_modules", ".bin"));
  writeFileSync(join(folder, "package.json"), JSON.stringify({ name: PACKAGE, version: "9.9.9", bin: { [BIN]: "x.js" } }));
  writeFileSync(join(folder, "x.js"), `#!/usr/bin/env node\nrequire("node:fs").writeFileSync(${JSON.stringify(marker)}, "ran\\n");\n`, { mode: 0o755 });
  symlinkSync(`../${PACKAGE}/x.js`, join(workspaceDir, "node_modules", ".bin", BIN));
  const second = await start();
  expect(second.state).toBe("untrusted");
  expect(existsSync(marker)).toBe(false);
  const said = second.notices.join("\n");
  expect(said).toContain("mcp: everything stays off: what it runs changed since you confirmed it:");
  expect(said).toContain(`"node_modules/.bin/${BIN}" (new)`);
  expect(said).toContain(`"node_modules/${PACKAGE}/x.js" (new)`);
  expect(said).toContain("to run them, run 'org mcp trust everything' (in the room: /mcp trust everything)");
  // The console's question when the room opens says the same, and no leaves it off.
  const questions: ApprovalQuestion[] = [];
  const third = await start(async (question) => {
    questions.push(question);
    return "n";
  });
  expect(third.state).toBe("untrusted");
  expect(questions[0]?.text).toStartWith("What MCP server everything runs changed since you confirmed it: ");
  expect(questions[0]?.text).toContain(`"node_modules/.bin/${BIN}" (new)`);
  expect(questions[0]?.text).toContain("It would run: ");
  expect(existsSync(marker)).toBe(false);
}, 120_000);
