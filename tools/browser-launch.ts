// Starts Chromium inside org's sandbox and connects playwright-core to it. Chromium speaks CDP over a pipe
// (`--remote-debugging-pipe`: it reads fd 3, writes fd 4, each message ended by a NUL); inside the sandbox a shell moves
// the sandboxed process's stdin and stdout onto those fds, and on the host a WebSocket on a Unix socket in a private
// folder carries each message to and from playwright's `connectOverCDP`. No port is opened anywhere, and the browser's
// only network is the egress guard's forwarder on the sandbox's own loopback.
import { rmSync } from "node:fs";
import { join } from "node:path";
import type { Server, ServerWebSocket } from "bun";
import { type Browser, chromium } from "playwright-core";
import type { EgressRules } from "../config/egress-policy.ts";
import { ownedTempDir } from "../security/owned-temp-dir.ts";
import type { EgressRequest } from "../sandbox/egress-run.ts";
import type { Sandbox } from "../sandbox/run-sandboxed.ts";
import type { SandboxPolicy } from "../sandbox/sandbox-policy.ts";
import { type LongRunningProcess, startSandboxedProcess } from "../sandbox/sandboxed-process.ts";
import { BROWSER_LIMITS, BrowserUnavailableError, browserArgv, browserBinary } from "./browser-binary.ts";

/** What starts a browser: the process's sandbox and policy, the session's scratch, and how its pages reach the network. */
export type BrowserLaunch = {
  sandbox: Sandbox;
  policy: SandboxPolicy;
  executable: string;
  scratchDir: string;
  /** The policy's egress rules and who is asked about a new host; without it the browser reaches nothing. */
  egress?: { rules: EgressRules; request: EgressRequest };
  timeoutMs: number;
};

/** A browser running in the sandbox and playwright's connection to it; `close` ends both and is safe to call again. */
export type SandboxedBrowser = {
  browser: Browser;
  process: LongRunningProcess;
  close(): Promise<void>;
};

const MiB = 1024 * 1024;

type Bridge = { ws: ServerWebSocket<undefined> | undefined; pending: string[] };

/** Starts Chromium in the sandbox and connects to it within `timeoutMs`; a browser that does not answer is killed. */
export async function launchSandboxedBrowser(launch: BrowserLaunch): Promise<SandboxedBrowser> {
  const binary = browserBinary(launch.executable);
  const process = await startSandboxedProcess({
    sandbox: launch.sandbox,
    policy: launch.policy,
    argv: browserArgv(binary, launch.egress !== undefined),
    scratchDir: launch.scratchDir,
    env: { HOME: "/scratch/.browser", XDG_CONFIG_HOME: "/scratch/.browser/config", XDG_CACHE_HOME: "/scratch/.browser/cache" },
    limits: BROWSER_LIMITS,
    ...(launch.egress ? { egress: launch.egress } : {}),
  });
  const folder = ownedTempDir("browser");
  const bridge: Bridge = { ws: undefined, pending: [] };
  let server: Server<undefined> | undefined;
  const close = async () => {
    process.kill("the browser was closed");
    server?.stop(true);
    rmSync(folder, { recursive: true, force: true });
  };
  try {
    server = bridgeServer(join(folder, "cdp.sock"), process, bridge);
    // A session's browser never keeps org running: org's end ends it (the sandbox's lifeline).
    server.unref();
    process.unref();
    pumpFromBrowser(process, bridge);
    const stderr = keepTail(process.stderr);
    const browser = await Promise.race([
      chromium.connectOverCDP(`ws+unix://${join(folder, "cdp.sock")}:/cdp`, { timeout: launch.timeoutMs }),
      process.exited.then(() => {
        throw new BrowserUnavailableError(`the browser ended as it started: ${stderr().trim().split("\n").slice(-3).join(" | ") || "no message"}`);
      }),
    ]);
    return {
      browser,
      process,
      async close() {
        await Promise.race([browser.close().catch(() => undefined), Bun.sleep(2_000)]);
        await close();
      },
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** The WebSocket playwright connects to: each text frame is one CDP message, written to the browser's pipe with its NUL. */
function bridgeServer(socketPath: string, process: LongRunningProcess, bridge: Bridge): Server<undefined> {
  return Bun.serve({
    unix: socketPath,
    fetch(request, server) {
      if (bridge.ws === undefined && server.upgrade(request)) return undefined;
      return new Response("one client only", { status: 409 });
    },
    websocket: {
      maxPayloadLength: 256 * MiB,
      open(ws) {
        bridge.ws = ws;
        for (const message of bridge.pending.splice(0)) ws.send(message);
      },
      message(_ws, message) {
        process.stdin.write(typeof message === "string" ? `${message}\0` : Buffer.concat([message, Buffer.from([0])]));
        process.stdin.flush();
      },
      close() {
        process.kill("playwright's connection closed");
      },
    },
  });
}

/** Reads the browser's pipe and hands each NUL-ended message to playwright's WebSocket. */
function pumpFromBrowser(process: LongRunningProcess, bridge: Bridge): void {
  const decoder = new TextDecoder();
  void (async () => {
    let parts: string[] = [];
    try {
      for await (const chunk of process.stdout) {
        const pieces = decoder.decode(chunk, { stream: true }).split("\0");
        parts.push(pieces[0] ?? "");
        for (const piece of pieces.slice(1)) {
          const message = parts.join("");
          if (bridge.ws) bridge.ws.send(message);
          else bridge.pending.push(message);
          parts = [piece];
        }
      }
    } catch {
      // The browser ended: playwright learns it from the closed socket below.
    }
    bridge.ws?.close();
  })();
}

/** Drains a stream, keeping its last 4 KiB of text for an error message. */
function keepTail(stream: ReadableStream<Uint8Array>): () => string {
  const decoder = new TextDecoder();
  let tail = "";
  stream
    .pipeTo(
      new WritableStream({
        write(chunk) {
          tail = (tail + decoder.decode(chunk, { stream: true })).slice(-4_096);
        },
      }),
    )
    .catch(() => undefined);
  return () => tail;
}
