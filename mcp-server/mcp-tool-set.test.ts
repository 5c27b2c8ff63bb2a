import { expect, test } from "bun:test";
import type { McpToolEntry } from "./mcp-tool-catalog.ts";
import { McpToolSet } from "./mcp-tool-set.ts";
import { mcpToolEntry } from "../testing/mcp-fixtures.ts";

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
