// The thread behind SpliceRelay: it owns the descriptors of the tunnels handed to it (the guard's sockets, dup'd, and
// a pipe each way) and moves their bytes with splice(2), socket → pipe → socket, in one epoll loop, within the run's
// byte caps (the totals shared with the guard) and its idle time. Each tunnel's end is posted back with its counts.
import {
  EAGAIN,
  EINTR,
  EPOLL_CTL_ADD,
  EPOLL_EVENT_BYTES,
  EPOLLERR,
  EPOLLET,
  EPOLLHUP,
  EPOLLIN,
  EPOLLOUT,
  EPOLLRDHUP,
  type Libc,
  openLibc,
  SPLICE_F_MOVE,
  SPLICE_F_NONBLOCK,
} from "./libc-splice.ts";
import type { SpliceCut, SpliceToMain, SpliceToWorker, Tunnel } from "./egress-splice.ts";

declare const self: Worker;

/** One direction of a tunnel: from `source` through its pipe to `sink`, and what the pipe holds. */
type Way = { source: number; sink: number; pipeRead: number; pipeWrite: number; held: number; moved: number; ended: boolean; total: 0 | 1 };
type Open = { id: number; down: Way; up: Way; oneWay: boolean; lastMs: number };

const MAX_EVENTS = 64;

class SpliceLoop {
  readonly #libc: Libc;
  readonly #epoll: number;
  readonly #wake: number;
  readonly #totals: BigInt64Array;
  readonly #posted: Int32Array;
  readonly #caps: readonly [number, number];
  readonly #idleMs: number;
  readonly #pipeBytes: number;
  readonly #byFd = new Map<number, Open>();
  readonly #open = new Set<Open>();
  readonly #events = new Uint8Array(MAX_EVENTS * EPOLL_EVENT_BYTES);
  readonly #eventView = new DataView(this.#events.buffer);
  readonly #scratch = new Uint8Array(8);
  readonly #dropped = new Uint8Array(64 * 1024);
  #received = 0;
  #stopping = false;

  constructor(libc: Libc, start: Extract<SpliceToWorker, { kind: "start" }>) {
    this.#libc = libc;
    this.#wake = start.wake;
    this.#totals = start.totals;
    this.#posted = start.posted;
    this.#caps = [start.bytesIn, start.bytesOut];
    this.#idleMs = start.idleMs;
    this.#pipeBytes = start.pipeBytes;
    this.#epoll = libc.epoll_create1(0o2000000);
    this.#watch(this.#wake);
  }

  take(message: SpliceToWorker): void {
    this.#received += 1;
    if (message.kind === "stop") this.#stopping = true;
    else if (message.kind === "add") this.#add(message.tunnel);
  }

