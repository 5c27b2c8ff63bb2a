import { describe, expect, test } from "bun:test";
import { OutputCapture } from "./output-capture.ts";
import { describeSandboxResult, sanitizeOutput } from "./describe-result.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

describe("OutputCapture", () => {
  test("keeps everything under the budget, across chunks", () => {
    const capture = new OutputCapture("stdout", 10);
    for (const chunk of ["ab", "cd", "ef"]) capture.push(bytes(chunk));
    expect(capture.text()).toBe("abcdef");
    expect(capture.truncated).toBe(false);
  });

  test("keeps head and tail and counts the cut, whatever the chunking", () => {
    const text = "0123456789abcdefghij";
    for (const size of [1, 3, 7, 20]) {
      const capture = new OutputCapture("stderr", 8);
      for (let index = 0; index < text.length; index += size) capture.push(bytes(text.slice(index, index + size)));
      expect(capture.totalBytes).toBe(20);
      expect(capture.truncated).toBe(true);
      expect(capture.text()).toBe("0123\n[… 12 bytes of stderr cut …]\nghij");
    }
  });

  test("a multi-byte character split across chunks decodes whole", () => {
    const capture = new OutputCapture("stdout", 100);
    const euro = bytes("€");
    capture.push(euro.slice(0, 1));
    capture.push(euro.slice(1));
    expect(capture.text()).toBe("€");
  });
});

describe("describeSandboxResult", () => {
  const base = { exitCode: 0, signal: null, timedOut: false, isCanceled: false, stdout: "", stderr: "", truncated: false, durationMs: 5 };

  test("says how a run ended", () => {
    expect(describeSandboxResult({ ...base, stdout: "hi\n" })).toEqual({ ok: true, output: "exit code: 0\nstdout:\nhi\nstderr: (empty)" });
    expect(describeSandboxResult({ ...base, exitCode: null, signal: "SIGKILL", timedOut: true, durationMs: 2000 }).output).toStartWith(
      "timed out after 2.0 s and was killed\nexit code: none (killed)",
    );
    expect(describeSandboxResult({ ...base, exitCode: 153, signal: "SIGXFSZ" }).output).toContain("file-size limit");
    expect(describeSandboxResult({ ...base, truncated: true }).output).toContain("output was truncated");
    expect(describeSandboxResult({ ...base, exitCode: 1 }).ok).toBe(false);
  });

  test("strips terminal escapes and shows control bytes as U+FFFD", () => {
    expect(sanitizeOutput("\x1b[31mred\x1b[0m \x1b]0;title\x07ok\r\n\x00\x07tab\t")).toBe("red ok\n\uFFFD\uFFFDtab\t");
  });
});
