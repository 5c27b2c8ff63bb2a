import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { SpliceRelay } from "./egress-splice.ts";

// The splice relay on real TCP sockets on 127.0.0.1: a test client, the guard's two sockets (its accepted client and
// its connection upstream) handed to the relay, and the far server. Linux only, as the relay is.

const MIB = 1024 * 1024;

/**
 * The sockets a server accepted, each found by the port of the side that connected: connections opened together
 * arrive in any order, and a test's four ends must be those of one tunnel.
 */
class Arrivals {
  readonly #waiting = new Map<number, (socket: Socket) => void>();
  readonly #arrived = new Map<number, Socket>();

  add(socket: Socket): void {
    const port = socket.remotePort ?? -1;
    const waiter = this.#waiting.get(port);
    this.#waiting.delete(port);
    if (waiter) waiter(socket);
    else this.#arrived.set(port, socket);
  }

  of(port: number | undefined): Promise<Socket> {
    if (port === undefined) return Promise.reject(new Error("a connected socket without its local port"));
    const socket = this.#arrived.get(port);
    this.#arrived.delete(port);
    return socket ? Promise.resolve(socket) : new Promise((resolve) => this.#waiting.set(port, resolve));
  }
}

let guardSide: Server;
let far: Server;
const accepted = new Arrivals();
const farAccepted = new Arrivals();
const listen = (server: Server) =>
  new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)));
let guardPort = 0;
let farPort = 0;

beforeAll(async () => {
  guardSide = createServer((socket) => {
    socket.pause();
    accepted.add(socket);
  });
  far = createServer((socket) => farAccepted.add(socket));
  guardPort = await listen(guardSide);
  farPort = await listen(far);
});
afterAll(() => {
  guardSide.close();
  far.close();
});

/** The four ends of one tunnel: what the test client and the far server hold, and the guard's two sockets. */
async function tunnelEnds(): Promise<{ client: Socket; farEnd: Socket; guardClient: Socket; guardUpstream: Socket }> {
  const client = connect(guardPort, "127.0.0.1");
  const guardUpstream = connect(farPort, "127.0.0.1");
  for (const socket of [client, guardUpstream]) socket.on("error", () => {});
  await Promise.all([client, guardUpstream].map((socket) => new Promise((resolve) => socket.once("connect", resolve))));
  const [guardClient, farEnd] = await Promise.all([accepted.of(client.localPort), farAccepted.of(guardUpstream.localPort)]);
  farEnd.on("error", () => {});
  return { client, farEnd, guardClient, guardUpstream };
}

/** Everything `socket` receives until it closes, within `timeoutMs`. */
function received(socket: Socket, timeoutMs = 10_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => reject(new Error(`no close within ${timeoutMs} ms; got ${chunks.length} chunks`)), timeoutMs);
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.once("close", () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
  });
}

const totals = () => new BigInt64Array(new SharedArrayBuffer(2 * 8));
const unbounded = { bytesIn: 1024 ** 3, bytesOut: 1024 ** 3, idleSeconds: 60 };
const descriptors = () => readdirSync("/proc/self/fd").length;

