import { describe, expect, test } from "bun:test";
import { embedToolCalls } from "./embed-tool-calls.ts";

const weather = { name: "get_weather", arguments: { city: "San Francisco", metric: "celsius" } };
const shell = { name: "sh", arguments: { command: "ls" } };

describe("embedToolCalls writes calls the way models do (the formats llm/extract/ reads)", () => {
  test("hermes: one <tool_call> block per call", () => {
    expect(embedToolCalls([shell, weather], "hermes")).toBe(
      '<tool_call>\n{"name":"sh","arguments":{"command":"ls"}}\n</tool_call>\n<tool_call>\n{"name":"get_weather","arguments":{"city":"San Francisco","metric":"celsius"}}\n</tool_call>',
    );
  });

  test("mistral: [TOOL_CALLS] and a JSON array", () => {
    expect(embedToolCalls([shell], "mistral")).toBe('[TOOL_CALLS][{"name":"sh","arguments":{"command":"ls"}}]');
  });

  test("json: a bare object for one call, an array for several", () => {
    expect(JSON.parse(embedToolCalls([shell], "json"))).toEqual(shell);
    expect(JSON.parse(embedToolCalls([shell, weather], "json"))).toEqual([shell, weather]);
  });

  test("pythonic: Python literals, quotes escaped", () => {
    expect(embedToolCalls([weather], "pythonic")).toBe("[get_weather(city='San Francisco', metric='celsius')]");
    const typed = { name: "f", arguments: { name: "Martha's", on: true, none: null, list: [1, "a"], map: { k: 2 } } };
    expect(embedToolCalls([typed], "pythonic")).toBe("[f(name='Martha\\'s', on=True, none=None, list=[1, 'a'], map={'k': 2})]");
  });

  test("qwen-xml: <function=…> with one <parameter=…> per argument", () => {
    expect(embedToolCalls([{ name: "bash", arguments: { command: "cat /etc/hosts", lines: 3 } }], "qwen-xml")).toBe(
      "<tool_call>\n<function=bash>\n<parameter=command>\ncat /etc/hosts\n</parameter>\n<parameter=lines>\n3\n</parameter>\n</function>\n</tool_call>",
    );
  });
});
