// readScreenshot reads a file from a session's scratch, which the session's sandboxed commands write too: every way a
// path or a file there could lead the host's read elsewhere is refused, through the file as opened.
import { afterAll, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readScreenshot, SCREENSHOT_MAX_BYTES, sessionFolder } from "./session-files.ts";

const SESSION = "20261129-120000-abcdef";
const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "base64");

const workspaceDir = mkdtempSync(join(tmpdir(), "org-session-files-"));
afterAll(() => rmSync(workspaceDir, { recursive: true, force: true }));
const folder = sessionFolder(workspaceDir, SESSION);
// A PNG outside the session's folder, the file every attack below tries to have read.
const outside = join(workspaceDir, "outside");
mkdirSync(join(outside, "shots"), { recursive: true });
writeFileSync(join(outside, "secret.png"), PNG);
writeFileSync(join(outside, "shots", "1.png"), PNG);
mkdirSync(join(folder, "shots"), { recursive: true });
writeFileSync(join(folder, "shots", "1.png"), PNG);

const refused = (path: string, session = SESSION) => {
  const read = readScreenshot(workspaceDir, session, path);
  return read instanceof Uint8Array ? "read" : read.refused;
};

test("a screenshot in the session's folder is read; a path that is not one is refused before any file is touched", () => {
  expect(Buffer.from(readScreenshot(workspaceDir, SESSION, "shots/1.png") as Uint8Array)).toEqual(PNG);
  for (const path of [
    "../outside/secret.png",
    "shots/../../outside/secret.png",
    `${outside}/secret.png`,
    "%2e%2e/outside/secret.png",
    "shots/1.png\0",
    ".hidden.png",
    "shots/1.PNG",
  ])
    expect(refused(path)).toContain("is not a screenshot's path");
  // Another session's id (or one with ..) is its own folder, where nothing is.
  expect(refused("shots/1.png", "..")).toContain("no screenshot shots/1.png");
  expect(refused("shots/1.png", "other-session")).toContain("no screenshot shots/1.png");
});

test("no link is followed, a folder's on the way or the file's own, even one that leads inside the folder", () => {
  symlinkSync(join(outside, "secret.png"), join(folder, "link.png"));
  symlinkSync(join(outside, "shots"), join(folder, "away"));
  // A link to a folder inside: what a swap of a folder for a link between a check and the open would be.
  symlinkSync(join(folder, "shots"), join(folder, "inside"));
  expect(refused("link.png")).toContain("link.png");
  expect(refused("away/1.png")).toContain("away/1.png");
  expect(refused("inside/1.png")).toContain("symbolic link");
});

test("a hard link to a file outside, a FIFO, a folder, an oversized file, a decompression bomb and a non-PNG are refused", () => {
  linkSync(join(outside, "secret.png"), join(folder, "hard.png"));
  expect(refused("hard.png")).toContain("more than one name");
  execFileSync("mkfifo", [join(folder, "fifo.png")]);
  expect(refused("fifo.png")).toContain("not a file");
  mkdirSync(join(folder, "dir.png"));
  expect(refused("dir.png")).toContain("not a file");
  writeFileSync(join(folder, "big.png"), Buffer.concat([PNG, Buffer.alloc(SCREENSHOT_MAX_BYTES)]));
  expect(refused("big.png")).toContain(`over ${SCREENSHOT_MAX_BYTES} bytes`);
  // A few bytes that would decode to gigabytes in the web room's tab or a phone.
  const bomb = Buffer.from(PNG);
  bomb.writeUInt32BE(60_000, 16);
  bomb.writeUInt32BE(60_000, 20);
  writeFileSync(join(folder, "bomb.png"), bomb);
  expect(refused("bomb.png")).toContain("60000 × 60000 pixels, more than the");
  writeFileSync(join(folder, "headless.png"), PNG.subarray(0, 12));
  expect(refused("headless.png")).toContain("is not a PNG image");
  writeFileSync(join(folder, "page.png"), "<svg onload=alert(1)>");
  expect(refused("page.png")).toContain("is not a PNG image");
});
