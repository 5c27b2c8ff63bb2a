import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { scanForSecrets } from "../security/scan-for-secrets.ts";
import { TelegramStandIn } from "../testing/telegram-bot-api.ts";
import { BotApi } from "./bot-api.ts";
import { type ReceiveOptions, receiveFile } from "./received-file.ts";
import { readUpdate } from "./telegram-update.ts";

// A file from a chat as the bridge takes it: the update read, getFile and the download from the Bot API stand-in, the
// room's credential guard (scanForSecrets, what Room.scanInbound runs), a real scratch directory, and for voice notes
// a scripted transcription server on 127.0.0.1.
const TOKEN = "7265431980:AAH-files-token-Zx9qW3eRt5yU7iO1pAsDfGhJ";
const CHAT = 5551001;
const SECRET = "sk-proj-Q7wE9rT1yU3iO5pA7sD9fG1hJ3kL5zX7cV9bN1mQ2wE4";
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(60, 1)]);
const OGG = Buffer.concat([Buffer.from("OggS"), Buffer.alloc(60, 2)]);

let standIn: TelegramStandIn;
let api: BotApi;
const transcriptions: { model: string; fileName: string; bytes: number }[] = [];
let transcriber: ReturnType<typeof Bun.serve>;
let transcriberSays: () => Response = () => Response.json({ text: " please list the files " });
const dirs: string[] = [];

beforeAll(() => {
  standIn = TelegramStandIn.start(TOKEN);
  api = new BotApi({ apiBase: standIn.url, token: TOKEN });
  transcriber = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      if (request.method !== "POST" || new URL(request.url).pathname !== "/v1/audio/transcriptions") return new Response("no", { status: 404 });
      const form = await request.formData();
      const file = form.get("file");
      if (!(file instanceof File)) return new Response("no file", { status: 400 });
      transcriptions.push({ model: String(form.get("model")), fileName: file.name, bytes: file.size });
      return transcriberSays();
    },
  });
});

afterAll(async () => {
  await standIn.stop();
  await transcriber.stop(true);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), "org-telegram-files-"));
  dirs.push(dir);
  return join(dir, "scratch");
}

/** The newest update the stand-in holds, read as the bridge reads it, then received. */
async function receive(updateId: number, settings: Partial<ReceiveOptions["settings"]> = {}, scratchDir = scratch()) {
  const raw = await api.call("getUpdates", { offset: updateId, timeout: 0 }, AbortSignal.timeout(10_000));
  const update = readUpdate((raw as unknown[])[0]);
  if (update?.kind !== "file") throw new Error(`update ${updateId} is ${update?.kind}, not a file`);
  const received = await receiveFile(update, {
    api,
    settings: { maxFileBytes: 20 * 1024 * 1024, ...settings },
    scratchDir,
    scan: (text) => scanForSecrets(text).kinds,
    signal: AbortSignal.timeout(20_000),
  });
  return { received, scratchDir };
}

