import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { scratchDirFor } from "../sandbox/scratch-dir.ts";
import { writeScratchFile } from "../sandbox/write-scratch-file.ts";
import { BotApi } from "../telegram/bot-api.ts";
import { TelegramFileOutlet } from "../telegram/file-outlet.ts";
import { TelegramStandIn } from "../testing/telegram-bot-api.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";
import { runTool, toolSet } from "./define-tool.ts";
import { sendFileTool } from "./send-file.ts";

// send_file through the outlet a Telegram chat binds its session to, delivering with sendDocument to the Bot API stand-in.
const TOKEN = "7265431980:AAH-send-token-Zx9qW3eRt5yU7iO1pAsDfGhJ";
const CHAT = "5551001";
const SECRET = "sk-proj-Q7wE9rT1yU3iO5pA7sD9fG1hJ3kL5zX7cV9bN1mQ2wE4";

let standIn: TelegramStandIn;
let workspaceDir: string;
const outlet = new TelegramFileOutlet(4_096);

beforeAll(() => {
  standIn = TelegramStandIn.start(TOKEN);
  standIn.openChat(CHAT);
  const api = new BotApi({ apiBase: standIn.url, token: TOKEN });
  outlet.bind("s1", async (file, caption, signal) => {
    await api.sendDocument(CHAT, { fileName: file.fileName, content: file.bytes, mimeType: file.mimeType }, caption, signal);
  });
  workspaceDir = mkdtempSync(join(tmpdir(), "org-send-file-"));
  chmodSync(workspaceDir, 0o755);
  mkdirSync(join(workspaceDir, "out"));
  writeFileSync(join(workspaceDir, "out", "report.csv"), "name,total\nalpha,3\n");
  writeFileSync(join(workspaceDir, ".env.local"), "DB_HOST=db.internal\n");
  writeFileSync(join(workspaceDir, "out", "keys.txt"), `OPENAI_API_KEY=${SECRET}\n`);
  writeFileSync(join(workspaceDir, "big.txt"), "x".repeat(5_000));
  mkdirSync(join(workspaceDir, ".org"), { recursive: true });
  writeFileSync(join(workspaceDir, ".org", "state.txt"), "org's own");
  symlinkSync("/etc/hostname", join(workspaceDir, "linked.txt"));
  writeScratchFile(
    scratchDirFor({ workspaceDir, sessionId: "s1" }),
    "chart.png",
    Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(24, 3)]),
  );
});

afterAll(async () => {
  await standIn.stop();
  rmSync(workspaceDir, { recursive: true, force: true });
});

/** A call in `sessionId` ("none": a call with no session, as a process without rooms makes). */
function send(path: string, sessionId = "s1", caption?: string) {
  return runTool(
    toolSet([sendFileTool(outlet)]),
    { name: "send_file", arguments: { path, ...(caption !== undefined ? { caption } : {}) } },
    { ...testSandboxAccess(), signal: AbortSignal.timeout(20_000), workspaceDir, ...(sessionId !== "none" ? { sessionId } : {}) },
  );
}

describe("send_file", () => {
  test("a workspace file and a scratch file go to the session's chat as documents, the caption under them", async () => {
    const report = await send("out/report.csv", "s1", "totals <so far>");
    expect(report).toMatchObject({ ok: true, output: "sent out/report.csv (19 bytes, text) to the person on Telegram." });
    const chart = await send("/scratch/chart.png");
    expect(chart.output).toBe("sent /scratch/chart.png (32 bytes, PNG image) to the person on Telegram.");
    const documents = standIn.messages(CHAT).map((message) => message.document);
    expect(documents[0]).toMatchObject({ fileName: "report.csv", content: "name,total\nalpha,3\n", caption: "totals <so far>" });
    expect(documents[1]).toMatchObject({ fileName: "chart.png", mimeType: "image/png" });
  });

  test("no chat for the session, a path out of the workspace, org's state, a link, a missing or too large file: nothing is sent", async () => {
    const before = standIn.messages(CHAT).length;
    const refusals: [string, string, string][] = [
      ["out/report.csv", "s2", "works only in a session that came from Telegram"],
      ["out/report.csv", "none", "works only in a session that came from Telegram"],
      ["../etc/passwd", "s1", 'climbs out with ".."'],
      ["/etc/passwd", "s1", "is absolute"],
      [".org/state.txt", "s1", "org's own state"],
      // What sandbox.secretPaths hides from the room's commands, whatever it holds.
      [".env.local", "s1", "is a secret file (sandbox.secretPaths: "],
      ["linked.txt", "s1", "symbolic link"],
      ["nothing-here.txt", "s1", "there is no file nothing-here.txt"],
      ["big.txt", "s1", "more than the 4096 allowed"],
    ];
    for (const [path, session, why] of refusals) {
      const result = await send(path, session);
      expect({ path, ok: result.ok }).toEqual({ path, ok: false });
      expect(result.output).toContain(why);
    }
    expect(standIn.messages(CHAT).length).toBe(before);
  });

  test("a file or a caption holding a secret is not sent", async () => {
    const before = standIn.messages(CHAT).length;
    expect((await send("out/keys.txt")).output).toContain("holds what looks like an OpenAI API key");
    expect((await send("out/report.csv", "s1", `key ${SECRET}`)).output).toContain("holds what looks like an OpenAI API key");
    expect(standIn.messages(CHAT).length).toBe(before);
  });
});
