import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { z } from "zod";
import { defineTool, runTool, type ToolContext, toolSet } from "../tools/define-tool.ts";
import { pythonRun } from "../tools/python-run.ts";
import { sh } from "../tools/sh.ts";
import { AuditLog } from "../security/audit-log.ts";
import { createHostileEnvironment, type HostileEnvironment } from "../testing/hostile-environment.ts";
import { runInTestSandbox } from "../testing/test-sandbox.ts";
import { sandboxPolicy } from "./sandbox-policy.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";

// docs/ARCHITECTURE.md invariants 1–4, each against the real sandbox and the real tools.

let env: HostileEnvironment;
beforeAll(async () => {
  env = await createHostileEnvironment();
});
afterAll(async () => {
  await env.close();
});

const context = (): ToolContext => ({
  ...testSandboxAccess(),
  signal: new AbortController().signal,
  workspaceDir: env.workspaceDir,
  sessionId: "inv",
});
const tools = () => toolSet([sh, pythonRun]);

describe("docs/ARCHITECTURE.md invariants", () => {
  test("invariant 1: model-made commands and code run only through sandbox/", async () => {
    // The built-in tools that run model text land inside the sandbox: its uid, hostname and seccomp.
    const probe = "echo $(id -u) $(cat /proc/sys/kernel/hostname) $(grep -c '^Seccomp:.2' /proc/self/status)";
    const shell = await runTool(tools(), { name: "sh", arguments: { cmd: probe } }, context());
    expect(shell.output).toContain("stdout:\n65534 sandbox 1");
    const python = await runTool(
      tools(),
      { name: "python_run", arguments: { code: "import os, socket; print(os.getuid(), socket.gethostname())" } },
      context(),
    );
    expect(python.output).toContain("stdout:\n65534 sandbox");
    // No tool file starts processes itself; they all go through sandbox/run-sandboxed.ts.
    const toolsDir = join(import.meta.dir, "..", "tools");
    const toolFiles = readdirSync(toolsDir, { recursive: true, encoding: "utf8" }).filter(
      (file) => file.endsWith(".ts") && !file.endsWith(".test.ts"),
    );
    for (const file of toolFiles) {
      const source = readFileSync(join(toolsDir, file), "utf8");
      expect({ file, spawns: /Bun\.spawn|child_process|Bun\.\$|execSync|spawnSync/.test(source) }).toEqual({ file, spawns: false });
    }
  });

  test("invariant 2: the sandbox gets no secrets: cleared environment, no home, no repo credentials", async () => {
    const cmd = [
      "env",
      "tr '\\0' '\\n' < /proc/1/environ",
      "echo HOME=$HOME",
      `ls -a ~ /root ${env.workspaceDir} 2>&1`,
      `cat ${env.workspaceDir}/.env ${env.workspaceDir}/.git/config 2>&1`,
    ].join("; ");
    const result = await runInTestSandbox({ argv: ["/bin/sh", "-c", cmd], scratchDir: env.scratchFor("invariant-2"), timeoutMs: 5000 });
    expect(result.stdout).not.toContain(env.fakeToken);
    expect(result.stdout).not.toContain(env.fakeTokenName);
    expect(result.stdout).not.toContain("do-not-leak");
    expect(result.stdout).not.toContain("[core]");
    const variables = result.stdout
      .split("\n")
      .filter((line) => /^[A-Z_]+=/.test(line))
      .map((line) => line.split("=")[0]);
    expect(new Set(variables)).toEqual(new Set(["HOME", "TMPDIR", "PATH", "LANG", "PWD"]));
    expect(result.stdout).toContain("HOME=/scratch");
  });

  describe("invariant 3: no network in the sandbox unless asked", () => {
    let server: Server;
    let port = 0;
    let accepted = 0;
    beforeAll(async () => {
      server = createServer((socket) => {
        accepted += 1;
        socket.end("hello from the host\n");
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      port = (server.address() as { port: number }).port;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    const connect = (network: boolean | undefined) =>
      runInTestSandbox({
        argv: [
          "/usr/bin/python3",
          "-I",
          "-c",
          `import socket\ntry:\n  s = socket.create_connection(("127.0.0.1", ${port}), timeout=2); print(s.recv(100).decode().strip())\nexcept OSError as e: print("refused", e.errno)`,
        ],
        scratchDir: env.scratchFor("invariant-3"),
        timeoutMs: 5000,
        network,
        ...(network ? { policy: sandboxPolicy({ network: true }) } : {}),
      });

    test("invariant 3: by default a host listener on 127.0.0.1 is unreachable", async () => {
      const result = await connect(undefined);
      expect(result.stdout).toBe("refused 111\n");
      expect(accepted).toBe(0);
    });

    test("invariant 3: network: true under a policy that does not allow it is refused, and nothing runs", async () => {
      await expect(runInTestSandbox({ argv: ["/bin/true"], scratchDir: env.scratchFor("invariant-3"), network: true })).rejects.toThrow(
        /asks for the host's network, which its sandbox policy does not allow/,
      );
      expect(accepted).toBe(0);
    });

    test("invariant 3: with network: true under a policy that allows it, the same listener is reached", async () => {
      const result = await connect(true);
      expect(result.stdout).toBe("hello from the host\n");
      expect(accepted).toBe(1);
    });
  });

  test("invariant 4: every tool output passes the redactor before anyone sees it", async () => {
    const token = `ghp_${"Q1w2E3r4T5y6".repeat(3)}`;
    const leaky = defineTool("leaky", {
      description: "returns a token, as a careless tool might",
      parameters: z.object({}),
      execute: async () => `here: ${token} and ${env.fakeToken}`,
    });
    const audit = new AuditLog(join(env.workspaceDir, ".org", "audit"));
    const ctx = { ...context(), audit };
    const all = toolSet([sh, pythonRun, leaky]);
    const outputs = [
      await runTool(all, { name: "leaky", arguments: {} }, ctx),
      await runTool(all, { name: "sh", arguments: { cmd: `echo ${token}; echo $0 >&2` } }, ctx),
      await runTool(all, { name: "python_run", arguments: { code: `print("${env.fakeToken}")` } }, ctx),
    ].map((result) => result.output);
    for (const output of outputs) {
      expect(output).not.toContain(token);
      expect(output).not.toContain(env.fakeToken);
      expect(output).toContain("[REDACTED]");
    }
    const day = new Date().toISOString().slice(0, 10);
    const log = readFileSync(join(env.workspaceDir, ".org", "audit", `${day}.jsonl`), "utf8");
    expect(log.trimEnd().split("\n")).toHaveLength(3);
    expect(log).not.toContain(token);
    expect(log).not.toContain(env.fakeToken);
  });
});