describe("a file from an allowed chat", () => {
  test("a document is saved in scratch and said with its path as the sandbox sees it, its type and size; the caption is the text", async () => {
    const id = standIn.pushFile(CHAT, "document", Buffer.from("a,b\n1,2\n"), {
      fileName: "../../etc/Data Sheet.csv",
      mimeType: "text/csv",
      caption: "sum column b",
    });
    const { received, scratchDir } = await receive(id);
    // The sender's name is hostile: made plain, it can only name a file in scratch's telegram/ folder.
    expect(received).toMatchObject({ ok: true, path: `/scratch/telegram/${id}-etc_Data_Sheet.csv` });
    if (!received.ok) throw new Error("refused");
    expect(received.message).toBe(
      `[The person sent a document on Telegram, saved at ${received.path} (8 bytes, text/csv); commands in the sandbox read it there.]\nsum column b`,
    );
    expect(readFileSync(join(scratchDir, received.path.slice("/scratch/".length)), "utf8")).toBe("a,b\n1,2\n");
  });

  test("a photo: the largest size is taken, its type named from its bytes", async () => {
    const id = standIn.pushFile(CHAT, "photo", JPEG);
    const { received } = await receive(id);
    expect(received.ok && received.message).toContain(`saved at /scratch/telegram/${id}-photo.jpg (64 bytes, image/jpeg (JPEG image))`);
    expect(standIn.calls.filter((call) => call.method === "getFile").at(-1)?.params.file_id).not.toEndWith("-small");
  });

  test("a document holding a secret is refused by the room's credential guard, and nothing is saved", async () => {
    const id = standIn.pushFile(CHAT, "document", Buffer.from(`OPENAI_API_KEY=${SECRET}\n`), { fileName: ".env" });
    const { received, scratchDir } = await receive(id);
    expect(received).toMatchObject({ ok: false, kinds: expect.arrayContaining(["an OpenAI API key"]) });
    expect(!received.ok && received.why).toStartWith("the document holds what looks like an OpenAI API key");
    expect(existsSync(scratchDir) ? readdirSync(scratchDir, { recursive: true }) : []).toEqual([]);
    const captioned = standIn.pushFile(CHAT, "photo", JPEG, { caption: `key ${SECRET}` });
    expect((await receive(captioned)).received).toMatchObject({ ok: false, why: "its caption holds what looks like an OpenAI API key" });
  });

  test("a file over telegram.maxFileBytes is refused: by the size the message says, before any download, or while reading", async () => {
    const downloads = () => standIn.calls.filter((call) => call.method === "(download)").length;
    const before = downloads();
    const said = standIn.pushFile(CHAT, "document", Buffer.alloc(5_000, 65), { fileName: "big.txt" });
    expect((await receive(said, { maxFileBytes: 4_096 })).received).toMatchObject({
      ok: false,
      why: "the document holds 5000 bytes, over the 4096 bytes telegram.maxFileBytes allows",
    });
    expect(downloads()).toBe(before);
    const lied = standIn.pushFile(CHAT, "document", Buffer.alloc(5_000, 65), { fileName: "big.txt", declaredSize: 10 });
    const { received } = await receive(lied, { maxFileBytes: 4_096 });
    expect(received).toMatchObject({ ok: false });
    expect(!received.ok && received.why).toContain("over the 4096 bytes telegram.maxFileBytes allows");
  });

  test("a voice note is transcribed by the server telegram.transcribe names (multipart file and model)", async () => {
    const id = standIn.pushFile(CHAT, "voice", OGG);
    const { received } = await receive(id, { transcribe: { url: `http://127.0.0.1:${transcriber.port}`, model: "whisper-small" } });
    expect(received.ok && received.message).toBe(
      `[The person sent a voice note on Telegram, saved at /scratch/telegram/${id}-voice.ogg (64 bytes, audio/ogg (Ogg audio), 3 s); ` +
        "commands in the sandbox read it there.]\n[Transcript of the voice note:]\nplease list the files",
    );
    expect(transcriptions.at(-1)).toEqual({ model: "whisper-small", fileName: `${id}-voice.ogg`, bytes: 64 });
  });

  test("without a transcription server, or when it fails, a voice note is said untranscribed; a transcript with a secret is refused", async () => {
    const plain = standIn.pushFile(CHAT, "voice", OGG);
    const untranscribed = (await receive(plain)).received;
    expect(untranscribed.ok && untranscribed.message).toEndWith("\n[Not transcribed: telegram.transcribe names no transcription server.]");
    const transcribe = { url: `http://127.0.0.1:${transcriber.port}/v1`, model: "whisper-1" };
    transcriberSays = () => new Response("overloaded", { status: 503 });
    const failed = (await receive(standIn.pushFile(CHAT, "voice", OGG), { transcribe })).received;
    expect(failed.ok && failed.message).toEndWith(
      `\n[Not transcribed: the transcription server at http://127.0.0.1:${transcriber.port} answered HTTP 503.]`,
    );
    transcriberSays = () => Response.json({ text: `my key is ${SECRET}` });
    const { received: leaked, scratchDir } = await receive(standIn.pushFile(CHAT, "voice", OGG), { transcribe });
    expect(leaked).toMatchObject({ ok: false, why: "its transcript holds what looks like an OpenAI API key" });
    expect(existsSync(scratchDir)).toBe(false);
    transcriberSays = () => Response.json({ text: " please list the files " });
  });
});
