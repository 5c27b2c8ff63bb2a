// serve with ORG_API_HMAC_SECRET set, flooded by requests nobody signed: N connections from one client, each a
// `POST /v1/jobs` with the current `x-org-timestamp`, a made-up `x-org-signature` and a body that never completes
// (`--bytes` of the `Content-Length: 65536` it declares). Prints the server's RSS (VmRSS of its process) idle, with
// the connections open, and after they closed; how many were answered, with which status, and how soon.
//   npm run bench:unsigned-bodies -- [--connections 2000] [--bytes 60000] [--hold 3]
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { startOrgServe } from "../testing/org-serve-process.ts";

const { values } = parseArgs({
  options: {
    connections: { type: "string", default: "2000" },
    bytes: { type: "string", default: "60000" },
    hold: { type: "string", default: "3" },
  },
});
const connections = Number(values.connections);
const bytes = Number(values.bytes);
const holdMs = Number(values.hold) * 1000;

const workspace = mkdtempSync(join(tmpdir(), "org-bench-unsigned-"));
const model = await startScriptedServer({ script: { rules: [{ reply: { text: "ok" } }] }, port: 0 });
const serve = await startOrgServe({ workspace, modelUrl: model.url, env: { ORG_API_HMAC_SECRET: "bench-secret-value" } });
const { hostname, port } = new URL(serve.url);

function rssMb(): number {
  const status = readFileSync(`/proc/${serve.child.pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN) / 1024;
}

type Probe = { socket: Bun.Socket<undefined> | undefined; status: number | undefined; answeredMs: number | undefined; closed: boolean };
const started = performance.now();
const probes: Probe[] = [];
const filler = "x".repeat(bytes);
async function open(): Promise<Probe> {
  const probe: Probe = { socket: undefined, status: undefined, answeredMs: undefined, closed: false };
  const head =
    `POST /v1/jobs HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: application/json\r\nContent-Length: 65536\r\n` +
    `x-org-timestamp: ${Math.floor(Date.now() / 1000)}\r\nx-org-signature: sha256=${crypto.randomUUID().replaceAll("-", "").repeat(2)}\r\n\r\n`;
  probe.socket = await Bun.connect({
    hostname,
    port: Number(port),
    socket: {
      data(_socket, data) {
        if (probe.status !== undefined) return;
        probe.status = Number(/^HTTP\/1\.1 (\d{3})/.exec(data.toString("latin1"))?.[1] ?? 0);
        probe.answeredMs = performance.now() - started;
      },
      close() {
        probe.closed = true;
      },
      error() {
        probe.closed = true;
      },
    },
  });
  probe.socket.write(head + filler);
  return probe;
}

console.log(
  `unsigned bodies — ${connections} connections from one client, ${bytes} of 65536 declared bytes each, ` +
    `held ${values.hold} s; nproc ${availableParallelism()}; bun ${Bun.version}; load ${loadavg()[0]?.toFixed(1)}`,
);
const idle = rssMb();
console.log(`idle           RSS ${idle.toFixed(1)} MB`);
try {
  for (let index = 0; index < connections; index += 50) {
    probes.push(...(await Promise.all(Array.from({ length: Math.min(50, connections - index) }, () => open()))));
  }
  await Bun.sleep(holdMs);
  const held = rssMb();
  const statuses = new Map<number, number>();
  for (const probe of probes) if (probe.status !== undefined) statuses.set(probe.status, (statuses.get(probe.status) ?? 0) + 1);
  const answered = probes.filter((probe) => probe.status !== undefined);
  const slowest = Math.max(0, ...answered.map((probe) => probe.answeredMs ?? 0));
  console.log(`held ${values.hold} s      RSS ${held.toFixed(1)} MB (+${(held - idle).toFixed(1)} MB)`);
  console.log(
    `answered ${answered.length} of ${connections} (${[...statuses].map(([status, count]) => `${status}: ${count}`).join(", ") || "none"}), ` +
      `the last at ${(slowest / 1000).toFixed(2)} s; closed by the server ${probes.filter((probe) => probe.closed).length}`,
  );
  for (const probe of probes) probe.socket?.end();
  await Bun.sleep(3000);
  const after = rssMb();
  console.log(`closed +3 s    RSS ${after.toFixed(1)} MB (+${(after - idle).toFixed(1)} MB over idle)`);
} finally {
  for (const probe of probes) probe.socket?.terminate();
  await serve.stop();
  await model.stop();
  rmSync(workspace, { recursive: true, force: true });
}
