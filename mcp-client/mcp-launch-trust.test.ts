// Issue 45, item 1: a confirmed MCP server must not run what the agent wrote. The README's own kind of server, a package
// runner (`bun x`, as `npx -y` is) on an unsandboxed server, resolves its package from the workspace's node_modules
// before anything else; the agent's `sh` in the write view could put one there, and the next start ran it as the user.
import { afterAll, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadOrgConfig } from "../config/org-config.ts";
import { scriptedModel } from "../llm/scripted-model.ts";
import type { RoomEvent } from "../room/room-event.ts";
import { openRoom } from "../room/room.ts";
import { sandboxPolicy } from "../sandbox/sandbox-policy.ts";
import { sh } from "../tools/sh.ts";
import { agentRunsCommands } from "../testing/agent-commands.ts";
import { startMcpServers } from "../testing/mcp-hub-start.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";
import type { ApprovalQuestion } from "../cli/chat/approval-prompt.ts";
import { recordTrust, trustProblem } from "./mcp-trust.ts";

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
  const config = loadOrgConfig(
    join(workspaceDir, "org.config.json"),
    { OLLAMA_BASE: "http://127.0.0.1:9", OLLAMA_MODEL: "m" },
    { checkoutDir: workspaceDir },
  );
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
    const { notices, states } = await startMcpServers(config.mcpServers, workspaceDir, ask);
    return { notices, state: states[0]?.[1] };
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
  writeFileSync(join(folder, "x.js"), `#!/usr/bin/env node\nrequire("node:fs").writeFileSync(${JSON.stringify(marker)}, "ran\\n");\n`, {
    mode: 0o755,
  });
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

// Newcomer review, item 3: launchers whose code lies one step away from their command line. The agent's change to
// what each runs is refused by the write view; the same change made another way keeps the server off until confirmed.
test("npm run's script, sh -c's file, python -c's top-level modules and NODE_OPTIONS' hook: refused to the agent, and a change keeps the server off", async () => {
  const workspaceDir = join(base, "launchers");
  const write = (path: string, text: string) => {
    mkdirSync(join(workspaceDir, path, ".."), { recursive: true });
    writeFileSync(join(workspaceDir, path), text);
  };
  mkdirSync(workspaceDir);
  chmodSync(workspaceDir, 0o755);
  write("package.json", `${JSON.stringify({ name: "app", scripts: { mcp: "node srv/server.mjs" } }, null, 2)}\n`);
  write("srv/server.mjs", "// the npm script's server\n");
  write("srv2/server.mjs", "// the shell's server\n");
  write("srv3/server.mjs", "// the hooked server\n");
  write(
    "org.config.json",
    JSON.stringify({
      personas: [{ name: "agent", kind: "agent", tools: { sh: "allow" } }],
      sandbox: { workspace: "write", workspaceWrite: "allow" },
      mcpServers: {
        npmrun: { command: "npm", args: ["run", "-s", "mcp"] },
        shell: { command: "sh", args: ["-c", "node srv2/server.mjs"] },
        inline: { command: "python3", args: ["-c", "import json, sys; sys.exit(0)"] },
        hooked: { command: "node", args: ["srv3/server.mjs"], env: { NODE_OPTIONS: "--import ./hook.mjs" } },
      },
    }),
  );
  const config = loadOrgConfig(
    join(workspaceDir, "org.config.json"),
    { OLLAMA_BASE: "http://127.0.0.1:9", OLLAMA_MODEL: "m" },
    { checkoutDir: workspaceDir },
  );
  for (const server of config.mcpServers) recordTrust(server, workspaceDir);
  const attacks = [
    `sed -i 's#node srv/server.mjs#node evil.mjs#' package.json`,
    "echo 'process.exit(9)' >> srv/server.mjs",
    "echo 'process.exit(9)' >> srv2/server.mjs",
    "echo 'import os' > json.py",
    "echo 'process.exit(9)' > hook.mjs",
  ];
  const { outputs } = await agentRunsCommands(workspaceDir, attacks, sandboxPolicy({ workspace: "write", poolSize: 0 }));
  expect(outputs).toHaveLength(attacks.length);
  const refusals = [
    '"package.json": a path the unsandboxed MCP server npmrun runs from (/package.json)',
    '"srv/server.mjs": a path the unsandboxed MCP server npmrun runs from (srv/**)',
    '"srv2/server.mjs": a path the unsandboxed MCP server shell runs from (srv2/**)',
    '"json.py": a path the unsandboxed MCP server inline runs from (/*.py)',
    '"hook.mjs": a path the unsandboxed MCP server hooked runs from (/hook.mjs)',
  ];
  for (const [index, refusal] of refusals.entries()) expect(outputs[index]).toContain(refusal);
  expect(existsSync(join(workspaceDir, "json.py")) || existsSync(join(workspaceDir, "hook.mjs"))).toBe(false);
  for (const server of config.mcpServers) expect([server.name, trustProblem(server, workspaceDir)]).toEqual([server.name, undefined]);

  // The same changes made by hand (or by a host-side tool): each server stays off, naming what changed.
  write("package.json", `${JSON.stringify({ name: "app", scripts: { mcp: "node evil.mjs" } })}\n`);
  write("srv2/server.mjs", "process.exit(9)\n");
  write("json.py", "import os\n");
  write("hook.mjs", "process.exit(9)\n");
  const { notices, states } = await startMcpServers(config.mcpServers, workspaceDir);
  expect(states).toEqual([
    ["npmrun", "untrusted"],
    ["shell", "untrusted"],
    ["inline", "untrusted"],
    ["hooked", "untrusted"],
  ]);
  const said = notices.join("\n");
  expect(said).toContain('mcp: npmrun stays off: what it runs changed since you confirmed it: "package.json" (changed)');
  expect(said).toContain('mcp: shell stays off: what it runs changed since you confirmed it: "srv2/server.mjs" (changed)');
  expect(said).toContain('mcp: inline stays off: what it runs changed since you confirmed it: "json.py" (new)');
  expect(said).toContain('mcp: hooked stays off: what it runs changed since you confirmed it: "hook.mjs" (new)');
}, 120_000);
