import { describe, expect, test } from "bun:test";
import { RuleMatcher } from "./match-rule.ts";
import { parseScript, ScriptError, validateScript } from "./script.ts";

const matcher = (rules: unknown[]) => new RuleMatcher(validateScript({ rules }, "test"));

/** A conversation that ends with the result of a call of `name` (by id, as OpenAI clients send it). */
const afterCall = (name: string, output: string) => [
  { role: "user", content: "go" },
  { role: "assistant", content: "", tool_calls: [{ id: "call_1", type: "function", function: { name, arguments: "{}" } }] },
  { role: "tool", tool_call_id: "call_1", content: output },
];

describe("rule conditions and placeholders", () => {
  test("lastTool: the tool whose result the last message is, by the call's id or the message's name", () => {
    const rules = matcher([
      { when: { lastTool: "word_count" }, reply: { text: "counted" } },
      { when: { lastRole: "tool" }, reply: { text: "some tool" } },
      { reply: { text: "no tool" } },
    ]);
    const text = (messages: unknown[]) => rules.pick({ model: "m", messages: messages as never, toolNames: ["sh", "word_count"] }).reply.text;
    expect(text(afterCall("word_count", "4"))).toBe("counted");
    expect(text(afterCall("sh", "exit code: 0"))).toBe("some tool");
    expect(text([{ role: "tool", name: "word_count", content: "4" }])).toBe("counted");
    expect(text([{ role: "user", content: "word_count" }])).toBe("no tool");
  });

  test("{{match.NAME}} is what lastMessage's named group matched; `$` in it stays text", () => {
    const rules = matcher([
      {
        when: { lastMessage: String.raw`exit: (?<code>\d+)(?: \((?<why>[^)]*)\))?` },
        reply: { text: "code {{match.code}}, why '{{match.why}}', all: {{lastMessage}}" },
      },
    ]);
    const text = (content: string) => rules.pick({ model: "m", messages: [{ role: "user", content }] }).reply.text;
    expect(text("exit: 3 ($& and $1)")).toBe("code 3, why '$& and $1', all: exit: 3 ($& and $1)");
    expect(text("exit: 0")).toBe("code 0, why '', all: exit: 0");
  });

  test("a {{match.NAME}} with no such group is refused when the script is read", () => {
    expect(() => parseScript(JSON.stringify({ rules: [{ when: { lastMessage: "(?<a>x)" }, reply: { text: "{{match.b}}" } }] }), "s.json")).toThrow(
      new ScriptError(
        "s.json: the script does not fit the expected shape:\n  at rules[0].reply.text: {{match.b}} names no (?<b>…) group of when.lastMessage\nFix these fields; see 'org scripted-server --help' for the script format.",
      ),
    );
  });
});
