// The egress guard's cost: a download through the guard (its Unix socket, a plain request) against the same download
// straight from the server on loopback; the time to a small answer's first byte either way (what a connection gains);
// and a sandboxed `/bin/true` given egress against one without (the guard's start and the forwarder's bun). Each pair
// interleaved run by run, so a busy machine slows both alike; medians, with the core count and the load.
// The server and the client each run in a process of their own, as they do for real (a registry far away, a command
// in the sandbox): in one process the guard's relay would share a thread with both ends and pay for their copies too.
//   bun bench/egress.ts [--mb 200] [--runs 20]
import { mkdtempSync, rmSync } from "node:fs";
import { connect, createServer, type Socket } from "node:net";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    mb: { type: "string", default: "200" },
    runs: { type: "string", default: "20" },
    // The two ends, run by the bench itself in processes of their own.
    serve: { type: "boolean", default: false },
    fetch: { type: "string" },
    port: { type: "string" },
  },
});
const megabytes = Number(values.mb);
const runs = Number(values.runs);
const MIB = 1024 * 1024;
const median = (numbers: number[]) => [...numbers].sort((a, b) => a - b)[Math.floor(numbers.length / 2)] ?? Number.NaN;
type ClientFigures = { downloads: { direct: number[]; guarded: number[] }; firstBytes: { direct: number[]; guarded: number[] } };

