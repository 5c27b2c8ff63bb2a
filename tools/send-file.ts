import { z } from "zod";
import { ORG_DIR } from "../config/workspace-paths.ts";
import { SandboxFileError, readSandboxFile } from "../sandbox/read-sandbox-file.ts";
import { scratchDirFor } from "../sandbox/scratch-dir.ts";
import { ScratchPathError, scratchPathParts } from "../sandbox/write-scratch-file.ts";
import { scanForSecrets } from "../security/scan-for-secrets.ts";
import { type AnyTool, defineTool, type ToolResult } from "./define-tool.ts";
import { scannedText, sniffType } from "./sniff-type.ts";
import { secretPathMatcher } from "../workspace/check-change-set.ts";

/** A file on its way to the person: its name, bytes and type. */
export type OutgoingFile = { fileName: string; bytes: Uint8Array; mimeType: string };

/**
 * Where send_file delivers: the person's chat of a session (a Telegram chat, `telegram/file-outlet.ts`), or "no-chat"
 * when the session has none. `maxBytes` bounds what is sent.
 */
export type FileOutlet = {
  maxBytes: number;
  send(sessionId: string, file: OutgoingFile, caption: string, signal: AbortSignal): Promise<"sent" | "no-chat">;
};

const DESCRIPTION = [
  "Send a file to the person in this session's Telegram chat, as a document. path is a file of the workspace",
  '("reports/summary.pdf") or of your scratch directory as the sandbox sees it ("/scratch/chart.png"). Only in a',
  "session that came from Telegram; the person may be asked first. A file holding what looks like a secret is not sent.",
].join(" ");

const PARAMETERS = z.object({
  path: z.string().min(1).max(1_024).describe('A workspace file ("out/report.pdf") or a scratch file ("/scratch/chart.png").'),
  caption: z.string().max(1_000).optional().describe("A line shown under the file."),
});

/**
 * Where a path of send_file is: scratch (it begins /scratch/) or the workspace (relative); never org's state, .git or
 * a path `sandbox.secretPaths` hides (what the sandbox keeps from the room's commands stays on the host).
 */
function placeOf(
  path: string,
  context: { workspaceDir: string; sessionId?: string; sandboxPolicy: { secretPaths: readonly string[] } },
): { root: string; relative: string } {
  if (path.startsWith("/scratch/")) return { root: scratchDirFor(context), relative: scratchPathParts(path).join("/") };
  const parts = scratchPathParts(path);
  if (parts[0] === ORG_DIR || parts.includes(".git")) throw new ScratchPathError(`"${path}" is org's own state or a .git folder; it is not sent`);
  const relative = parts.join("/");
  const hiddenBy = secretPathMatcher(context.sandboxPolicy.secretPaths)(relative);
  if (hiddenBy !== undefined) throw new ScratchPathError(`"${path}" is a secret file (sandbox.secretPaths: ${hiddenBy}); it is not sent`);
  return { root: context.workspaceDir, relative };
}

function escapeCaption(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

/** `send_file`, delivering through `outlet`; its policy is "ask" for agents unless the config says otherwise. */
export function sendFileTool(outlet: FileOutlet): AnyTool {
  return defineTool("send_file", {
    description: DESCRIPTION,
    parameters: PARAMETERS,
    needs: ["outboundSecrets"],
    async execute(args, context): Promise<ToolResult> {
      if (context.sessionId === undefined) return { ok: false, output: "Error: send_file works only in a session that came from Telegram." };
      let bytes: Buffer | undefined;
      try {
        const place = placeOf(args.path, context);
        bytes = readSandboxFile(place.root, place.relative, outlet.maxBytes);
      } catch (error) {
        if (error instanceof ScratchPathError || error instanceof SandboxFileError || error instanceof RangeError)
          return { ok: false, output: `Error: not sent: ${error.message}.` };
        throw error;
      }
      if (bytes === undefined) return { ok: false, output: `Error: not sent: there is no file ${args.path}.` };
      const sniffed = sniffType(bytes);
      const scanned = scannedText(bytes, sniffed.type === "text/plain");
      // The room's keys, and the values of the workspace's secret files: none of them leaves through a file either.
      const secrets = [...(context.secrets ?? []), ...context.outboundSecrets.map((secret) => (typeof secret === "string" ? secret : secret.value))];
      const found = scanForSecrets(`${scanned}\n${args.caption ?? ""}`, secrets).kinds;
      if (found.length > 0) {
        return { ok: false, output: `Error: not sent: ${args.path} holds what looks like ${found.join(" and ")}; org sends no secret out.` };
      }
      const fileName = args.path.split("/").at(-1) ?? "file";
      const sent = await outlet.send(
        context.sessionId,
        { fileName, bytes, mimeType: sniffed.type },
        escapeCaption(args.caption ?? ""),
        context.signal,
      );
      if (sent === "no-chat") return { ok: false, output: "Error: send_file works only in a session that came from Telegram; this one has no chat." };
      return {
        ok: true,
        output: `sent ${args.path} (${bytes.length} bytes, ${sniffed.name}) to the person on Telegram.`,
        data: { path: args.path, bytes: bytes.length, type: sniffed.type },
      };
    },
  });
}
