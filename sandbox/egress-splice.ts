import { join } from "node:path";
import type { Socket } from "node:net";
import { CHECKOUT_DIR } from "../config/workspace-paths.ts";
import { EFD_CLOEXEC, EFD_NONBLOCK, F_DUPFD_CLOEXEC, F_SETPIPE_SZ, type Libc, O_CLOEXEC, O_NONBLOCK, openLibc, SHUT_WR } from "./libc-splice.ts";

/** Why a spliced tunnel was cut: a byte cap of the run, its idle time, the guard stopping. */
export type SpliceCut = "bytesIn" | "bytesOut" | "idle" | "stopped";

/**
 * A tunnel as the worker takes it: the sockets (dup'd) and a pipe each way, holding `heldIn`/`heldOut` bytes already.
 * A `oneWay` tunnel (a plain request's answer) moves the server's bytes only: nothing of the client's reaches it.
 */
export type Tunnel = {
  id: number;
  oneWay: boolean;
  client: number;
  upstream: number;
  toClient: readonly [number, number];
  toUpstream: readonly [number, number];
  heldIn: number;
  heldOut: number;
};

export type SpliceToWorker =
  | { kind: "start"; totals: BigInt64Array; posted: Int32Array; wake: number; bytesIn: number; bytesOut: number; idleMs: number; pipeBytes: number }
  | { kind: "add"; tunnel: Tunnel }
  | { kind: "stop" };

export type SpliceToMain =
  | { kind: "ready" }
  | { kind: "stopped" }
  | { kind: "ended"; id: number; bytesIn: number; bytesOut: number; cut?: SpliceCut; shut?: number };

/** A tunnel's counts as it ended. */
export type SplicedCounts = { bytesIn: number; bytesOut: number; cut?: SpliceCut };

/** The run's caps and idle time, as the guard's rules give them. */
export type SpliceLimits = { bytesIn: number; bytesOut: number; idleSeconds: number };

/** A pipe's size: a tunnel moves up to this much per splice(2) each way. */
const PIPE_BYTES = 1024 * 1024;
/** How long the guard's stop waits for the worker to close every tunnel. */
const STOP_WAIT_MS = 5_000;

/**
 * Relays established tunnels off bun's event loop: each tunnel's sockets are taken from bun (their descriptors dup'd,
 * bun's sockets closed) and handed to a worker thread that moves the bytes with splice(2), socket → pipe → socket,
 * never through user space. The run's byte totals (in, out) live in `totals`, shared with the guard's own relay.
 */
export class SpliceRelay {
  readonly totals: BigInt64Array;
  readonly #libc: Libc;
  readonly #worker: Worker;
  readonly #wake: number;
  /** How many messages this thread has posted to the worker, which it reads to know when it has them all. */
  readonly #posted: Int32Array;
  /** Each tunnel handed over and not yet ended: who waits for its counts, and its descriptors (this thread closes them). */
  readonly #waiting = new Map<number, { resolve: (counts: SplicedCounts) => void; fds: readonly number[] }>();
  readonly #stopped: Promise<void>;
  #nextId = 0;
  #ended = false;
  #stopping: Promise<void> | undefined;

  private constructor(libc: Libc, worker: Worker, wake: number, posted: Int32Array, totals: BigInt64Array, stopped: Promise<void>) {
    this.#libc = libc;
    this.#worker = worker;
    this.#wake = wake;
    this.#posted = posted;
    this.totals = totals;
    this.#stopped = stopped;
  }