/** The server's end: a small answer, or `megabytes` MiB for /big; prints its port. */
function serve(): void {
  const block = Buffer.alloc(MIB, 120);
  const server = createServer((socket) => {
    socket.on("error", () => {});
    socket.once("data", async (chunk: Buffer) => {
      const big = chunk.toString("latin1").split(" ")[1]?.endsWith("/big") === true;
      const length = big ? megabytes * MIB : 5;
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${length}\r\nConnection: close\r\n\r\n`);
      if (!big) return void socket.end("small");
      for (let sent = 0; sent < megabytes; sent++) {
        if (!socket.write(block)) await new Promise((resolve) => socket.once("drain", resolve));
      }
      socket.end();
    });
  });
  server.listen(0, "127.0.0.1", () => console.log((server.address() as { port: number }).port));
}

/** Opens `open()`, sends `request`, and times the first byte and the end; resolves with both (ms) and the bytes read. */
function timed(open: () => Socket, request: string): Promise<{ firstByteMs: number; totalMs: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let firstByteMs = 0;
    let bytes = 0;
    const socket = open();
    socket.on("connect", () => socket.write(request));
    socket.on("data", (chunk: Buffer) => {
      if (bytes === 0) firstByteMs = performance.now() - started;
      bytes += chunk.length;
    });
    socket.on("close", () => resolve({ firstByteMs, totalMs: performance.now() - started, bytes }));
    socket.on("error", reject);
  });
}

/** The client's end: downloads and small requests, direct and through the guard's socket, interleaved; prints JSON. */
async function fetchAll(port: number, socketPath: string): Promise<void> {
  const direct = (path: string) => timed(() => connect(port, "127.0.0.1"), `GET ${path} HTTP/1.1\r\nHost: bench.test\r\n\r\n`);
  const guarded = (path: string) => timed(() => connect(socketPath), `GET http://bench.test:${port}${path} HTTP/1.1\r\n\r\n`);
  const figures: ClientFigures = { downloads: { direct: [], guarded: [] }, firstBytes: { direct: [], guarded: [] } };
  for (let run = 0; run < Math.max(3, Math.round(runs / 4)); run++) {
    for (const [name, fetch] of [
      ["direct", direct],
      ["guarded", guarded],
    ] as const) {
      const { totalMs, bytes } = await fetch("/big");
      if (bytes < megabytes * MIB) throw new Error(`${name} download got ${bytes} bytes of ${megabytes} MiB`);
      figures.downloads[name].push(megabytes / (totalMs / 1000));
    }
  }
  for (let run = 0; run < runs * 10; run++) {
    figures.firstBytes.direct.push((await direct("/small")).firstByteMs);
    figures.firstBytes.guarded.push((await guarded("/small")).firstByteMs);
  }
  console.log(JSON.stringify(figures));
}

/** Runs this file again as one of the ends, with `args`. */
function end(args: string[]) {
  return Bun.spawn([process.execPath, import.meta.path, "--mb", String(megabytes), "--runs", String(runs), ...args], {
    stdout: "pipe",
    stderr: "inherit",
  });
}

async function main(): Promise<void> {
  const { egressRules } = await import("../config/egress-policy.ts");
  const { EgressGuard } = await import("../sandbox/egress-guard.ts");
  const { Sandbox } = await import("../sandbox/run-sandboxed.ts");
  const { sandboxPolicy } = await import("../sandbox/sandbox-policy.ts");
  const root = mkdtempSync(join(tmpdir(), "org-bench-egress-"));
  const server = end(["--serve"]);
  try {
    const reader = server.stdout.getReader();
    const port = Number(new TextDecoder().decode((await reader.read()).value).trim());
    reader.releaseLock();
    const unbounded = { bytesIn: Number.MAX_SAFE_INTEGER, bytesOut: Number.MAX_SAFE_INTEGER, connections: 10_000, connectionsPerMinute: 100_000 };
    const guard = await EgressGuard.start({
      rules: egressRules({ allow: ["bench.test"], ports: [port], limits: unbounded }),
      socketPath: join(root, "guard.sock"),
      resolver: async () => ["127.0.0.1"],
      treatAsPublic: new Set(["127.0.0.1"]),
    });
    const client = end(["--fetch", join(root, "guard.sock"), "--port", String(port)]);
    const output = await new Response(client.stdout).text();
    if ((await client.exited) !== 0) throw new Error("the bench's client failed (its error is above)");
    const { downloads, firstBytes } = JSON.parse(output) as ClientFigures;

    const sandbox = new Sandbox();
    const off = sandboxPolicy({ poolSize: 0, workspace: "none" });
    const on = sandboxPolicy({ poolSize: 0, workspace: "none", egress: egressRules({ allow: ["bench.test"] }) });
    const sandboxRuns = { off: [] as number[], on: [] as number[] };
    for (let run = 0; run < runs + 1; run++) {
      for (const [name, policy] of [
        ["off", off],
        ["on", on],
      ] as const) {
        const started = performance.now();
        const result = await sandbox.run({ policy, argv: ["/bin/true"], scratchDir: join(root, `scratch-${name}`), egress: {} });
        if (result.exitCode !== 0) throw new Error(`the sandbox with egress ${name} failed: ${result.stderr}`);
        // The first pair starts bwrap's probe and warms the caches: left out.
        if (run > 0) sandboxRuns[name].push(performance.now() - started);
      }
    }
    await guard.stop();

    const ratio = median(downloads.guarded) / median(downloads.direct);
    const added = median(firstBytes.guarded) - median(firstBytes.direct);
    const slower = median(sandboxRuns.on) - median(sandboxRuns.off);
    console.log(
      `${availableParallelism()} cores, load ${loadavg()[0]?.toFixed(1)}; ${megabytes} MiB downloads, ` +
        `${runs * 10} small requests, ${runs} sandbox runs each`,
    );
    console.log(
      `download: direct ${median(downloads.direct).toFixed(0)} MiB/s, through the guard ${median(downloads.guarded).toFixed(0)} MiB/s ` +
        `(${ratio.toFixed(2)}×; target ≥ 0.8×: ${ratio >= 0.8 ? "met" : "NOT met"})`,
    );
    console.log(
      `first byte of a small answer: direct ${median(firstBytes.direct).toFixed(2)} ms, through the guard ` +
        `${median(firstBytes.guarded).toFixed(2)} ms ` +
        `(+${added.toFixed(2)} ms; target ≤ 2 ms: ${added <= 2 ? "met" : "NOT met"})`,
    );
    console.log(
      `sandboxed /bin/true: egress off ${median(sandboxRuns.off).toFixed(1)} ms, on ${median(sandboxRuns.on).toFixed(1)} ms ` +
        `(+${slower.toFixed(1)} ms; target ≤ +5 ms: ${slower <= 5 ? "met" : "NOT met"})`,
    );
  } finally {
    server.kill();
    rmSync(root, { recursive: true, force: true });
  }
}

if (values.serve) serve();
else if (values.fetch !== undefined) await fetchAll(Number(values.port), values.fetch);
else await main();
