import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { runGeneratedTool } from "../generated-tools/run-generated-tool.ts";
import { SANDBOX_BUN } from "../generated-tools/sandbox-toolchain.ts";
import { Sandbox } from "../sandbox/run-sandboxed.ts";
import type { SandboxOptions } from "../sandbox/sandbox-options.ts";
import type { SandboxResult } from "../sandbox/sandbox-result.ts";
import { DEFAULT_SANDBOX_POLICY } from "../sandbox/sandbox-policy.ts";
import { TEXT_AND_LOUD, workflowWorkspace } from "../testing/workflow-fixture.ts";
import { generatedToolCaller } from "./generated-tool-caller.ts";
import { loadWorkflowGraph } from "./load-workflow.ts";
import { runWorkflow } from "./run-workflow.ts";

// A generated tool's code cannot open a socket (its globals are withheld), so the network namespace under it is proved
// apart: each sandbox a tool's run asks for is first run with a probe in place of the runner, the same options
// otherwise (policy, mounts, environment, no egress), and the probe must find no way out. Issue 76: every sandbox has a
// network namespace of its own with no route out unless it is given the egress guard.

/**
 * Connects to the host's loopback (a server this test runs) and to a public address, and prints how each ended, with the
 * routes and the interfaces the namespace has.
 */
const PROBE = `
const net = require("node:net");
const attempt = (host, port) => new Promise((resolve) => {
  const socket = net.connect({ host, port });
  const timer = setTimeout(() => { socket.destroy(); resolve("no answer in 5 s"); }, 5000);
  socket.on("connect", () => { clearTimeout(timer); socket.destroy(); resolve("connected"); });
  socket.on("error", (error) => { clearTimeout(timer); resolve(error.code ?? String(error)); });
});
const loopback = await attempt("127.0.0.1", Number(process.argv.at(-1)));
if (process.env.PROBE_LOOPBACK_ONLY) { console.log(JSON.stringify({ loopback })); process.exit(0); }
const outside = await attempt("93.184.216.34", 80);
const fs = require("node:fs");
const routes = fs.readFileSync("/proc/net/route", "utf8").trim().split("\\n").length - 1;
const interfaces = fs.readFileSync("/proc/net/dev", "utf8").trim().split("\\n").slice(2).map((line) => line.split(":")[0].trim());
console.log(JSON.stringify({ loopback, outside, routes, interfaces }));
`;

/** The sandbox org runs generated tools in, probing the network of every runner's sandbox before running it. */
class ProbingSandbox extends Sandbox {
  readonly probes: SandboxResult[] = [];
  constructor(readonly hostPort: number) {
    super();
  }
  override async run(options: SandboxOptions): Promise<SandboxResult> {
    if (options.argv[0] === SANDBOX_BUN) {
      const { stdin: _stdin, ...rest } = options;
      this.probes.push(await super.run({ ...rest, argv: [SANDBOX_BUN, "-e", PROBE, String(this.hostPort)] }));
    }
    return super.run(options);
  }
}

let server: Bun.TCPSocketListener<undefined>;
let reached = 0;
beforeAll(() => {
  const socket = {
    open(client: Bun.Socket<undefined>) {
      reached += 1;
      client.end();
    },
    data() {},
  };
  server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket });
});
afterAll(() => server.stop(true));

/** What each probe said; every probe must have run and answered. */
function probed(sandbox: ProbingSandbox): unknown[] {
  return sandbox.probes.map((probe) => JSON.parse(/^\{.*\}$/m.exec(probe.stdout)?.[0] ?? `{"stderr":${JSON.stringify(probe.stderr)}}`));
}

describe("the network under a generated tool's run and a workflow's step (real sandbox)", () => {
  test("outside a sandbox the probe reaches the host's server: it can tell a way out", async () => {
    const before = reached;
    const host = Bun.spawn([process.execPath, "-e", PROBE, String(server.port)], {
      stdout: "pipe",
      stderr: "pipe",
      // The host may have a route out that drops packets: only its loopback is asked.
      env: { ...process.env, PROBE_LOOPBACK_ONLY: "1" },
    });
    const said = JSON.parse(/^\{.*\}$/m.exec(await new Response(host.stdout).text())?.[0] ?? "{}");
    expect(said.loopback).toBe("connected");
    expect(reached).toBe(before + 1);
  }, 30_000);

  test("a generated tool's run and a workflow's step find neither the host's loopback nor a public address", async () => {
    using workspace = workflowWorkspace("org-step-network-");
    const sandbox = new ProbingSandbox(server.port);
    const access = { sandbox, sandboxPolicy: DEFAULT_SANDBOX_POLICY };
    const before = reached;
    const schema = { type: "object" };
    const run = await runGeneratedTool({
      ...access,
      toolDir: join(workspace.dir, "tools", "generated", "word_count"),
      inputSchema: schema,
      outputSchema: schema,
      input: { text: "one two" },
      scratchDir: join(workspace.dir, ".org", "scratch", "tool"),
    });
    expect(run).toMatchObject({ ok: true, output: { words: 2 } });
    const tools = generatedToolCaller({ ...access, roots: [workspace.dir], scratchDir: join(workspace.dir, ".org", "scratch", "step") });
    const flow = workspace.write("count.json", {
      name: "count",
      inputs: TEXT_AND_LOUD,
      steps: [{ id: "count", tool: "word_count", inputs: { text: "$inputs.text" } }],
      output: { words: "$steps.count.output.words" },
    });
    const output = await runWorkflow(
      loadWorkflowGraph(flow, { checkTool: tools.checkTool }),
      { text: "a b c", loud: false },
      { callTool: tools.callTool },
    );
    expect(output).toEqual({ words: 3 });
    // Its own loopback has nothing listening; no route and no interface lead anywhere else (a connection there fails at
    // once); the host's server saw nobody.
    const closed = { loopback: "ECONNREFUSED", outside: expect.stringMatching(/^(ECONNREFUSED|ENETUNREACH)$/), routes: 0, interfaces: ["lo"] };
    expect(probed(sandbox)).toEqual([closed, closed]);
    expect(reached).toBe(before);
  }, 60_000);
});
