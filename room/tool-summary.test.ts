import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { browserData, isScreenshotPath, toolCallSummary, toolResultSummary } from "./tool-summary.ts";

const page = { url: "https://example.test/", title: "Welcome", counts: { links: 14, inputs: 3, buttons: 0 } };

describe("tool summaries", () => {
  test("the browser's data in the contract's shape sums up as what the page offers, or the screenshot it saved", () => {
    expect(toolResultSummary("browser", page)).toEqual({ text: "14 links, 3 inputs" });
    expect(toolResultSummary("browser", { ...page, counts: { links: 1, inputs: 0, buttons: 1 } })).toEqual({ text: "1 link, 1 button" });
    expect(toolResultSummary("browser", { ...page, counts: { links: 0, inputs: 0, buttons: 0 } })).toEqual({ text: "no links or inputs" });
    expect(toolResultSummary("browser", { ...page, screenshot: "screenshots/0001.png" })).toEqual({
      text: "screenshot screenshots/0001.png",
      screenshot: "screenshots/0001.png",
    });
    // Another tool's data says nothing, whatever it holds.
    expect(toolResultSummary("sh", page)).toBeUndefined();
  });

  test("data from a hostile tool or page: a wrong shape is no summary, a screenshot path that could lead out is dropped", () => {
    for (const data of [
      null,
      "x",
      [page],
      { ...page, counts: { links: -1, inputs: 0, buttons: 0 } },
      { ...page, counts: { links: 1.5, inputs: 0, buttons: 0 } },
      { ...page, title: 3 },
      { ...page, counts: null },
    ])
      expect(toolResultSummary("browser", data)).toBeUndefined();
    for (const path of [
      "../x.png",
      "/etc/x.png",
      "a/../../x.png",
      ".hidden.png",
      "a/.git/x.png",
      "x.png.exe",
      "x.svg",
      "a\\b.png",
      "x..png",
      "a//b.png",
      "",
    ]) {
      expect(isScreenshotPath(path)).toBe(false);
      expect(browserData({ ...page, screenshot: path })?.screenshot).toBeUndefined();
    }
    expect(isScreenshotPath("screenshots/2026-11-29T12-00-00_1.png")).toBe(true);
    // Whatever the path, one that passes stays inside the folder it is joined to.
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (path) => {
        if (!isScreenshotPath(path)) return;
        expect(path.split("/").every((part) => part !== ".." && part !== "." && part !== "")).toBe(true);
        expect(path.startsWith("/")).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  test("a browser call reads as its action and target; other tools keep their arguments' JSON", () => {
    expect(toolCallSummary({ name: "browser", arguments: { action: "open", url: "https://example.test/a" } })).toBe("open https://example.test/a");
    expect(toolCallSummary({ name: "browser", arguments: { action: "click", ref: "e3" } })).toBe("click e3");
    expect(toolCallSummary({ name: "browser", arguments: { action: "press", key: "Enter" } })).toBe("press Enter");
    expect(toolCallSummary({ name: "browser", arguments: { action: "select", ref: "e7", values: ["red", "blue"] } })).toBe('select e7 "red", "blue"');
    expect(toolCallSummary({ name: "browser", arguments: { action: "back" } })).toBe("back");
    expect(toolCallSummary({ name: "browser", arguments: { url: "https://x.test" } })).toBeUndefined();
    expect(toolCallSummary({ name: "sh", arguments: { cmd: "ls" } })).toBeUndefined();
  });
});
