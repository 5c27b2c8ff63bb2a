import { expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { McpToolEntry } from "./mcp-tool-catalog.ts";
import { McpToolSet } from "./mcp-tool-set.ts";
import { mcpToolEntry } from "../testing/mcp-fixtures.ts";
import { waitUntil } from "../testing/wait-until.ts";
import { workflowFiles } from "../workflows/workflow-files.ts";

const entry = (name: string, signature = name): McpToolEntry => mcpToolEntry(name, { signature });

test("listeners hear each change of the list after the first load, the first tool after an empty start too", async () => {
  let next: McpToolEntry[] = [];
  const set = new McpToolSet(async () => next);
  let heard = 0;
  set.onChange(() => (heard += 1));
  expect(await set.refresh()).toBe(false);
  next = [entry("word_count")];
  expect(await set.refresh()).toBe(true);
  expect(heard).toBe(1);
  expect(await set.refresh()).toBe(false);
  next = [entry("word_count", "word_count:new-code")];
  await set.refresh();
  expect(heard).toBe(2);
  next = [];
  await set.refresh();
  expect(heard).toBe(3);
  expect(set.entries()).toEqual([]);
});

test("a refresh asked while one runs reads again after it: a change made mid-read is not lost", async () => {
  let next: McpToolEntry[] = [entry("word_count")];
  let release = () => {};
  let holding = false;
  const set = new McpToolSet(async () => {
    const read = next;
    if (holding) await new Promise<void>((resolve) => (release = resolve));
    return read;
  });
  await set.refresh();
  let heard = 0;
  set.onChange(() => (heard += 1));
  // A list request's refresh reads the tools and is held; a promotion lands, and its event asks for a refresh.
  holding = true;
  const running = set.refresh();
  holding = false;
  next = [entry("word_count"), entry("shout")];
  const promoted = set.refresh();
  expect(set.refresh()).toBe(promoted);
  release();
  expect(await running).toBe(false);
  expect(await promoted).toBe(true);
  expect(set.entries().map((tool) => tool.name)).toEqual(["word_count", "shout"]);
  expect(heard).toBe(1);
});

test("a workflows folder made after the watch began, its files written and removed by hand: each change is heard", async () => {
  const dir = mkdtempSync(join(tmpdir(), "org-mcp-watch-"));
  const set = new McpToolSet(async () => workflowFiles(dir).map((file) => entry(file)));
  try {
    await set.refresh();
    const heard: string[][] = [];
    set.onChange(() => heard.push(set.entries().map((tool) => tool.name)));
    set.watchWorkflows([dir], (error) => heard.push([String(error)]));
    mkdirSync(join(dir, "workflows"));
    writeFileSync(join(dir, "workflows", "first.json"), "{}");
    await waitUntil("first.json heard", () => heard.at(-1)?.includes("first.json") === true, 10_000);
    rmSync(join(dir, "workflows", "first.json"));
    await waitUntil("first.json gone", () => heard.at(-1)?.length === 0, 10_000);
  } finally {
    set.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
