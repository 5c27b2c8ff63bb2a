import { expect, test } from "bun:test";
import { tmpdir } from "node:os";
import { startHostProcess } from "./host-process.ts";
import { ProcessTransport } from "./process-transport.ts";

test("closing a server that stopped reading its stdin, with the pipe full of org's requests, ends it instead of waiting", async () => {
  // A server stuck in a call: alive, reading nothing. Bun never reads stdin unless asked.
  const program = startHostProcess({ command: process.execPath, args: ["-e", "setInterval(() => {}, 1000)"], env: {}, cwd: tmpdir() });
  const transport = new ProcessTransport(program);
  try {
    await transport.start();
    // More than a pipe holds: the write waits for a reader that never comes.
    void transport
      .send({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "x", arguments: { pad: "a".repeat(1024 * 1024) } } })
      .catch(() => {});
    const outcome = await Promise.race([transport.close().then(() => "closed"), Bun.sleep(15_000).then(() => "still waiting after 15 s")]);
    expect(outcome).toBe("closed");
    expect(await Promise.race([program.exited.then(() => "exited"), Bun.sleep(5_000).then(() => "running")])).toBe("exited");
  } finally {
    program.kill("the test is over");
  }
}, 30_000);
