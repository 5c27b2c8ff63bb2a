import { expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OBSERVER } from "../memory/facts-command.ts";
import { MemoryStore } from "../memory/memory-store.ts";
import { profileForPrompt } from "../personas/user-profile.ts";
import { memoryProfile } from "./memory-profile.ts";

const spawn = async (argv: string[]) => Bun.spawn(argv, { stdio: ["ignore", "ignore", "ignore"] }).exited;

test("org memory profile: none yet says how one comes; --rebuild writes it now; --edit runs $EDITOR and the person's notes stay", async () => {
  const workspaceDir = mkdtempSync(join(tmpdir(), "org-profile-cli-"));
  try {
    const ask = (request: Partial<Parameters<typeof memoryProfile>[1]>) =>
      memoryProfile(workspaceDir, { rebuild: false, edit: false, maxChars: 1_500, editor: undefined, ...request }, spawn);
    expect(await ask({})).toStartWith("no profile yet: org supervise's weekly digest writes");
    const { store } = MemoryStore.open(workspaceDir);
    store.save({ text: "uses pnpm", tags: ["observed", "preference"], persona: OBSERVER });
    store.close();
    expect(await ask({ rebuild: true })).toMatch(/^wrote .*profile\.md: 1 fact$/);
    expect(await ask({})).toContain("- uses pnpm (preference) <!-- f-");
    // An editor that adds a note of the person's own (the file's last lines are the notes' heading and a blank line).
    const editor = join(workspaceDir, "editor.sh");
    writeFileSync(editor, '#!/bin/sh\nprintf -- "- answer in short sentences\\n" >> "$1"\n');
    chmodSync(editor, 0o755);
    expect(await ask({ edit: true, editor })).toMatch(/^edited .*profile\.md: every persona's next prompt carries it/);
    expect(profileForPrompt(workspaceDir, 1_500)).toBe("- uses pnpm (preference)\n- answer in short sentences");
    await ask({ rebuild: true });
    expect(profileForPrompt(workspaceDir, 1_500)).toContain("- answer in short sentences");
    expect(await ask({ edit: true, editor: "" })).toContain("no EDITOR is set: edit");
  } finally {
    rmSync(workspaceDir, { recursive: true, force: true });
  }
});
