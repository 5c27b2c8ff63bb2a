// Runs inside a sandbox given network, by the sandbox's own bun: listens on the sandbox's loopback (the only interface
// its network namespace has) and forwards each connection to org's egress guard through the Unix socket bound in, then
// runs the command and ends with it. It imports nothing: only this file and bun are mounted.
//   bun egress-forwarder.ts PORT SOCKET -- COMMAND…
import { connect, createServer, type Socket } from "node:net";

/** What the client gets when the guard is gone: an HTTP answer it prints, at once. */
const GUARD_GONE = "org's egress guard is not running (it stopped or org ended): this run has no network any more.\n";

function forward(client: Socket, socketPath: string): void {
  let answered = false;
  const guard = connect(socketPath);
  guard.once("data", () => {
    answered = true;
  });
  client.pipe(guard);
  guard.pipe(client);
  guard.on("error", () => {
    if (!answered && !client.destroyed) {
      client.end(
        `HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: ${GUARD_GONE.length}\r\nConnection: close\r\n\r\n${GUARD_GONE}`,
      );
    } else client.destroy();
  });
  client.on("error", () => guard.destroy());
  guard.on("close", () => client.destroy());
}

async function main(args: string[]): Promise<number> {
  const [port, socketPath, separator, ...command] = args;
  if (port === undefined || socketPath === undefined || separator !== "--" || command.length === 0) {
    process.stderr.write("usage: bun egress-forwarder.ts PORT SOCKET -- COMMAND…\n");
    return 2;
  }
  const server = createServer((client) => forward(client, socketPath));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(Number(port), "127.0.0.1", () => resolve());
  });
  const child = Bun.spawn(command, { stdin: "inherit", stdout: "inherit", stderr: "inherit" });
  const code = await child.exited;
  if (child.signalCode) process.kill(process.pid, child.signalCode);
  return code;
}

process.exit(await main(process.argv.slice(2)));
