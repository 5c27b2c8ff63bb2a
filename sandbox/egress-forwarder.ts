// Runs inside a sandbox given network, by the sandbox's own bun: listens on the sandbox's loopback (the only interface
// its network namespace has) and forwards each connection to org's egress guard through the Unix socket bound in, then
// runs the command and ends with it. It imports nothing (only this file and bun are mounted), and uses bun's own
// sockets: loading node:net cost every sandboxed command 9 ms more.
//   bun egress-forwarder.ts PORT SOCKET -- COMMAND…
import type { Socket } from "bun";

/** What the client gets when the guard is gone: an HTTP answer it prints, at once. */
const GUARD_GONE = "org's egress guard is not running (it stopped or org ended): this run has no network any more.\n";
const GUARD_GONE_ANSWER = [
  "HTTP/1.1 502 Bad Gateway",
  "Content-Type: text/plain",
  `Content-Length: ${GUARD_GONE.length}`,
  "Connection: close",
  "",
  GUARD_GONE,
].join("\r\n");
/**
 * A client answered and ended while it may still be sending is read, its bytes dropped, until it closes: a socket closed
 * with bytes unread sends a reset, which can take the answer from the client before it has read it. For this long at
 * most, and this many at once: a client that never closes cannot hold a descriptor for ever.
 */
const CLOSING_MS = 2000;
const CLOSING_MAX = 64;

/** One client's connection and its guard's, with what each side could not take yet. */
type Link = {
  client: Socket<Link>;
  guard: Socket<Link> | undefined;
  toGuard: Uint8Array[];
  toClient: Uint8Array[];
  /** The guard has said something: a failure after that is the connection's end, not "the guard is gone". */
  answered: boolean;
  /** A side has ended: the other is ended too once what is queued for it has gone. */
  clientEnded: boolean;
  guardEnded: boolean;
  /** The clients being read until they close (`closeClient`), shared by every link. */
  closing: Set<Link>;
  /** Set once the client has been handed to `closing`: what it sends is dropped; the timer that ends it. */
  dropping: ReturnType<typeof setTimeout> | undefined;
};

/** Writes what `queue` holds to `socket` until it takes no more; true when all of it went. */
function flush(socket: Socket<Link>, queue: Uint8Array[]): boolean {
  for (let chunk = queue[0]; chunk !== undefined; chunk = queue[0]) {
    const written = socket.write(chunk);
    if (written < chunk.length) {
      queue[0] = chunk.subarray(Math.max(written, 0));
      return false;
    }
    queue.shift();
  }
  return true;
}

/** Sends `data` on `to` (or keeps a copy until `to` exists or can take it); the sender `from` waits meanwhile. */
function relay(to: Socket<Link> | undefined, queue: Uint8Array[], data: Uint8Array, from: Socket<Link>): void {
  if (to !== undefined && queue.length === 0) {
    const written = to.write(data);
    if (written === data.length) return;
    queue.push(new Uint8Array(data.subarray(Math.max(written, 0))));
  } else queue.push(new Uint8Array(data));
  from.pause();
}

/** The guard's side has ended: the client's ends once what is queued for it has gone. */
function guardEnded(link: Link): void {
  link.guardEnded = true;
  if (link.toClient.length === 0) closeClient(link);
}

/**
 * Ends the client's side, what is queued for it sent: where the client may still be sending, it is read until it
 * closes, or CLOSING_MS have passed (at once where CLOSING_MAX clients are being closed so already).
 */
function closeClient(link: Link): void {
  if (link.dropping !== undefined) return;
  link.toGuard.length = 0;
  if (link.clientEnded || link.closing.size >= CLOSING_MAX) {
    link.client.end();
    return;
  }
  link.closing.add(link);
  link.dropping = setTimeout(() => link.client.terminate(), CLOSING_MS);
  link.client.shutdown();
  link.client.resume();
}

/** The guard cannot be reached: the client is told so, unless the guard has already answered it. */
function guardGone(link: Link): void {
  if (!link.answered && link.dropping === undefined) {
    link.answered = true;
    link.toClient.push(new TextEncoder().encode(GUARD_GONE_ANSWER));
  }
  guardEnded(link);
  if (link.toClient.length > 0 && flush(link.client, link.toClient)) closeClient(link);
}

function openGuard(link: Link, socketPath: string): void {
  Bun.connect<Link>({
    unix: socketPath,
    data: link,
    socket: {
      open(guard) {
        link.guard = guard;
        if (flush(guard, link.toGuard)) {
          link.client.resume();
          if (link.clientEnded) guard.shutdown();
        }
      },
      data(guard, data) {
        link.answered = true;
        relay(link.client, link.toClient, data, guard);
      },
      drain(guard) {
        if (!flush(guard, link.toGuard)) return;
        link.client.resume();
        if (link.clientEnded) guard.shutdown();
      },
      end: () => guardEnded(link),
      close: () => guardEnded(link),
      error: () => guardEnded(link),
      connectError: () => guardGone(link),
    },
  }).catch(() => guardGone(link));
}

async function main(args: string[]): Promise<number> {
  const [port, socketPath, separator, ...command] = args;
  if (port === undefined || socketPath === undefined || separator !== "--" || command.length === 0) {
    process.stderr.write("usage: bun egress-forwarder.ts PORT SOCKET -- COMMAND…\n");
    return 2;
  }
  const closing = new Set<Link>();
  Bun.listen<Link>({
    hostname: "127.0.0.1",
    port: Number(port),
    socket: {
      open(client) {
        client.data = {
          client,
          guard: undefined,
          toGuard: [],
          toClient: [],
          answered: false,
          clientEnded: false,
          guardEnded: false,
          closing,
          dropping: undefined,
        };
        openGuard(client.data, socketPath);
      },
      data(client, data) {
        if (client.data.dropping === undefined) relay(client.data.guard, client.data.toGuard, data, client);
      },
      drain(client) {
        if (!flush(client, client.data.toClient)) return;
        if (client.data.guardEnded) closeClient(client.data);
        else client.data.guard?.resume();
      },
      end(client) {
        client.data.clientEnded = true;
        if (client.data.toGuard.length === 0) client.data.guard?.shutdown();
      },
      close(client) {
        clearTimeout(client.data.dropping);
        closing.delete(client.data);
        client.data.guard?.end();
      },
      error(client) {
        client.data.guard?.end();
      },
    },
  });
  const child = Bun.spawn(command, { stdin: "inherit", stdout: "inherit", stderr: "inherit" });
  const code = await child.exited;
  if (child.signalCode) process.kill(process.pid, child.signalCode);
  return code;
}

process.exit(await main(process.argv.slice(2)));
