import type { ReadBuffer, serializeMessage } from "@modelcontextprotocol/sdk/shared/stdio.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import type { LongRunningProcess } from "../sandbox/sandboxed-process.ts";
import { signalFromExitCode } from "../sandbox/supervise-run.ts";

/** The longest line (one JSON-RPC message) a server may send; past it the connection is closed. */
export const MAX_MESSAGE_BYTES = 8 * 1024 * 1024;
/** The end of a server's stderr kept for the notice when it stops. */
const STDERR_TAIL_BYTES = 2048;

/**
 * The MCP stdio transport over a process org started (on the host or in the sandbox), framed with the SDK's own
 * `ReadBuffer` and `serializeMessage` as its `StdioClientTransport` frames. That transport spawns its child itself
 * with three pipes; org's servers need a process group killed whole, org's lifeline, and, in the sandbox, the
 * seccomp program and scratch as further descriptors, so the process is made first and handed here.
 */
export class ProcessTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  /** The SDK's framing, loaded by `start` (with the SDK's message schemas, which a room with no MCP server never needs). */
  private framing: { buffer: ReadBuffer; serialize: typeof serializeMessage } | undefined;
  private stderrTail = "";
  private stderrRead: Promise<void> = Promise.resolve();
  private exitText = "";
  private closed = false;

  constructor(readonly process: LongRunningProcess) {}

  /** The last lines the server wrote to stderr, for a notice. */
  get stderr(): string {
    return this.stderrTail;
  }

  /** How the process ended ("exited with code 1", "killed: …"), once it has; with the end of its stderr, on one line. */
  get ending(): string {
    const tail = this.stderrTail
      .split("\n")
      .filter((line) => line.trim() !== "")
      .slice(-3)
      .join(" | ");
    return [this.exitText || "its process is still running", ...(tail ? [`stderr: ${tail}`] : [])].join("; ");
  }

  async start(): Promise<void> {
    const { ReadBuffer, serializeMessage } = await import("@modelcontextprotocol/sdk/shared/stdio.js");
    this.framing = { buffer: new ReadBuffer({ maxBufferSize: MAX_MESSAGE_BYTES }), serialize: serializeMessage };
    void this.readStdout();
    this.stderrRead = this.readStderr();
    void this.process.exited.then((code) => {
      const killed = this.process.killedFor;
      this.exitText = killed ? `killed: ${killed}` : describeExit(code);
      this.finish();
    });
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (this.closed) throw new Error("the MCP server's process is gone");
    if (!this.framing) throw new Error("the MCP transport was not started");
    try {
      this.process.stdin.write(this.framing.serialize(message));
      await this.process.stdin.flush();
    } catch (error) {
      throw new Error(`could not write to the MCP server (${error instanceof Error ? error.message : String(error)})`);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // A server reads end-of-file on stdin as the request to stop; what is left is killed a moment later. The end is
    // not awaited: it waits for the pipe to drain, which a server that stopped reading (hung mid-call) never does.
    const timer = setTimeout(() => this.process.kill("closed by org"), 500);
    try {
      Promise.resolve(this.process.stdin.end()).catch(() => {});
    } catch {
      // Gone already.
    }
    await this.process.exited;
    clearTimeout(timer);
    this.finish();
  }

  /** Resolves once the process has exited and its stderr is read (at most a moment after the exit). */
  async ended(): Promise<void> {
    await this.process.exited;
    await Promise.race([this.stderrRead, Bun.sleep(300)]);
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.framing?.buffer.clear();
    this.onclose?.();
  }

  private async readStdout(): Promise<void> {
    const buffer = this.framing?.buffer;
    if (!buffer) return;
    try {
      for await (const chunk of this.process.stdout) {
        try {
          buffer.append(Buffer.from(chunk));
        } catch (error) {
          // A line past MAX_MESSAGE_BYTES: the server is not speaking MCP; it is stopped (and restarted).
          this.onerror?.(error instanceof Error ? error : new Error(String(error)));
          this.process.kill(`it sent a message over ${MAX_MESSAGE_BYTES / (1024 * 1024)} MiB`);
          return;
        }
        this.deliver(buffer);
      }
    } catch (error) {
      this.onerror?.(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private deliver(buffer: ReadBuffer): void {
    for (;;) {
      let message: JSONRPCMessage | null;
      try {
        message = buffer.readMessage();
      } catch (error) {
        // One line that is not JSON-RPC (a stray log line on stdout) is reported and skipped.
        this.onerror?.(error instanceof Error ? error : new Error(String(error)));
        continue;
      }
      if (message === null) return;
      this.onmessage?.(message);
    }
  }

  private async readStderr(): Promise<void> {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of this.process.stderr) {
        this.stderrTail = (this.stderrTail + decoder.decode(chunk, { stream: true })).slice(-STDERR_TAIL_BYTES);
      }
    } catch {
      // The stream broke with the process: what came is kept.
    }
  }
}

/** How a launcher's exit reads: its shell (and bwrap) exit 128+N when the program died of signal N. */
function describeExit(code: number | null): string {
  if (code === null) return "its process was ended by a signal";
  if (code > 128 && code < 128 + 65) return `its process was killed by ${signalFromExitCode(code) ?? `signal ${code - 128}`}`;
  return `its process exited with code ${code}`;
}

/** For a process's transport: how the process ended and the end of its stderr, once it has; nothing for HTTP. */
export async function processEnding(transport: Transport | undefined): Promise<string> {
  if (!(transport instanceof ProcessTransport)) return "";
  await transport.ended();
  return transport.ending;
}
