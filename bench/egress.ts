// The egress guard's cost: a download through the guard (its Unix socket, a plain request, whose answer the guard
// hands to splice(2) after its head and its first MiB) against the same download
// straight from the server on loopback, and through the forwarder and the guard as a sandboxed command's goes (the
// forwarder run outside a sandbox, on a free port), with the CPU each relay spends per MiB; the time to a small answer's
// first byte either way (what a connection gains); and a sandboxed `/bin/true` given egress against one without (the
// guard's start and the forwarder's), with each forwarder: perl's (org's default where /usr/bin/perl is) and bun's;
// a download through a CONNECT tunnel, relayed by splice(2) on the guard's relay thread and on bun's event loop, in
// rounds that alternate, with the guard's CPU per MiB for each. Each set interleaved run by run, so a busy machine
// slows them alike; medians, with the core count and the load.
// The server and the client each run in a process of their own, as they do for real (a registry far away, a command
// in the sandbox): in one process the guard's relay would share a thread with both ends and pay for their copies too.
// The downloads go through perl's forwarder where there is one; `--forwarder bun` measures bun's.
//   bun bench/egress.ts [--mb 200] [--runs 20] [--rounds 3] [--forwarder perl|bun]
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { connect, createServer, type Socket } from "node:net";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    mb: { type: "string", default: "200" },
    runs: { type: "string", default: "20" },
    forwarder: { type: "string", default: existsSync("/usr/bin/perl") ? "perl" : "bun" },
    // The two ends, run by the bench itself in processes of their own.
    serve: { type: "boolean", default: false },
    fetch: { type: "string" },
    port: { type: "string" },
    forward: { type: "string" },
    small: { type: "boolean", default: false },
    tunnel: { type: "boolean", default: false },
    "server-pid": { type: "string" },
    rounds: { type: "string", default: "3" },
  },
});
const megabytes = Number(values.mb);
const runs = Number(values.runs);
const forwarderKind = values.forwarder === "bun" ? "bun" : "perl";
const MIB = 1024 * 1024;
const median = (numbers: number[]) => [...numbers].sort((a, b) => a - b)[Math.floor(numbers.length / 2)] ?? Number.NaN;
type Downloads = { direct: number[]; guarded: number[]; forwarded: number[]; forwarderCpuMs: number; directEndsCpuMs: number };
type FirstBytes = { direct: number[]; guarded: number[] };
type Tunnelled = { direct: number[]; tunnelled: number[] };

/** CPU time (user and system, ms) a process of this machine has used so far, from /proc (Linux). */
function cpuMsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) * (1000 / 100);
}

/** CPU time (ms) the threads of a process have run so far: the scheduler's count in ns, /proc/PID/task/TID/schedstat summed. */
function runMsOf(pid: number): number {
  let ns = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, "utf8").split(" ")[0]);
    } catch {} // a thread that ended between the listing and the read
  }
  return ns / 1e6;
}

/**
 * The forwarder's process, whose CPU the downloads through it cost: bun's is this client's parent; perl's relay is a
 * process of its own (the forwarder became this client), found by its command line.
 */
function forwarderPid(forwardPort: number): number {
  if (forwarderKind === "bun") return process.ppid;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (argv[1]?.endsWith("egress-forwarder.pl") && argv[2] === String(forwardPort)) return Number(entry);
    } catch {}
  }
  throw new Error(`no relay of perl's forwarder on port ${forwardPort}`);
}

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

/**
 * The client's end: downloads direct, through the guard's socket and through the forwarder's port (`forwardPort`: this
 * client is then the command the forwarder runs, and reads its CPU from /proc), interleaved; or, with `small`, small
 * requests direct and through the guard. Prints JSON.
 */
