import { describe, expect, test } from "bun:test";
import { createServer, type Socket } from "node:net";
import { chatFailure as failure } from "../testing/chat-helpers.ts";
import { chatOnce } from "./chat-once.ts";

// The transport under chatOnce speaks HTTP/1.1 on a socket itself: these servers answer with exact bytes, the ways
// real servers and proxies frame a response.

const event = (content: string) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;
const BODY = `${event("Hello")}${event(", world")}data: ${JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: "stop" }] })}\n\ndata: [DONE]\n\n`;
const chunked = (text: string) => `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`;

/** A server that answers every request by `answer(socket)` once the request has come in whole. */
async function rawServer(answer: (socket: Socket) => void) {
  const server = createServer((socket) => {
    let request = "";
    socket.on("data", (data) => {
      request += data.toString("latin1");
      const head = request.indexOf("\r\n\r\n");
      const length = Number(/content-length: (\d+)/i.exec(request)?.[1] ?? 0);
      if (head >= 0 && request.length >= head + 4 + length) answer(socket);
    });
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}`, [Symbol.asyncDispose]: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const ask = (baseUrl: string) => chatOnce({ baseUrl, model: "m", messages: [{ role: "user", content: "hi" }], retry: { retries: 0 } });

describe("the HTTP/1.1 transport", () => {
  test("reads a body framed by content-length, by the connection's close, and chunked with extensions and trailers", async () => {
    const head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n";
    const framings = [
      (socket: Socket) => socket.end(`${head}content-length: ${Buffer.byteLength(BODY)}\r\n\r\n${BODY}`),
      (socket: Socket) => socket.end(`HTTP/1.0 200 OK\r\ncontent-type: text/event-stream\r\n\r\n${BODY}`),
      (socket: Socket) =>
        socket.end(`${head}transfer-encoding: chunked\r\n\r\n${BODY.length.toString(16)};ext=1\r\n${BODY}\r\n0\r\nx-trailer: yes\r\n\r\n`),
    ];
    for (const answer of framings) {
      await using server = await rawServer(answer);
      expect((await ask(server.url)).content).toBe("Hello, world");
    }
  });

  test("skips a 100 Continue before the answer, and takes a head with bare LF line ends", async () => {
    await using server = await rawServer((socket) =>
      socket.end(`HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\ntransfer-encoding: chunked\n\n${chunked(BODY)}0\r\n\r\n`),
    );
    expect((await ask(server.url)).content).toBe("Hello, world");
  });

  test("a body read a byte at a time comes out whole", async () => {
    const wire = `HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n${chunked(BODY.slice(0, 50))}${chunked(BODY.slice(50))}0\r\n\r\n`;
    await using server = await rawServer((socket) => {
      socket.setNoDelay(true);
      let at = 0;
      const next = () => {
        if (at >= wire.length) socket.end();
        else socket.write(wire[at++] ?? "", () => setImmediate(next));
      };
      next();
    });
    expect((await ask(server.url)).content).toBe("Hello, world");
  });

  test("what is not HTTP, a head without end and a broken chunk size are errors that say so", async () => {
    {
      await using server = await rawServer((socket) => socket.end("SSH-2.0-OpenSSH_9.2\r\n\r\n"));
      expect((await failure(ask(server.url))).message).toContain('the server did not answer with HTTP/1.1: "SSH-2.0-OpenSSH_9.2"');
    }
    {
      await using server = await rawServer((socket) => socket.end(`HTTP/1.1 200 OK\r\nx-long: ${"a".repeat(70_000)}`));
      expect((await failure(ask(server.url))).message).toContain("a response head over 64 KiB");
    }
    {
      await using server = await rawServer((socket) =>
        socket.end(`HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n${chunked(event("Partial"))}zz\r\n`),
      );
      const error = await failure(ask(server.url));
      expect(error.kind).toBe("interrupted");
      expect(error.partialContent).toBe("Partial");
      expect(error.message).toContain('(a chunk size is not hexadecimal: it holds "z")');
    }
  });

  test("a stop while the head is awaited ends the request at once, as aborted", async () => {
    await using server = await rawServer(() => {});
    const stop = new AbortController();
    const pending = chatOnce({
      baseUrl: server.url,
      model: "m",
      messages: [{ role: "user", content: "hi" }],
      signal: stop.signal,
      retry: { retries: 0 },
    });
    setTimeout(() => stop.abort(new Error("the user pressed Ctrl-C")), 50);
    const error = await failure(pending);
    expect(error.kind).toBe("aborted");
    expect(error.message).toContain("the user pressed Ctrl-C");
  });
});
