import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatRoomMode, parseRoomMode, RoomModeError } from "./room-mode.ts";

const base = mkdtempSync(join(tmpdir(), "org-mode-"));
const workspace = join(base, "workspace");
const outside = join(base, "outside");
mkdirSync(join(workspace, "notes"), { recursive: true });
mkdirSync(outside);
symlinkSync(outside, join(workspace, "escape"));
symlinkSync(join(outside, "not-yet.md"), join(workspace, "dangling.md"));
afterAll(() => rmSync(base, { recursive: true, force: true }));

const personas = ["agent", "python"];
const refused = (mode: string) => {
  try {
    parseRoomMode(mode, personas, workspace);
  } catch (error) {
    expect(error).toBeInstanceOf(RoomModeError);
    return (error as Error).message;
  }
  throw new Error(`${mode} was accepted`);
};

describe("room modes", () => {
  test("group, direct and file modes in canonical form", () => {
    expect(parseRoomMode(" group ", personas, workspace)).toEqual({ kind: "group" });
    expect(parseRoomMode("direct:@Python", personas, workspace)).toEqual({ kind: "direct", persona: "python" });
    expect(parseRoomMode("file:./notes/../notes/replies.md", personas, workspace)).toEqual({ kind: "file", path: "notes/replies.md" });
  });

  test("the formatter writes what the parser reads, in canonical form", () => {
    for (const [given, canonical] of [
      [" group ", "group"],
      ["direct:@Python", "direct:python"],
      ["file:./notes/../notes/replies.md", "file:notes/replies.md"],
    ] as const) {
      const mode = parseRoomMode(given, personas, workspace);
      expect(formatRoomMode(mode)).toBe(canonical);
      expect(parseRoomMode(formatRoomMode(mode), personas, workspace)).toEqual(mode);
    }
  });

  test("unknown modes and personas list what is valid", () => {
    expect(refused("loud")).toContain('Valid modes: "group", "direct:<persona>"');
    expect(refused("direct:nobody")).toContain("Personas: agent, python");
  });

  test("paths outside the workspace are refused, through .., absolute paths and symlinks", () => {
    expect(refused("file:../outside/x.md")).toContain("outside the workspace");
    expect(refused(`file:${join(outside, "x.md")}`)).toContain("outside the workspace");
    expect(refused("file:escape/x.md")).toContain("outside the workspace");
    expect(refused("file:dangling.md")).toContain("symbolic link");
    expect(refused("file:notes")).toContain("is a directory");
    expect(refused("file:.git/config")).toContain(".git");
    expect(refused("file:")).toContain("needs a path");
  });

  test("only plain-text files: each hostile path is refused when the mode is set, saying what is allowed", () => {
    for (const path of [
      ".env",
      ".env.local",
      "bunfig.toml",
      "package.json",
      "tsconfig.json",
      "a/.hidden/x.md",
      "x.md/",
      "X.MD",
      "notes.md.sh",
      "notes/../.env",
      "./.npmrc",
      "notes.md\u0000",
      "notes\u202E.md",
      "\uFF0Eenv.md",
    ]) {
      const message = refused(`file:${path}`);
      expect(message).toContain("ending in .md, .txt or .log");
    }
    expect(parseRoomMode("file:notes/new.txt", personas, workspace)).toEqual({ kind: "file", path: "notes/new.txt" });
    expect(parseRoomMode("file:run.log", personas, workspace)).toEqual({ kind: "file", path: "run.log" });
  });
});