async function fetchAll(port: number, socketPath: string, forwardPort: number | undefined, small: boolean): Promise<void> {
  const direct = (path: string) => timed(() => connect(port, "127.0.0.1"), `GET ${path} HTTP/1.1\r\nHost: bench.test\r\n\r\n`);
  const proxied = (path: string) => `GET http://bench.test:${port}${path} HTTP/1.1\r\n\r\n`;
  const guarded = (path: string) => timed(() => connect(socketPath), proxied(path));
  if (values.tunnel) {
    // A CONNECT tunnel whose first bytes begin a TLS record, as the guard asks; the bench's server reads the path after them.
    const tunnelled = (path: string) =>
      timed(() => connect(socketPath), `CONNECT bench.test:${port} HTTP/1.1\r\n\r\n\x16\x03 ${path} HTTP/1.1\r\n\r\n`);
    const result: Tunnelled = { direct: [], tunnelled: [] };
    for (let run = 0; run < Math.max(3, Math.round(runs / 4)); run++) {
      for (const [name, fetch] of [
        ["direct", direct],
        ["tunnelled", tunnelled],
      ] as const) {
        const { totalMs, bytes } = await fetch("/big");
        if (bytes < megabytes * MIB) throw new Error(`${name} download got ${bytes} bytes of ${megabytes} MiB`);
        result[name].push(megabytes / (totalMs / 1000));
      }
    }
    return console.log(JSON.stringify(result));
  }
  if (small) {
    const firstBytes: FirstBytes = { direct: [], guarded: [] };
    for (let run = 0; run < runs * 10; run++) {
      firstBytes.direct.push((await direct("/small")).firstByteMs);
      firstBytes.guarded.push((await guarded("/small")).firstByteMs);
    }
    return console.log(JSON.stringify(firstBytes));
  }
  const forwarded = (path: string) => timed(() => connect(forwardPort ?? 0, "127.0.0.1"), proxied(path));
  const downloads: Downloads = { direct: [], guarded: [], forwarded: [], forwarderCpuMs: 0, directEndsCpuMs: 0 };
  const serverPid = Number(values["server-pid"]);
  /** Both ends' CPU so far (this client's, all its threads, and the server's): what a direct download costs them. */
  const endsMs = () => {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1000 + runMsOf(serverPid);
  };
  const relay = forwardPort === undefined ? 0 : forwarderPid(forwardPort);
  for (let run = 0; run < Math.max(3, Math.round(runs / 4)); run++) {
    for (const [name, fetch] of [
      ["direct", direct],
      ["guarded", guarded],
      ["forwarded", forwarded],
    ] as const) {
      const cpuBefore = name === "forwarded" ? cpuMsOf(relay) : 0;
      const endsBefore = name === "direct" ? endsMs() : 0;
      const { totalMs, bytes } = await fetch("/big");
      if (name === "forwarded") downloads.forwarderCpuMs += cpuMsOf(relay) - cpuBefore;
      if (name === "direct") downloads.directEndsCpuMs += endsMs() - endsBefore;
      if (bytes < megabytes * MIB) throw new Error(`${name} download got ${bytes} bytes of ${megabytes} MiB`);
      downloads[name].push(megabytes / (totalMs / 1000));
    }
  }
  console.log(JSON.stringify(downloads));
}

/** This file again as one of the ends, with `args`. */
const endArgv = (args: string[]) => [
  process.execPath,
  import.meta.path,
  ...["--mb", String(megabytes), "--runs", String(runs), "--forwarder", forwarderKind],
  ...args,
];

/** Runs `argv` with its stdout piped; its JSON once it has ended. */
async function printed<T>(argv: string[]): Promise<T> {
  const child = Bun.spawn(argv, { stdout: "pipe", stderr: "inherit" });
  const output = await new Response(child.stdout).text();
  if ((await child.exited) !== 0) throw new Error("the bench's client failed (its error is above)");
  return JSON.parse(output) as T;
}

/** A port free on 127.0.0.1 a moment ago, for the forwarder. */
async function freePort(): Promise<number> {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const { port } = listener;
  listener.stop(true);
  return port;
}