describe.skipIf(process.platform !== "linux")("SpliceRelay", () => {
  test("moves a tunnel's bytes both ways, byte for byte, and counts them in the run's totals", async () => {
    const shared = totals();
    const relay = await SpliceRelay.start(unbounded, shared);
    if (relay === undefined) throw new Error("splice(2) through bun:ffi did not start on this Linux machine");
    try {
      const { client, farEnd, guardClient, guardUpstream } = await tunnelEnds();
      const down = randomBytes(3 * MIB);
      const up = randomBytes(MIB + 17);
      // What bun read before the hand-over (its stream holds it) goes first, through the pipe.
      client.write(up.subarray(0, 1000));
      const deadline = performance.now() + 5_000;
      while (guardClient.readableLength < 1000 && performance.now() < deadline) await Bun.sleep(5);
      expect(guardClient.readableLength).toBe(1000);
      const counts = relay.take(guardClient, guardUpstream);
      expect(counts).toBeDefined();
      const [toClient, toFar] = [received(client), received(farEnd)];
      client.write(up.subarray(1000));
      // The far end answers once it has the whole request, then closes: the tunnel ends with it.
      let got = 0;
      farEnd.on("data", (chunk: Buffer) => {
        got += chunk.length;
        if (got === up.length) farEnd.end(down);
      });
      expect((await toClient).equals(down)).toBe(true);
      expect((await toFar).equals(up)).toBe(true);
      expect(await counts).toEqual({ bytesIn: down.length, bytesOut: up.length });
      expect([...shared.subarray(0, 2)].map(Number)).toEqual([down.length, up.length]);
    } finally {
      await relay.stop();
    }
  });

  test("one way (a plain request's answer): the server's bytes reach the client, and nothing of the client's the server", async () => {
    const relay = await SpliceRelay.start(unbounded, totals());
    if (relay === undefined) throw new Error("splice(2) through bun:ffi did not start on this Linux machine");
    try {
      const { client, farEnd, guardClient, guardUpstream } = await tunnelEnds();
      // What the client sent after its request and bun holds at the hand-over is dropped, not passed on.
      const again = "GET /again HTTP/1.1\r\n\r\n";
      client.write(again);
      const deadline = performance.now() + 5_000;
      while (guardClient.readableLength < again.length && performance.now() < deadline) await Bun.sleep(5);
      expect(guardClient.readableLength).toBe(again.length);
      const counts = relay.take(guardClient, guardUpstream, true);
      const [toClient, toFar] = [received(client), received(farEnd)];
      const down = randomBytes(2 * MIB);
      farEnd.end(down);
      expect((await toClient).equals(down)).toBe(true);
      expect(await counts).toEqual({ bytesIn: down.length, bytesOut: 0 });
      client.destroy();
      expect((await toFar).length).toBe(0);
    } finally {
      await relay.stop();
    }
  });

  test("cuts a tunnel at the run's byte cap, and one idle past the idle time", async () => {
    const shared = totals();
    shared[0] = 1000n;
    // Idle for a minute at most: however late the far end writes on a busy machine, only the cap can cut this tunnel.
    const capping = await SpliceRelay.start({ bytesIn: 64 * 1024, bytesOut: 1024 ** 3, idleSeconds: 60 }, shared);
    if (capping === undefined) throw new Error("splice(2) through bun:ffi did not start on this Linux machine");
    try {
      const capped = await tunnelEnds();
      const cappedCounts = capping.take(capped.guardClient, capped.guardUpstream);
      const gotCapped = received(capped.client);
      capped.farEnd.write(randomBytes(4 * MIB));
      const cut = await cappedCounts;
      expect(cut?.cut).toBe("bytesIn");
      expect((await gotCapped).length).toBeLessThan(64 * 1024);
      capped.farEnd.destroy();
    } finally {
      await capping.stop();
    }
    const relay = await SpliceRelay.start({ bytesIn: 64 * 1024, bytesOut: 1024 ** 3, idleSeconds: 0.3 }, totals());
    if (relay === undefined) throw new Error("splice(2) through bun:ffi did not start on this Linux machine");
    try {
      const idle = await tunnelEnds();
      const started = performance.now();
      const idleCounts = relay.take(idle.guardClient, idle.guardUpstream);
      const gotIdle = received(idle.client);
      expect(await idleCounts).toEqual({ bytesIn: 0, bytesOut: 0, cut: "idle" });
      expect(performance.now() - started).toBeGreaterThanOrEqual(250);
      expect((await gotIdle).length).toBe(0);
      idle.farEnd.destroy();
    } finally {
      await relay.stop();
    }
  });

  test("200 tunnels opened and closed, then stopping with tunnels open: each cut, no descriptor left", async () => {
    const before = descriptors();
    const relay = await SpliceRelay.start(unbounded, totals());
    if (relay === undefined) throw new Error("splice(2) through bun:ffi did not start on this Linux machine");
    for (let batch = 0; batch < 10; batch++) {
      const ends = await Promise.all(Array.from({ length: 20 }, () => tunnelEnds()));
      const done = ends.map(({ client, farEnd, guardClient, guardUpstream }) => {
        const counts = relay.take(guardClient, guardUpstream);
        const answer = received(client);
        client.write("ping");
        farEnd.once("data", () => farEnd.end("pong"));
        return Promise.all([counts, answer]);
      });
      for (const [counts, answer] of await Promise.all(done)) {
        expect(counts).toEqual({ bytesIn: 4, bytesOut: 4 });
        expect(answer.toString()).toBe("pong");
      }
      for (const { client, farEnd } of ends) {
        client.destroy();
        farEnd.destroy();
      }
    }
    const open = await Promise.all(Array.from({ length: 5 }, () => tunnelEnds()));
    const cut = open.map(({ guardClient, guardUpstream }) => relay.take(guardClient, guardUpstream));
    const closed = open.map(({ client }) => received(client));
    await relay.stop();
    expect(await Promise.all(cut)).toEqual(Array(5).fill({ bytesIn: 0, bytesOut: 0, cut: "stopped" }));
    await Promise.all(closed);
    for (const { farEnd } of open) farEnd.destroy();
    const [first] = open;
    if (first !== undefined) expect(relay.take(first.guardClient, first.guardUpstream)).toBeUndefined();
    const deadline = performance.now() + 5_000;
    while (descriptors() > before && performance.now() < deadline) await Bun.sleep(20);
    expect(descriptors()).toBeLessThanOrEqual(before);
  });
});
