// A loopback HTTP server that answers each request with exact bytes, for testing clients against recorded
// wire captures. The scripted model server is the full simulator; this one replays frames verbatim.

export type FrameReply = {
  status?: number;
  headers?: Record<string, string>;
  /** Body pieces, each written as its own chunk (so splits across reads are exact). */
  chunks: (string | Uint8Array)[];
  /** Wait before sending anything, headers included. */
  firstByteDelayMs?: number;
};

export type FrameServer = {
  url: string;
  requests: { path: string; body: unknown }[];
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
};

/** SSE frames from JSON objects: `data: <json>\n\n` each, then `data: [DONE]\n\n` unless `done: false`. */
export function sseFrames(events: unknown[], options: { done?: boolean; lineEnd?: string } = {}): string[] {
  const end = options.lineEnd ?? "\n";
  const frames = events.map((event) => `data: ${typeof event === "string" ? event : JSON.stringify(event)}${end}${end}`);
  if (options.done !== false) frames.push(`data: [DONE]${end}${end}`);
  return frames;
}

/** A streamed reply that calls tools, all in one delta (ids `call_<index>` unless given); a string `arguments` is sent as it is. */
export function toolCallsReply(
  calls: { name: string; arguments: unknown; id?: string }[],
  usage: unknown = { prompt_tokens: 10, completion_tokens: 5 },
): FrameReply {
  const toolCalls = calls.map((call, index) => ({
    id: call.id ?? `call_${index}`,
    index,
    type: "function",
    function: { name: call.name, arguments: typeof call.arguments === "string" ? call.arguments : JSON.stringify(call.arguments) },
  }));
  return {
    chunks: sseFrames([
      { choices: [{ index: 0, delta: { role: "assistant", content: "", tool_calls: toolCalls }, finish_reason: null }] },
      { choices: [{ index: 0, delta: {}, finish_reason: "tool_calls" }] },
      { choices: [], usage },
    ]),
  };
}

/** A streamed text reply in one delta, then `stop` and the usage. */
export function textReply(content: string, usage: unknown = { prompt_tokens: 20, completion_tokens: 7 }): FrameReply {
  return {
    chunks: sseFrames([
      { choices: [{ index: 0, delta: { role: "assistant", content }, finish_reason: null }] },
      { choices: [{ index: 0, delta: {}, finish_reason: "stop" }] },
      { choices: [], usage },
    ]),
  };
}

/** Starts a server that answers the n-th request with `replies[n]` (the last reply repeats). */
export function startFrameServer(replies: FrameReply[] | ((request: number) => FrameReply)): FrameServer {
  const requests: FrameServer["requests"] = [];
  const pick = typeof replies === "function" ? replies : (n: number) => replies[Math.min(n, replies.length - 1)] as FrameReply;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    async fetch(request) {
      const text = await request.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // keep the raw text
      }
      const reply = pick(requests.length);
      requests.push({ path: new URL(request.url).pathname, body });
      if (reply.firstByteDelayMs) await Bun.sleep(reply.firstByteDelayMs);
      const encoder = new TextEncoder();
      const stream = new ReadableStream<Uint8Array>({
        async pull(controller) {
          for (const chunk of reply.chunks) {
            controller.enqueue(typeof chunk === "string" ? encoder.encode(chunk) : chunk);
            await Bun.sleep(1);
          }
          controller.close();
        },
      });
      return new Response(stream, {
        status: reply.status ?? 200,
        headers: reply.headers ?? { "content-type": "text/event-stream" },
      });
    },
  });
  const stop = async () => {
    await server.stop(true);
  };
  return { url: `http://127.0.0.1:${server.port}`, requests, stop, [Symbol.asyncDispose]: stop };
}