async function main(): Promise<void> {
  const { egressRules } = await import("../config/egress-policy.ts");
  const { EgressGuard } = await import("../sandbox/egress-guard.ts");
  const { forwarderArgv } = await import("../sandbox/egress-run.ts");
  const { Sandbox } = await import("../sandbox/run-sandboxed.ts");
  const { sandboxPolicy } = await import("../sandbox/sandbox-policy.ts");
  const root = mkdtempSync(join(tmpdir(), "org-bench-egress-"));
  const server = Bun.spawn(endArgv(["--serve"]), { stdout: "pipe", stderr: "inherit" });
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
    const socketPath = join(root, "guard.sock");
    // The downloads' client is the command the forwarder runs, as a sandboxed command is; the guard runs in this process.
    const forwardPort = await freePort();
    const forwarder = forwarderArgv(forwarderKind, {
      folder: join(import.meta.dir, "..", "sandbox"),
      bun: process.execPath,
      port: forwardPort,
      socket: socketPath,
    });
    const client = endArgv(["--fetch", socketPath, "--port", String(port), "--forward", String(forwardPort), "--server-pid", String(server.pid)]);
    const guardCpu = process.cpuUsage();
    const downloads = await printed<Downloads>([...forwarder, "--", ...client]);
    const { user, system } = process.cpuUsage(guardCpu);
    const relayedMiB = megabytes * (downloads.guarded.length + downloads.forwarded.length);
    const guardMsPerMiB = (user + system) / 1000 / relayedMiB;
    const forwarderMsPerMiB = downloads.forwarderCpuMs / (megabytes * downloads.forwarded.length);
    // The direct download's two ends: their CPU a MiB, and how many cores they kept busy. Where they keep every core busy,
    // a relay costing R ms a MiB makes each MiB cost E + R of the same cores: it cannot be faster than E / (E + R) of direct.
    const endsMsPerMiB = downloads.directEndsCpuMs / (megabytes * downloads.direct.length);
    const endsCores = (endsMsPerMiB * median(downloads.direct)) / 1000;
    const ceiling = (relayMsPerMiB: number) => endsMsPerMiB / (endsMsPerMiB + relayMsPerMiB);
    const firstBytes = await printed<FirstBytes>(endArgv(["--fetch", socketPath, "--port", String(port), "--small"]));

    // Tunnels (CONNECT, as https goes): relayed by splice(2) on the guard's relay thread, against the guard's own relay on
    // bun's event loop, in rounds that alternate; the CPU of this process (the guard, all its threads) per MiB tunnelled.
    const fresh = (): { direct: number[]; tunnelled: number[]; cpuMs: number; mib: number } => ({ direct: [], tunnelled: [], cpuMs: 0, mib: 0 });
    const tunnels = { splice: fresh(), loop: fresh() };
    for (let round = 0; round < Number(values.rounds); round++) {
      for (const name of ["loop", "splice"] as const) {
        const tunnelPath = join(root, `tunnel-${name}.sock`);
        const tunnelGuard = await EgressGuard.start({
          rules: egressRules({ allow: ["bench.test"], ports: [port], tlsPorts: [port], limits: unbounded }),
          socketPath: tunnelPath,
          resolver: async () => ["127.0.0.1"],
          treatAsPublic: new Set(["127.0.0.1"]),
          relayBySplice: name === "splice",
        });
        const before = process.cpuUsage();
        const result = await printed<Tunnelled>(endArgv(["--fetch", tunnelPath, "--port", String(port), "--tunnel"]));
        const used = process.cpuUsage(before);
        await tunnelGuard.stop();
        rmSync(tunnelPath, { force: true });
        tunnels[name].direct.push(...result.direct);
        tunnels[name].tunnelled.push(...result.tunnelled);
        tunnels[name].cpuMs += (used.user + used.system) / 1000;
        tunnels[name].mib += megabytes * result.tunnelled.length;
      }
    }

    const sandbox = new Sandbox();
    const off = sandboxPolicy({ poolSize: 0, workspace: "none" });
    const on = sandboxPolicy({ poolSize: 0, workspace: "none", egress: egressRules({ allow: ["bench.test"] }) });
    const sandboxRuns = { off: [] as number[], perl: [] as number[], bun: [] as number[] };
    const kinds = existsSync("/usr/bin/perl") ? (["off", "perl", "bun"] as const) : (["off", "bun"] as const);
    for (let run = 0; run < runs + 1; run++) {
      for (const name of kinds) {
        const started = performance.now();
        const result = await sandbox.run({
          policy: name === "off" ? off : on,
          argv: ["/bin/true"],
          scratchDir: join(root, `scratch-${name}`),
          egress: name === "off" ? {} : { forwarder: name },
        });
        if (result.exitCode !== 0) throw new Error(`the sandbox with egress ${name} failed: ${result.stderr}`);
        // The first pair starts bwrap's probe and warms the caches: left out.
        if (run > 0) sandboxRuns[name].push(performance.now() - started);
      }
    }
    await guard.stop();

    const ratio = median(downloads.guarded) / median(downloads.direct);
    const forwardedRatio = median(downloads.forwarded) / median(downloads.direct);
    const added = median(firstBytes.guarded) - median(firstBytes.direct);
    const slower = (name: "perl" | "bun") => median(sandboxRuns[name]) - median(sandboxRuns.off);
    console.log(
      `${availableParallelism()} cores, load ${loadavg()[0]?.toFixed(1)}; ${megabytes} MiB downloads, ` +
        `${runs * 10} small requests, ${runs} sandbox runs each`,
    );
    console.log(
      `download: direct ${median(downloads.direct).toFixed(0)} MiB/s, through the guard ${median(downloads.guarded).toFixed(0)} MiB/s ` +
        `(${ratio.toFixed(2)}×; target ≥ 0.8×: ${ratio >= 0.8 ? "met" : "NOT met"})`,
    );
    console.log(
      `the direct download's two ends: ${endsMsPerMiB.toFixed(2)} ms of CPU a MiB, ${endsCores.toFixed(2)} of ` +
        `${availableParallelism()} cores busy; where they hold every core, a relay at the guard's ${guardMsPerMiB.toFixed(2)} ms a MiB ` +
        `can reach at most ${ceiling(guardMsPerMiB).toFixed(2)}× of direct, and 0.8× needs a relay at ` +
        `${(endsMsPerMiB / 4).toFixed(2)} ms a MiB or less`,
    );
    console.log(
      `download through ${forwarderKind}'s forwarder and the guard (a sandboxed command's way): ` +
        `${median(downloads.forwarded).toFixed(0)} MiB/s ` +
        `(${forwardedRatio.toFixed(2)}×); CPU per MiB relayed: the guard ${guardMsPerMiB.toFixed(2)} ms, ` +
        `the forwarder ${forwarderMsPerMiB.toFixed(2)} ms`,
    );
    for (const name of ["loop", "splice"] as const) {
      const tunnel = tunnels[name];
      const tunnelRatio = median(tunnel.tunnelled) / median(tunnel.direct);
      console.log(
        `download through a CONNECT tunnel, relayed ${name === "splice" ? "by splice(2) on the relay's thread" : "on bun's event loop"}: ` +
          `${median(tunnel.tunnelled).toFixed(0)} MiB/s against ${median(tunnel.direct).toFixed(0)} direct (${tunnelRatio.toFixed(2)}×; ` +
          `target ≥ 0.8×: ${tunnelRatio >= 0.8 ? "met" : "NOT met"}); the guard's CPU per MiB ${(tunnel.cpuMs / tunnel.mib).toFixed(2)} ms`,
      );
    }
    console.log(
      `first byte of a small answer: direct ${median(firstBytes.direct).toFixed(2)} ms, through the guard ` +
        `${median(firstBytes.guarded).toFixed(2)} ms ` +
        `(+${added.toFixed(2)} ms; target ≤ 2 ms: ${added <= 2 ? "met" : "NOT met"})`,
    );
    for (const name of kinds) {
      if (name === "off") continue;
      const added = slower(name);
      const sign = added >= 0 ? "+" : "";
      console.log(
        `sandboxed /bin/true: egress off ${median(sandboxRuns.off).toFixed(1)} ms, on with ${name}'s forwarder ` +
          `${median(sandboxRuns[name]).toFixed(1)} ms (${sign}${added.toFixed(1)} ms; target ≤ +5 ms: ${added <= 5 ? "met" : "NOT met"})`,
      );
    }
  } finally {
    server.kill();
    rmSync(root, { recursive: true, force: true });
  }
}

if (values.serve) serve();
else if (values.fetch !== undefined)
  await fetchAll(Number(values.port), values.fetch, values.forward === undefined ? undefined : Number(values.forward), values.small);
else await main();
