import { afterAll, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { egressRules } from "../config/egress-policy.ts";
import type { AuditEntry } from "../security/audit-log.ts";
import { type CallContext, type PersonQuestion, runTool, toolSet } from "./define-tool.ts";
import { sandboxPolicy } from "../sandbox/sandbox-policy.ts";
import { Sandbox } from "../sandbox/run-sandboxed.ts";
import { WAITER_SHELL } from "../sandbox/hand-over.ts";
import { prestartSessionSandbox } from "./run-in-sandbox.ts";
import { sh } from "./sh.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";

const workspaceDir = mkdtempSync(join(tmpdir(), "org-run-in-sandbox-"));
afterAll(() => rmSync(workspaceDir, { recursive: true, force: true }));
const context = (): CallContext => ({ ...testSandboxAccess(), signal: new AbortController().signal, workspaceDir });

test("a policy with the sandbox off reaches the sandbox through the tool's context: it runs on the host, with a loud warning every time", async () => {
  const tools = toolSet([sh]);
  const call = { name: "sh", arguments: { cmd: "id -u; pwd" } };
  const written: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  try {
    // A harmless command that shows where it ran: the host keeps its uid and the scratch's host path.
    for (let run = 0; run < 2; run += 1) {
      const result = await runTool(tools, call, { ...context(), sandboxPolicy: sandboxPolicy({ enabled: false }) });
      expect(result.data).toMatchObject({ stdout: `${process.getuid?.()}\n${join(workspaceDir, ".org", "scratch", "default")}\n` });
    }
  } finally {
    process.stderr.write = write;
  }
  expect(written.filter((line) => line.includes("UNSANDBOXED"))).toHaveLength(2);
  // Without a policy in the context: the default one, sandboxed.
  expect((await runTool(tools, call, context())).data).toMatchObject({ stdout: "65534\n/scratch\n" });
});

test("ORG_SANDBOX=off in the environment alone does not reach a tool: only the policy in its context does", async () => {
  const previous = process.env.ORG_SANDBOX;
  process.env.ORG_SANDBOX = "off";
  try {
    const result = await runTool(toolSet([sh]), { name: "sh", arguments: { cmd: "id -u" } }, context());
    expect(result.data).toMatchObject({ stdout: "65534\n" });
  } finally {
    if (previous === undefined) delete process.env.ORG_SANDBOX;
    else process.env.ORG_SANDBOX = previous;
  }
});

test("no file of sandbox/ reads the environment: settings and secrets come from the caller", () => {
  const directory = join(import.meta.dir, "..", "sandbox");
  const readers = readdirSync(directory)
    .filter((name) => name.endsWith(".ts") && !name.endsWith(".test.ts"))
    .filter((name) => /process\.env|config\/environment/.test(readFileSync(join(directory, name), "utf8")));
  expect(readers).toEqual([]);
});

test("no tool file of tools/ reads the environment: the sandbox policy comes through the tool's context", () => {
  const directory = import.meta.dir;
  const readers = readdirSync(directory)
    .filter((name) => name.endsWith(".ts") && !name.endsWith(".test.ts"))
    .filter((name) => /process\.env|config\/environment/.test(readFileSync(join(directory, name), "utf8")));
  expect(readers).toEqual([]);
});

test("under the write view, two commands of one session at once take turns on its copy: each change holds only its own files", async () => {
  const writeDir = mkdtempSync(join(tmpdir(), "org-run-in-sandbox-write-"));
  chmodSync(writeDir, 0o755);
  // One context for the session's calls, as a room gives: one registry of copies, whose lock they share.
  const access = testSandboxAccess(sandboxPolicy({ workspace: "write", poolSize: 0 }));
  try {
    writeFileSync(join(writeDir, "base.txt"), "base\n");
    const proposed: Record<string, readonly string[]> = {};
    const run = (name: string, cmd: string) =>
      runTool(
        toolSet([sh]),
        { name: "sh", arguments: { cmd } },
        {
          ...access,
          signal: new AbortController().signal,
          workspaceDir: writeDir,
          sessionId: "both",
          workspaceWrite: async (proposal) => {
            proposed[name] = proposal.paths;
            return "not applied here";
          },
        },
      );
    await Promise.all([run("slow", "sleep 1; echo a > a.txt"), run("quick", "echo b > b.txt")]);
    expect(proposed).toEqual({ slow: ["a.txt"], quick: ["b.txt"] });
    // Running the project's Python leaves no bytecode cache to come back as a change.
    writeFileSync(join(writeDir, "mod.py"), "VALUE = 1\n");
    await run("python", "python3 -c 'import mod; print(mod.VALUE)' && echo c > c.txt");
    expect(proposed.python).toEqual(["c.txt"]);
  } finally {
    access.workspaceCopies.release(writeDir, "both", { keepSpare: false });
    rmSync(writeDir, { recursive: true, force: true });
  }
}, 30_000);

test("under sandbox.egress, sh asks the person about an unlisted host through the context, and audits each connection", async () => {
  const asked: PersonQuestion[] = [];
  const entries: AuditEntry[] = [];
  const policy = sandboxPolicy({ poolSize: 0, workspace: "none", egress: egressRules({ unlisted: "ask" }) });
  const cmd =
    "curl -sS --max-time 5 http://asked.invalid/; curl -sS --max-time 5 http://refused.invalid/; curl -sS http://job.invalid/\necho second line";
  const result = await runTool(
    toolSet([sh]),
    { name: "sh", arguments: { cmd } },
    {
      ...context(),
      sandboxPolicy: policy,
      persona: "agent",
      callId: "call-7",
      audit: { record: (entry) => entries.push(entry) },
      askPerson: async (question) => {
        asked.push(question);
        // The person takes a while: each asked connection's line counts it in its duration.
        await Bun.sleep(60);
        // As the room answers where nobody can (a serve job, a run without a terminal).
        if (question.call.arguments.connect === "job.invalid:80") return { denied: "nobody can answer an approval question here" };
        return question.call.arguments.connect === "asked.invalid:80";
      },
    },
  );
  // Said yes, the guard went on to resolve the name itself (a name that cannot resolve); said no, it refused.
  expect(result.output).toContain("org's egress guard could not resolve asked.invalid");
  expect(result.output).toContain("refused refused.invalid:80: not on sandbox.egress.allow, and the person said no");
  expect(result.output).toContain("refused job.invalid:80: not on sandbox.egress.allow, and nobody is there to ask");
  expect(result.output).toContain("network: refused asked.invalid: does not resolve; refused refused.invalid:");
  const firstLine = "curl -sS --max-time 5 http://asked.invalid/; curl -sS --max-time 5 http://refused.invalid/; curl -sS http://job.invalid/";
  expect(asked.map((question) => [question.call, question.always.key])).toEqual([
    [{ id: "call-7", name: "sh", arguments: { connect: "asked.invalid:80", command: firstLine } }, "egress\u0000asked.invalid:80"],
    [{ id: "call-7", name: "sh", arguments: { connect: "refused.invalid:80", command: firstLine } }, "egress\u0000refused.invalid:80"],
    [{ id: "call-7", name: "sh", arguments: { connect: "job.invalid:80", command: firstLine } }, "egress\u0000job.invalid:80"],
  ]);
  const lines = entries.filter((entry) => entry.tool === "egress");
  expect(lines.map((entry) => entry.persona)).toEqual(["agent", "agent", "agent"]);
  for (const entry of lines) expect(entry.durationMs).toBeGreaterThanOrEqual(50);
  const connections = lines.map((entry) => entry.connection);
  expect(connections).toMatchObject([
    { host: "asked.invalid", port: 80, allowed: false, rule: "does not resolve", command: firstLine, callId: "call-7" },
    { host: "refused.invalid", port: 80, allowed: false, rule: "not on sandbox.egress.allow, and the person said no" },
    { host: "job.invalid", port: 80, allowed: false, rule: "not on sandbox.egress.allow, and nobody is there to ask" },
  ]);
});

test("a session under sandbox.egress starts no sandbox ahead: its calls carry the proxy variables, which none could take", () => {
  const sandbox = new Sandbox();
  try {
    const session = { ...testSandboxAccess(), sandbox, workspaceDir, sessionId: "egress-prestart" };
    prestartSessionSandbox({ ...session, sandboxPolicy: sandboxPolicy({ workspace: "none", egress: egressRules({ allow: ["example.com"] }) }) });
    expect(sandbox.pool.waitingPids()).toEqual([]);
    // The same session without egress does start one (where dash is there to wait in).
    prestartSessionSandbox({ ...session, sandboxPolicy: sandboxPolicy({ workspace: "none" }) });
    if (existsSync(WAITER_SHELL)) expect(sandbox.pool.waitingPids()).toHaveLength(1);
  } finally {
    sandbox.pool.discardAll();
  }
});