  /** A relay with its worker running, or undefined where splice(2) cannot be had (not Linux, no libc, no worker). */
  static async start(limits: SpliceLimits, totals: BigInt64Array): Promise<SpliceRelay | undefined> {
    const libc = await openLibc();
    if (libc === undefined) return undefined;
    const wake = libc.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake < 0) return undefined;
    let worker: Worker;
    try {
      worker = new Worker(join(CHECKOUT_DIR, "sandbox", "egress-splice-worker.ts"));
    } catch {
      libc.close(wake);
      return undefined;
    }
    let relay: SpliceRelay | undefined;
    let ready: (started: boolean) => void = () => {};
    const started = new Promise<boolean>((resolve) => {
      ready = resolve;
    });
    const stopped = new Promise<void>((resolve) => {
      const end = () => {
        ready(false);
        relay?.endAll();
        resolve();
      };
      worker.addEventListener("message", (event: MessageEvent<SpliceToMain>) => {
        const message = event.data;
        if (message.kind === "ready") ready(true);
        else if (message.kind === "stopped") end();
        else relay?.settle(message);
      });
      worker.addEventListener("error", end);
      worker.addEventListener("close", end);
    });
    const posted = new Int32Array(new SharedArrayBuffer(4));
    worker.postMessage({
      kind: "start",
      totals,
      posted,
      wake,
      bytesIn: limits.bytesIn,
      bytesOut: limits.bytesOut,
      idleMs: limits.idleSeconds * 1000,
      pipeBytes: PIPE_BYTES,
    } satisfies SpliceToWorker);
    relay = new SpliceRelay(libc, worker, wake, posted, totals, stopped);
    if (await started) return relay;
    worker.terminate();
    libc.close(wake);
    return undefined;
  }

  /**
   * Takes over an established tunnel (`client` paused, `upstream` with nothing left to write) and relays it until it
   * ends; undefined when these sockets cannot be taken (bun gives no descriptor, a pipe could not be made): the caller
   * relays them itself, untouched. `oneWay` (a plain request's answer, its head passed): only the server's bytes go on;
   * what the client sent after its request and bun holds is dropped, and what it sends later is never read.
   */
  take(client: Socket, upstream: Socket, oneWay = false): Promise<SplicedCounts> | undefined {
    if (this.#ended) return undefined;
    const clientFd = descriptorOf(client);
    const upstreamFd = descriptorOf(upstream);
    if (clientFd === undefined || upstreamFd === undefined || upstream.writableLength > 0 || client.writableLength > 0) return undefined;
    client.pause();
    upstream.pause();
    const opened: number[] = [];
    const undo = (heldOut: Buffer[], heldIn: Buffer[]) => {
      for (const fd of opened) this.#libc.close(fd);
      for (const chunk of heldOut.reverse()) client.unshift(chunk);
      for (const chunk of heldIn.reverse()) upstream.unshift(chunk);
      return undefined;
    };
    const sent = drained(client);
    const heldOut = oneWay ? [] : sent;
    const heldIn = drained(upstream);
    const dup = (fd: number) => {
      const copy = this.#libc.fcntl(fd, F_DUPFD_CLOEXEC, 0);
      if (copy >= 0) opened.push(copy);
      return copy;
    };
    const pipe = (held: Buffer[]): [number, number] | undefined => {
      const fds = new Int32Array(2);
      if (this.#libc.pipe2(fds, O_NONBLOCK | O_CLOEXEC) !== 0) return undefined;
      const [read = -1, write = -1] = fds;
      opened.push(read, write);
      this.#libc.fcntl(write, F_SETPIPE_SZ, PIPE_BYTES);
      for (const chunk of held) if (this.#libc.write(write, chunk, chunk.length) !== chunk.length) return undefined;
      return [read, write];
    };
    const clientCopy = dup(clientFd);
    const upstreamCopy = dup(upstreamFd);
    const toClient = pipe(heldIn);
    const toUpstream = pipe(heldOut);
    if (clientCopy < 0 || upstreamCopy < 0 || toClient === undefined || toUpstream === undefined) return undo(sent, heldIn);
    // bun's sockets go; the connections live on in the copies: the worker moves their bytes, this thread closes them.
    client.destroy();
    upstream.destroy();
    const id = this.#nextId++;
    const tunnel: Tunnel = {
      id,
      oneWay,
      client: clientCopy,
      upstream: upstreamCopy,
      toClient,
      toUpstream,
      heldIn: heldIn.reduce((sum, chunk) => sum + chunk.length, 0),
      heldOut: heldOut.reduce((sum, chunk) => sum + chunk.length, 0),
    };
    const fds = [clientCopy, upstreamCopy, ...toClient, ...toUpstream];
    const counts = new Promise<SplicedCounts>((resolve) => this.#waiting.set(id, { resolve, fds }));
    this.#post({ kind: "add", tunnel });
    return counts;
  }

  /** Cuts every tunnel (their counts settle with cut "stopped") and ends the worker; bounded by STOP_WAIT_MS. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    if (!this.#ended) this.#post({ kind: "stop" });
    this.#ended = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.#stopped, new Promise((resolve) => (timer = setTimeout(resolve, STOP_WAIT_MS)))]);
    clearTimeout(timer);
    this.#worker.terminate();
    this.endAll();
    this.#libc.close(this.#wake);
  }

  private settle(message: Extract<SpliceToMain, { kind: "ended" }>): void {
    const waiting = this.#waiting.get(message.id);
    if (waiting === undefined) return;
    this.#waiting.delete(message.id);
    waiting.resolve({ bytesIn: message.bytesIn, bytesOut: message.bytesOut, ...(message.cut !== undefined ? { cut: message.cut } : {}) });
    if (message.shut !== undefined && waiting.fds.includes(message.shut)) this.#libc.shutdown(message.shut, SHUT_WR);
    for (const fd of waiting.fds) this.#libc.close(fd);
  }

  /** The worker is gone: whatever still waits settles as cut, its descriptors closed, and nothing more is taken. */
  private endAll(): void {
    this.#ended = true;
    for (const [id, { resolve, fds }] of [...this.#waiting]) {
      this.#waiting.delete(id);
      resolve({ bytesIn: 0, bytesOut: 0, cut: "stopped" });
      for (const fd of fds) this.#libc.close(fd);
    }
  }

  #post(message: SpliceToWorker): void {
    this.#worker.postMessage(message);
    Atomics.add(this.#posted, 0, 1);
    const one = new BigUint64Array([1n]);
    this.#libc.write(this.#wake, new Uint8Array(one.buffer), 8);
  }
}

/** The descriptor under a bun socket (an internal field: undefined where bun keeps none there). */
function descriptorOf(socket: Socket): number | undefined {
  const handle: unknown = Reflect.get(socket, "_handle");
  const fd: unknown = typeof handle === "object" && handle !== null ? Reflect.get(handle, "fd") : undefined;
  return typeof fd === "number" && fd >= 0 ? fd : undefined;
}

/** What bun read from `socket` and holds in its stream, taken out of it. */
function drained(socket: Socket): Buffer[] {
  const chunks: Buffer[] = [];
  for (let chunk: unknown = socket.read(); Buffer.isBuffer(chunk); chunk = socket.read()) chunks.push(chunk);
  return chunks;
}
