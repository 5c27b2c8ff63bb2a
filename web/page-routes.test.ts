import { describe, expect, test } from "bun:test";
import { jsonScriptText } from "./page-routes.ts";

describe("the room's state in the page's data block", () => {
  test("no text a model wrote can end or bend the element: <, >, & and the line separators are escapes, and it reads back whole", () => {
    const hostile = {
      text: "</script><script>window.__pwned = 1</script><!-- <script> --> & &amp; \u2028\u2029 </SCRIPT >",
      nested: ["<img src=x onerror=alert(1)>", { deeper: "</script\t>" }],
      plain: 'quotes " \\ and unicode é 日本',
    };
    const text = jsonScriptText(hostile);
    expect(text).not.toMatch(/[<>&\u2028\u2029]/);
    expect(text).toContain("\\u003c/script\\u003e");
    expect(JSON.parse(text)).toEqual(hostile);
  });
});
