import { join } from "node:path";
import { z } from "zod";
import { egressRules } from "../config/egress-policy.ts";
import { oneLine } from "../security/terminal-sanitizer.ts";
import { EGRESS_BUN, EGRESS_PORT } from "./egress-run.ts";
import type { Sandbox } from "./run-sandboxed.ts";
import type { SandboxPolicy } from "./sandbox-policy.ts";

// Run inside by the forwarder's own bun (a sandbox may have no curl): one request through the proxy for a host no
// rule lists, and one connection straight to a server org listens on at the host's loopback, which a sandbox
// sharing the host's network would reach.
const PROBE = `
const net = require("node:net");
const ask = (host, port, text) => new Promise((resolve) => {
  const socket = net.connect({ host, port });
  let out = "";
  const timer = setTimeout(() => { socket.destroy(); resolve(out + "(no answer in 15 s)"); }, 15000);
  socket.on("connect", () => { out = "connected "; socket.write(text); });
  socket.on("data", (data) => { out += data; });
  socket.on("close", () => { clearTimeout(timer); resolve(out); });
  socket.on("error", (error) => { clearTimeout(timer); resolve(out + "error " + error.code); });
});
const [proxyPort, hostPort] = process.argv.slice(-2).map(Number);
const guarded = await ask("127.0.0.1", proxyPort, "GET http://egress-check.invalid/ HTTP/1.1\\r\\n\\r\\n");
const direct = await ask("127.0.0.1", hostPort, "");
console.log(JSON.stringify({ guarded, direct }));
`;

const ProbeAnswer = z.object({ guarded: z.string(), direct: z.string() });

/**
 * Whether org's egress guard starts and a sandbox reaches it through its forwarder, and whether a connection around
 * it finds no way out (a server on the host's loopback stays out of reach): `org doctor` and `org sandbox check`.
 */
export async function checkEgress(sandbox: Sandbox, policy: SandboxPolicy, scratchRoot: string): Promise<{ ok: boolean; detail: string }> {
  const { createServer }: typeof import("node:net") = process.getBuiltinModule("node:net");
  const listener = createServer((socket) => socket.end("reached the host\n"));
  await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
  const address = listener.address();
  const hostPort = typeof address === "object" && address !== null ? address.port : 0;
  try {
    const result = await sandbox.run({
      policy: { ...policy, egress: egressRules({}) },
      argv: [EGRESS_BUN, "-e", PROBE, String(EGRESS_PORT), String(hostPort)],
      scratchDir: join(scratchRoot, "egress-scratch"),
      // Generous: a busy machine starts the forwarder, the guard and two connections slowly; a working guard answers at once.
      timeoutMs: 40_000,
      egress: {},
    });
    const said = /^\{.*\}$/m.exec(result.stdout)?.[0];
    const probe = ProbeAnswer.safeParse(said === undefined ? undefined : JSON.parse(said)).data;
    // A way around the guard first: it is the worse of the two, and a sandbox that has one may reach no guard either.
    if (probe !== undefined && !probe.direct.startsWith("error "))
      return {
        ok: false,
        detail:
          `a connection around the guard reached a server on the host's loopback (${oneLine(probe.direct).slice(0, 100)}): this ` +
          "sandbox shares the host's network, so a command given sandbox.egress could reach every service and address the " +
          "host can, guard or not. Leave sandbox.egress out of org.config.json until this check passes: every sandbox must " +
          "have a network namespace of its own (bwrap --unshare-net; sandbox/README.md, Network)",
      };
    if (!probe?.guarded.includes("org's egress guard refused egress-check.invalid"))
      return {
        ok: false,
        detail:
          `the sandbox could not reach org's egress guard (${oneLine(probe?.guarded ?? result.stderr).slice(0, 300)}), so ` +
          "commands given sandbox.egress have no network here. The guard listens on a Unix socket in org-egress-<uid> of " +
          "the temp folder (TMPDIR): it must be a local filesystem that takes sockets, its files left alone while org " +
          "runs; then run 'org sandbox check' again",
      };
    return { ok: true, detail: "the guard starts and answers inside; a connection around it finds no way out (its own network namespace)" };
  } finally {
    listener.close();
  }
}
