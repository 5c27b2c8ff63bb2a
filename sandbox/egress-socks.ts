import type { Socket } from "node:net";

// SOCKS5 (RFC 1928) for the clients that speak nothing else, on the same port as the HTTP proxy: the guard tells the
// two apart by the first byte (5 is no HTTP method's first letter). No authentication, CONNECT only.

/** The first byte of a SOCKS5 greeting. */
export const SOCKS_VERSION = 5;

/** Reply codes the guard uses: succeeded, not allowed by the ruleset, host unreachable, command or address type not supported. */
export const SOCKS_REPLY = { ok: 0, notAllowed: 2, unreachable: 4, badCommand: 7, badAddress: 8 } as const;

/** A SOCKS5 reply with `code` and an empty IPv4 bound address. */
export function socksReply(code: number): Buffer {
  return Buffer.from([SOCKS_VERSION, code, 0, 1, 0, 0, 0, 0, 0, 0]);
}

/** What the client asked to reach, and what it sent after its request; or the reply code that refuses it. */
export type SocksRequest = { host: string; port: number; rest: Buffer } | { refused: number };

/**
 * Reads a SOCKS5 greeting (answered: no authentication, or no acceptable method) and CONNECT request from `client`,
 * starting with `first`, within `deadline` (performance.now()); undefined when the client went away, ran out of time
 * or offered no method the guard takes.
 */
export async function readSocksRequest(client: Socket, first: Buffer, deadline: number): Promise<SocksRequest | undefined> {
  let buffered = first;
  const need = async (length: number): Promise<boolean> => {
    while (buffered.length < length) {
      const chunk = await nextChunk(client, deadline);
      if (chunk === undefined) return false;
      buffered = Buffer.concat([buffered, chunk]);
    }
    return true;
  };
  if (!(await need(2))) return undefined;
  const methods = buffered[1] ?? 0;
  if (!(await need(2 + methods))) return undefined;
  if (!buffered.subarray(2, 2 + methods).includes(0)) {
    client.end(Buffer.from([SOCKS_VERSION, 0xff]));
    return undefined;
  }
  client.write(Buffer.from([SOCKS_VERSION, 0]));
  buffered = buffered.subarray(2 + methods);
  if (!(await need(5)) || buffered[0] !== SOCKS_VERSION) return undefined;
  const command = buffered[1];
  const kind = buffered[3];
  let host: string;
  let end: number;
  if (kind === 1) {
    if (!(await need(10))) return undefined;
    host = [...buffered.subarray(4, 8)].join(".");
    end = 8;
  } else if (kind === 3) {
    const length = buffered[4] ?? 0;
    if (!(await need(5 + length + 2))) return undefined;
    host = buffered.subarray(5, 5 + length).toString("latin1");
    end = 5 + length;
  } else if (kind === 4) {
    if (!(await need(22))) return undefined;
    const groups: string[] = [];
    for (let at = 4; at < 20; at += 2) groups.push(buffered.readUInt16BE(at).toString(16));
    host = groups.join(":");
    end = 20;
  } else return { refused: SOCKS_REPLY.badAddress };
  if (command !== 1) return { refused: SOCKS_REPLY.badCommand };
  return { host, port: buffered.readUInt16BE(end), rest: buffered.subarray(end + 2) };
}

/** The client's next chunk, or undefined when it closes or the deadline passes. */
function nextChunk(client: Socket, deadline: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const done = (chunk: Buffer | undefined) => {
      clearTimeout(timer);
      client.off("data", onData);
      client.off("close", onClose);
      client.pause();
      resolve(chunk);
    };
    const onData = (chunk: Buffer) => done(chunk);
    const onClose = () => done(undefined);
    const timer = setTimeout(() => done(undefined), Math.max(0, deadline - performance.now()));
    client.once("data", onData);
    client.once("close", onClose);
    client.resume();
  });
}