  /** Runs until told to stop; every tunnel still open is then cut ("stopped") and its descriptors closed. */
  async run(): Promise<void> {
    try {
      while (!this.#stopping) {
        // A message posted and not yet delivered: poll every millisecond, giving this thread's event loop its turns.
        const waiting = this.#received < Atomics.load(this.#posted, 0);
        const ready = this.#libc.epoll_wait(this.#epoll, this.#events, MAX_EVENTS, waiting ? 1 : this.#timeoutMs());
        let woken = false;
        for (let index = 0; index < ready; index++) {
          const at = index * EPOLL_EVENT_BYTES;
          const events = this.#eventView.getUint32(at, true);
          const fd = this.#eventView.getInt32(at + (EPOLL_EVENT_BYTES === 12 ? 4 : 8), true);
          if (fd === this.#wake) {
            woken = true;
            this.#libc.read(this.#wake, this.#scratch, 8);
            continue;
          }
          const open = this.#byFd.get(fd);
          if (open === undefined) continue;
          if ((events & EPOLLERR) !== 0) this.#end(open);
          else this.#pump(open);
        }
        this.#cutIdle();
        // The messages posted before the wake-up are delivered between turns of this thread's own event loop.
        if (woken || waiting) await new Promise((resolve) => setTimeout(resolve, 0));
      }
    } finally {
      for (const open of [...this.#open]) this.#end(open, "stopped");
      this.#libc.close(this.#epoll);
      self.postMessage({ kind: "stopped" } satisfies SpliceToMain);
    }
  }

  #watch(fd: number): void {
    const event = new Uint8Array(EPOLL_EVENT_BYTES);
    const view = new DataView(event.buffer);
    view.setUint32(0, (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLHUP | EPOLLET) >>> 0, true);
    view.setInt32(EPOLL_EVENT_BYTES === 12 ? 4 : 8, fd, true);
    if (this.#libc.epoll_ctl(this.#epoll, EPOLL_CTL_ADD, fd, event) !== 0) throw new Error(`epoll_ctl failed for ${fd}: errno ${this.#libc.errno()}`);
  }

  #add(tunnel: Tunnel): void {
    const way = (source: number, sink: number, pipe: readonly [number, number], held: number, total: 0 | 1): Way => ({
      source,
      sink,
      pipeRead: pipe[0],
      pipeWrite: pipe[1],
      held,
      moved: 0,
      ended: false,
      total,
    });
    const open: Open = {
      id: tunnel.id,
      down: way(tunnel.upstream, tunnel.client, tunnel.toClient, tunnel.heldIn, 0),
      up: way(tunnel.client, tunnel.upstream, tunnel.toUpstream, tunnel.heldOut, 1),
      oneWay: tunnel.oneWay,
      lastMs: performance.now(),
    };
    this.#open.add(open);
    this.#byFd.set(tunnel.client, open);
    this.#byFd.set(tunnel.upstream, open);
    try {
      this.#watch(tunnel.client);
      this.#watch(tunnel.upstream);
    } catch {
      this.#end(open);
      return;
    }
    // What the guard had read already sits in the pipes: counted like any byte, against the caps.
    if (!this.#count(open, open.down, tunnel.heldIn) || !this.#count(open, open.up, tunnel.heldOut)) return;
    this.#pump(open);
  }

  #pump(open: Open): void {
    // A one-way tunnel's client bytes are dropped first: its end may come in this very move.
    if (open.oneWay) this.#discard(open);
    if (this.#move(open, open.down) && !open.oneWay) this.#move(open, open.up);
  }

  /**
   * Reads what the client of a one-way tunnel sent and drops it: none of it goes on, and a socket closed with bytes
   * unread would answer with a reset, which can take from the client what it had not read yet of its answer (bytes
   * that come after the last read, as the tunnel ends, still can: so they could on bun's event loop).
   */
  #discard(open: Open): void {
    for (;;) {
      const got = this.#libc.read(open.up.source, this.#dropped, this.#dropped.length);
      if (got > 0) continue;
      if (got === 0) return;
      const errno = this.#libc.errno();
      if (errno === EINTR) continue;
      if (errno !== EAGAIN) this.#end(open);
      return;
    }
  }

  /** Moves what `way` can without blocking; false once the tunnel has ended (either side's end ends it, as before). */
  #move(open: Open, way: Way): boolean {
    const flags = SPLICE_F_MOVE | SPLICE_F_NONBLOCK;
    for (;;) {
      if (way.held > 0) {
        const sent = this.#libc.splice(way.pipeRead, null, way.sink, null, way.held, flags);
        if (sent > 0) {
          way.held -= sent;
          open.lastMs = performance.now();
          continue;
        }
        const errno = this.#libc.errno();
        if (sent < 0 && errno === EINTR) continue;
        if (sent < 0 && errno === EAGAIN) return true;
        this.#end(open);
        return false;
      }
      if (way.ended) {
        this.#end(open, undefined, way.sink);
        return false;
      }
      const got = this.#libc.splice(way.source, null, way.pipeWrite, null, this.#pipeBytes, flags);
      if (got > 0) {
        if (!this.#count(open, way, got)) return false;
        way.held += got;
        open.lastMs = performance.now();
        continue;
      }
      if (got === 0) {
        way.ended = true;
        continue;
      }
      const errno = this.#libc.errno();
      if (errno === EINTR) continue;
      if (errno === EAGAIN) return true;
      this.#end(open);
      return false;
    }
  }

  /** Adds `bytes` to the way's count and the run's total; past the run's cap the tunnel is cut before they go on. */
  #count(open: Open, way: Way, bytes: number): boolean {
    if (bytes === 0) return true;
    way.moved += bytes;
    const total = Number(Atomics.add(this.#totals, way.total, BigInt(bytes))) + bytes;
    if (total <= this.#caps[way.total]) return true;
    this.#end(open, way.total === 0 ? "bytesIn" : "bytesOut");
    return false;
  }

  #timeoutMs(): number {
    if (this.#open.size === 0) return -1;
    let soonest = Number.POSITIVE_INFINITY;
    for (const open of this.#open) soonest = Math.min(soonest, open.lastMs + this.#idleMs);
    return Math.max(0, Math.ceil(soonest - performance.now()));
  }

  #cutIdle(): void {
    const now = performance.now();
    for (const open of [...this.#open]) if (now - open.lastMs >= this.#idleMs) this.#end(open, "idle");
  }

  /**
   * Stops watching a tunnel and posts its end; the guard's thread, which made its descriptors, closes them (after
   * `shut`'s write side, where one side's end is passed on) once it has the connection's line.
   */
  #end(open: Open, cut?: SpliceCut, shut?: number): void {
    if (!this.#open.delete(open)) return;
    this.#byFd.delete(open.down.source);
    this.#byFd.delete(open.up.source);
    self.postMessage({ kind: "ended", id: open.id, bytesIn: open.down.moved, bytesOut: open.up.moved, cut, shut } satisfies SpliceToMain);
  }
}

/** Waits for the start message, then runs the loop; a thread without libc says so and ends. */
function serve(): void {
  let loop: SpliceLoop | undefined;
  self.addEventListener("message", async (event: MessageEvent<SpliceToWorker>) => {
    const message = event.data;
    if (message.kind !== "start") return loop?.take(message);
    const libc = await openLibc();
    if (libc === undefined) return self.postMessage({ kind: "stopped" } satisfies SpliceToMain);
    loop = new SpliceLoop(libc, message);
    self.postMessage({ kind: "ready" } satisfies SpliceToMain);
    await loop.run();
  });
}

serve();
