// The stream bench's model server, a process of its own (so the reader's process does only the reading): answers
// `POST /<kind>/<reads>/v1/chat/completions` with a stream of `--chunks` events, `kind` text (one token each) or
// fragments (one tool call's arguments in pieces), written as `reads` says: `whole` (the body in one write, as the
// bench measured before), `4096` (4 KB writes, each flushed) or `event` (an event a write, as Ollama and llama.cpp do).
// Prints its port on the first line.
//   bun bench/stream-server.ts [--chunks 50000]
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { chunks: { type: "string", default: "50000" } } });
const count = Number(values.chunks);

function frame(delta: Record<string, unknown>, finish: string | null = null): string {
  return `data: ${JSON.stringify({
    id: "chatcmpl-412",
    object: "chat.completion.chunk",
    created: 1755800000,
    model: "bench",
    system_fingerprint: "fp_ollama",
    choices: [{ index: 0, delta, finish_reason: finish }],
  })}\n\n`;
}

function textEvents(): string[] {
  const events = [frame({ role: "assistant", content: "tok " })];
  for (let i = 1; i < count - 1; i += 1) events.push(frame({ content: `t${i % 97} ` }));
  events.push(frame({}, "stop"), "data: [DONE]\n\n");
  return events;
}

// One tool call whose arguments arrive in `count` fragments, OpenAI/llama.cpp style.
function fragmentEvents(): string[] {
  const json = JSON.stringify({ payload: "x".repeat(count - 2) });
  const size = Math.ceil(json.length / (count - 2));
  const pieces: string[] = [];
  for (let at = 0; at < json.length; at += size) pieces.push(json.slice(at, at + size));
  return [
    frame({
      role: "assistant",
      content: null,
      tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "write", arguments: "" } }],
    }),
    ...pieces.map((piece) => frame({ tool_calls: [{ index: 0, function: { arguments: piece } }] })),
    frame({}, "tool_calls"),
    "data: [DONE]\n\n",
  ];
}

const encoder = new TextEncoder();
function writes(events: string[]): Record<string, Uint8Array[]> {
  const whole = encoder.encode(events.join(""));
  const pieces: Uint8Array[] = [];
  for (let at = 0; at < whole.length; at += 4096) pieces.push(whole.subarray(at, at + 4096));
  return { whole: [whole], 4096: pieces, event: events.map((event) => encoder.encode(event)) };
}

const bodies: Record<string, Record<string, Uint8Array[]>> = { text: writes(textEvents()), fragments: writes(fragmentEvents()) };

const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  idleTimeout: 0,
  fetch(request) {
    const [, kind = "", reads = ""] = new URL(request.url).pathname.split("/");
    const pieces = bodies[kind]?.[reads];
    if (!pieces) return new Response(`no such stream: /${kind}/${reads}`, { status: 404 });
    const stream = new ReadableStream({
      type: "direct",
      async pull(controller) {
        for (const piece of pieces) {
          controller.write(piece);
          await controller.flush();
        }
        controller.close();
      },
    });
    return new Response(stream, { headers: { "content-type": "text/event-stream" } });
  },
});
console.log(server.port);
