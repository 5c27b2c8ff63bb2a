import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { type ExtractedToolCall, extractToolCalls } from "./extract-tool-calls.ts";

type Case = {
  name: string;
  text: string;
  calls: ExtractedToolCall[];
  content: string;
  reasoning?: string;
  toolNames?: string[];
};

const special = [{ name: "special_function", arguments: { arg1: 1 } }];
const weatherTokyo = { name: "get_weather", arguments: { city: "Tokyo" } };

// Model outputs from the parser tests of vLLM and llama.cpp (the formats their tool-call parsers read).
const formats: Case[] = [
  // Hermes / Qwen <tool_call>
  {
    name: "hermes: one call on its own lines",
    text: '<tool_call>\n{"name": "final_answer", "arguments": {"trigger": true}}\n</tool_call>',
    calls: [{ name: "final_answer", arguments: { trigger: true } }],
    content: "",
  },
  {
    name: "hermes: two calls without separator",
    text: '<tool_call>{"name": "search", "arguments": {"q": "cats"}}</tool_call><tool_call>{"name": "search", "arguments": {"q": "dogs"}}</tool_call>',
    calls: [
      { name: "search", arguments: { q: "cats" } },
      { name: "search", arguments: { q: "dogs" } },
    ],
    content: "",
  },
  {
    name: "hermes: prose first",
    text: 'Sure, let me check the weather.<tool_call>{"name": "get_weather", "arguments": {"city": "NYC"}}</tool_call>',
    calls: [{ name: "get_weather", arguments: { city: "NYC" } }],
    content: "Sure, let me check the weather.",
  },
  {
    name: "hermes: unclosed until the end",
    text: '<tool_call>\n{"name": "final_answer", "arguments": {"trigger": true}}',
    calls: [{ name: "final_answer", arguments: { trigger: true } }],
    content: "",
  },
  {
    name: "hermes: invalid JSON stays text",
    text: '<tool_call>\n{"name": "final_answer", "arguments": {"trigger": true}',
    calls: [],
    content: '<tool_call>\n{"name": "final_answer", "arguments": {"trigger": true}',
  },
  {
    name: "hermes: arguments as a JSON string (Granite 4)",
    text: '<tool_call>\n{"name": "get_db_config", "arguments": "{\\"param\\": \\"max_connections\\"}"}\n</tool_call>',
    calls: [{ name: "get_db_config", arguments: { param: "max_connections" } }],
    content: "",
  },
  {
    name: "hermes: arguments as a bare string are not arguments",
    text: '<tool_call>\n{"name": "do_thing", "arguments": "hello"}\n</tool_call>',
    calls: [],
    content: '<tool_call>\n{"name": "do_thing", "arguments": "hello"}\n</tool_call>',
  },
  {
    name: "hermes: single-quoted Python dict, as the Hermes system prompt shows",
    text: "<tool_call>\n{'name': 'get_weather','arguments': {'city': 'Paris', 'days': 3, 'metric': True, 'hint': None}}\n</tool_call>",
    calls: [{ name: "get_weather", arguments: { city: "Paris", days: 3, metric: true, hint: null } }],
    content: "",
  },
  {
    name: "hermes: array inside the tag",
    text: 'I\'ll help you check the weather.<tool_call>[{"name": "get_weather", "arguments": {"city": "Dallas"}}, {"name": "get_weather", "arguments": {"city": "Orlando"}}]</tool_call>',
    calls: [
      { name: "get_weather", arguments: { city: "Dallas" } },
      { name: "get_weather", arguments: { city: "Orlando" } },
    ],
    content: "I'll help you check the weather.",
  },
  { name: "hermes: <function=…>{…}</function>", text: '<function=special_function>{"arg1": 1}</function>', calls: special, content: "" },
  {
    name: 'hermes: <function name="…">',
    text: '<function name="special_function">\n{"arg1": 1}\n</function>',
    calls: special,
    content: "",
  },
  {
    name: "functionary v3.1: cut off after the arguments",
    text: '<function=special_function>{"arg1": 1}<',
    calls: special,
    content: "<",
  },
  { name: "hermes: <tool>", text: '<tool>\n  {"name": "special_function", "arguments": {"arg1": 1}}\n</tool>', calls: special, content: "" },
  {
    name: "hermes: <response>",
    text: '<response>\n  {"name": "special_function", "arguments": {"arg1": 1}}\n</response>',
    calls: special,
    content: "",
  },
  {
    name: "hermes: ```xml fence around <response>",
    text: '```xml\n<response>\n    {"name": "special_function", "arguments": {"arg1": 1}}\n</response>\n```',
    calls: special,
    content: "",
  },
  { name: "hermes: ```xml fence", text: '```xml\n  {"name": "special_function", "arguments": {"arg1": 1}}\n```', calls: special, content: "" },
  { name: "hermes: plain fence", text: '```\n{"name": "special_function", "arguments": {"arg1": 1}}\n```', calls: special, content: "" },
  {
    name: "hermes: ```json fence around <function_call>",
    text: '```json\n\n                    <function_call> {"name": "special_function", "arguments": {"arg1": 1}} \n                    </function_call> \n```',
    calls: special,
    content: "",
  },
  { name: "hermes: <json>", text: '<json>\n  {"name": "special_function", "arguments": {"arg1": 1}}\n</json>', calls: special, content: "" },
  {
    name: "hermes: <xml> with a multi-line object",
    text: '<xml>\n  {\n    "name": "special_function", "arguments": {"arg1": 1}\n  }\n</xml>',
    calls: special,
    content: "",
  },
  {
    name: "hermes: <JSON> upper case",
    text: '<JSON>\n  {"name": "special_function", "arguments": {"arg1": 1}}\n</JSON>',
    calls: special,
    content: "",
  },
  {
    name: "hermes: prose then bare JSON",
    text: 'This is not a tool call:\n{"name": "special_function", "arguments": {"arg1": 1}}',
    calls: special,
    content: "This is not a tool call:\n",
  },
  {
    name: "hermes: cut off while streaming",
    text: 'Let\'s call something\n<tool_call>{"name"',
    calls: [],
    content: 'Let\'s call something\n<tool_call>{"name"',
  },
  {
    name: "qwq: thought opened in the prompt, then a call",
    text: 'I\'m\nthinking</think>\n<tool_call>{"name": "special_function", "arguments": {"arg1": 1}}</tool_call>',
    calls: special,
    content: "",
    reasoning: "I'm\nthinking",
  },
  {
    name: "a call inside thinking is reasoning",
    text: "<think><tool_call>nah uhg</tool_call>",
    calls: [],
    content: "",
    reasoning: "<tool_call>nah uhg</tool_call>",
  },

  // Qwen2.5-Coder <tools>
  {
    name: "qwen2.5-coder: <tools>",
    text: '<tools>\n{"name": "get_current_weather", "arguments": {"location": "San Francisco, CA", "unit": "celsius"}}\n</tools>',
    calls: [{ name: "get_current_weather", arguments: { location: "San Francisco, CA", unit: "celsius" } }],
    content: "",
  },
  {
    name: "qwen2.5-coder: array inside <tools>",
    text: '<tools>\n[\n    {"name": "get_current_weather", "arguments": {"location": "Paris, France"}},\n    {"name": "search_web", "arguments": {"query": "Paris attractions", "num_results": 5}}\n]\n</tools>',
    calls: [
      { name: "get_current_weather", arguments: { location: "Paris, France" } },
      { name: "search_web", arguments: { query: "Paris attractions", num_results: 5 } },
    ],
    content: "",
  },
  {
    name: "qwen2.5-coder: parameters alias",
    text: '<tools>\n{"name": "get_current_weather", "parameters": {"location": "Berlin, Germany"}}\n</tools>',
    calls: [{ name: "get_current_weather", arguments: { location: "Berlin, Germany" } }],
    content: "",
  },
  {
    name: "qwen2.5-coder: trailing text",
    text: '<tools>{"name": "foo", "arguments": {"a": 1}}</tools> Done!',
    calls: [{ name: "foo", arguments: { a: 1 } }],
    content: " Done!",
  },
  { name: "qwen2.5-coder: not JSON", text: "<tools>not valid json</tools>", calls: [], content: "<tools>not valid json</tools>" },
  { name: "qwen2.5-coder: cut off", text: '<tools>{"name": "no_close",', calls: [], content: '<tools>{"name": "no_close",' },
  { name: "qwen2.5-coder: empty", text: "<tools></tools>", calls: [], content: "<tools></tools>" },
  {
    name: "qwen2.5-coder via Ollama: bare JSON in content",
    text: '{\n  "name": "WebSearch",\n  "arguments": {\n    "query": "repository structure"\n  }\n}',
    calls: [{ name: "WebSearch", arguments: { query: "repository structure" } }],
    content: "",
  },

  // Qwen3-Coder XML
  {
    name: "qwen3-coder: XML call",
    text: "<tool_call>\n<function=bash>\n<parameter=command>\ncat /etc/hosts\n</parameter>\n</function>\n</tool_call>",
    calls: [{ name: "bash", arguments: { command: "cat /etc/hosts" } }],
    content: "",
  },
  {
    name: "qwen3-coder: reasoning text then a call, no </think>",
    text: "I need to read the file.\n\n<tool_call>\n<function=read_file>\n<parameter=path>\nsrc/main.ts\n</parameter>\n<parameter=limit>\n40\n</parameter>\n</function>\n</tool_call>",
    calls: [{ name: "read_file", arguments: { path: "src/main.ts", limit: "40" } }],
    content: "I need to read the file.\n\n",
  },
  {
    name: "qwen3-coder: multi-line value keeps its inner newlines",
    text: "<tool_call>\n<function=write_file>\n<parameter=path>\na.py\n</parameter>\n<parameter=content>\nimport os\n\nprint(os.getcwd())\n\n</parameter>\n</function>\n</tool_call>",
    calls: [{ name: "write_file", arguments: { path: "a.py", content: "import os\n\nprint(os.getcwd())\n" } }],
    content: "",
  },
  {
    name: "qwen3-coder: leaked without wrapper or closing tags (continue#13057)",
    text: 'I\'ll create a file called test.txt with the content "hello".\n\n<function=create_new_file>\n<parameter=filepath> test.txt\n<parameter=contents> hello',
    calls: [{ name: "create_new_file", arguments: { filepath: "test.txt", contents: "hello" } }],
    content: 'I\'ll create a file called test.txt with the content "hello".\n\n',
  },

  // Mistral
  {
    name: "mistral: old array",
    text: '[TOOL_CALLS][{"name": "add", "arguments":{"a": 3.5, "b": 4}}]',
    calls: [{ name: "add", arguments: { a: 3.5, b: 4 } }],
    content: "",
  },
  {
    name: "mistral: arguments before name",
    text: '[TOOL_CALLS] [{"arguments":{"city": "San Francisco", "state": "CA", "unit": "celsius"}, "name": "get_current_weather"}]',
    calls: [{ name: "get_current_weather", arguments: { city: "San Francisco", state: "CA", unit: "celsius" } }],
    content: "",
  },
  {
    name: "mistral: two calls in the array",
    text: '[TOOL_CALLS] [{"name": "add", "arguments": {"a": 3.5, "b": 4}}, {"name": "get_current_weather", "arguments":{"city": "San Francisco", "state": "CA", "unit": "celsius"}}]',
    calls: [
      { name: "add", arguments: { a: 3.5, b: 4 } },
      { name: "get_current_weather", arguments: { city: "San Francisco", state: "CA", unit: "celsius" } },
    ],
    content: "",
  },
  {
    name: "mistral: prose first",
    text: 'Hello[TOOL_CALLS] [{"name": "add", "arguments":{"a": 1, "b": 2}}]',
    calls: [{ name: "add", arguments: { a: 1, b: 2 } }],
    content: "Hello",
  },
  {
    name: "mistral: trailing data",
    text: '[TOOL_CALLS] [{"name": "get_current_weather", "arguments":{"city": "Dallas", "state": "TX", "unit": "fahrenheit"}}]\nextra trailing data',
    calls: [{ name: "get_current_weather", arguments: { city: "Dallas", state: "TX", unit: "fahrenheit" } }],
    content: "\nextra trailing data",
  },
  { name: "mistral: not JSON", text: "[TOOL_CALLS] not json at all", calls: [], content: "[TOOL_CALLS] not json at all" },
  {
    name: "mistral: two markers",
    text: '[TOOL_CALLS] [{"name": "add", "arguments":{"a": 1}}][TOOL_CALLS] [{"name": "sub", "arguments":{"b": 2}}]',
    calls: [
      { name: "add", arguments: { a: 1 } },
      { name: "sub", arguments: { b: 2 } },
    ],
    content: "",
  },
  {
    name: "mistral-nemo: with an id",
    text: '[TOOL_CALLS][{"name": "special_function", "arguments": {"arg1": 1}, "id": "123456789"}]',
    calls: special,
    content: "",
  },
  {
    name: "mistral v11: name then arguments",
    text: '[TOOL_CALLS]add_this_and_that{"a": 3.5, "b": 4}',
    calls: [{ name: "add_this_and_that", arguments: { a: 3.5, b: 4 } }],
    content: "",
  },
  {
    name: "mistral v11: repeated marker",
    text: '[TOOL_CALLS]add{"a": 3.5, "b": 4}[TOOL_CALLS]multiply{"a": 3, "b": 6}',
    calls: [
      { name: "add", arguments: { a: 3.5, b: 4 } },
      { name: "multiply", arguments: { a: 3, b: 6 } },
    ],
    content: "",
  },
  {
    name: "mistral v11: prose first",
    text: 'bla[TOOL_CALLS]add_this_and_that{"a": 3.5, "b": 4}',
    calls: [{ name: "add_this_and_that", arguments: { a: 3.5, b: 4 } }],
    content: "bla",
  },
  {
    name: "mistral v11: cut-off arguments stay text",
    text: 'hi{hi[TOOL_CALLS]bash{"command": "print(\\"hello world!\\")\\nre.compile(r\'{}\')"',
    calls: [],
    content: 'hi{hi[TOOL_CALLS]bash{"command": "print(\\"hello world!\\")\\nre.compile(r\'{}\')"',
  },
  { name: "mistral v11: name without arguments", text: "[TOOL_CALLS]toolname_no_args", calls: [], content: "[TOOL_CALLS]toolname_no_args" },
  {
    name: "mistral v13: [ARGS] and [CALL_ID]",
    text: '[TOOL_CALLS]get_weather[ARGS]{"city": "Paris"}[TOOL_CALLS]get_time[CALL_ID]a1b2c3d4e[ARGS]{"zone": "CET"}',
    calls: [
      { name: "get_weather", arguments: { city: "Paris" } },
      { name: "get_time", arguments: { zone: "CET" } },
    ],
    content: "",
  },

  // Llama 3.x
  { name: "llama: parameters", text: '{"name": "special_function", "parameters": {"arg1": 1}}', calls: special, content: "" },
  {
    name: "llama: python_tag built-in tool",
    text: "<|python_tag|>python.call(code=\"print('hey')\")",
    calls: [{ name: "python", arguments: { code: "print('hey')" } }],
    content: "",
  },
  {
    name: "llama: python_tag code_interpreter",
    text: "<|python_tag|>code_interpreter.call(code=\"print('hey')\")<|eom_id|>",
    calls: [{ name: "code_interpreter", arguments: { code: "print('hey')" } }],
    content: "",
  },
  {
    name: "llama: python_tag with JSON",
    text: '<|python_tag|>{"name": "searchTool", "parameters": {"query": "test"}}',
    calls: [{ name: "searchTool", arguments: { query: "test" } }],
    content: "",
  },
  {
    name: "llama: call in the middle of prose",
    text: 'Here is the result: {"name": "getOpenIncidentsTool", "parameters": {}} Would you like to know more?',
    calls: [{ name: "getOpenIncidentsTool", arguments: {} }],
    content: "Here is the result:  Would you like to know more?",
  },
  {
    name: "llama: arguments alias",
    text: '{"name": "searchTool", "arguments": {"query": "test"}}',
    calls: [{ name: "searchTool", arguments: { query: "test" } }],
    content: "",
  },
  {
    name: "llama: ;-separated parallel calls",
    text: '{"name": "searchTool", "parameters": {"query": "test1"}}; {"name": "getOpenIncidentsTool", "parameters": {}}; {"name": "searchTool", "parameters": {"query": "test2"}}',
    calls: [
      { name: "searchTool", arguments: { query: "test1" } },
      { name: "getOpenIncidentsTool", arguments: {} },
      { name: "searchTool", arguments: { query: "test2" } },
    ],
    content: "",
  },
  {
    name: "llama: newline- and ;\\n-separated calls",
    text: '{"name": "a", "parameters": {}};\n{"name": "b", "parameters": {}}\n{"name": "c", "parameters": {}}',
    calls: [
      { name: "a", arguments: {} },
      { name: "b", arguments: {} },
      { name: "c", arguments: {} },
    ],
    content: "",
  },
  {
    name: "llama: trailing prose with braces",
    text: '{"name": "searchTool", "parameters": {"query": "test"}} I used {searchTool} for this.',
    calls: [{ name: "searchTool", arguments: { query: "test" } }],
    content: " I used {searchTool} for this.",
  },
  {
    name: "llama: invalid JSON",
    text: '{"name": "invalidTool", "parameters": {invalid json}',
    calls: [],
    content: '{"name": "invalidTool", "parameters": {invalid json}',
  },
  { name: "llama: no name", text: '{"parameters": {}}', calls: [], content: '{"parameters": {}}' },
  { name: "llama: no parameters, no marker", text: '{"name": "toolWithoutParams"}', calls: [], content: '{"name": "toolWithoutParams"}' },

  // Pythonic
  {
    name: "pythonic: one call",
    text: "[get_weather(city='San Francisco', metric='celsius')]",
    calls: [{ name: "get_weather", arguments: { city: "San Francisco", metric: "celsius" } }],
    content: "",
  },
  {
    name: "pythonic: every literal type",
    text: "[register_user(name='John Doe', age=37, address={'city': 'San Francisco', 'state': 'CA'}, role=None, passed_test=True, aliases=['John', 'Johnny'])]",
    calls: [
      {
        name: "register_user",
        arguments: {
          name: "John Doe",
          age: 37,
          address: { city: "San Francisco", state: "CA" },
          role: null,
          passed_test: true,
          aliases: ["John", "Johnny"],
        },
      },
    ],
    content: "",
  },
  {
    name: "pythonic: escapes",
    text: "[get_weather(city='Martha\\'s Vineyard', metric='\\\"cool units\\\"')]",
    calls: [{ name: "get_weather", arguments: { city: "Martha's Vineyard", metric: '"cool units"' } }],
    content: "",
  },
  { name: "pythonic: no parameters", text: "[get_weather()]", calls: [{ name: "get_weather", arguments: {} }], content: "" },
  {
    name: "pythonic: parallel",
    text: "[get_weather(city='Paris'), get_time(zone=\"CET\", precise=False)]",
    calls: [
      { name: "get_weather", arguments: { city: "Paris" } },
      { name: "get_time", arguments: { zone: "CET", precise: false } },
    ],
    content: "",
  },
  { name: "pythonic: infinite number", text: "[calc(x=1e999), get_time()]", calls: [], content: "[calc(x=1e999), get_time()]" },
  { name: "pythonic: unbalanced", text: "[foo(x=1])]", calls: [], content: "[foo(x=1])]" },
  { name: "pythonic: broken quotes", text: "[f(a='x 'y', b='z')]", calls: [], content: "[f(a='x 'y', b='z')]" },
  {
    name: "llama 4: python_start wrapper",
    text: "<|python_start|>[get_weather(city='Paris')]<|python_end|>",
    calls: [{ name: "get_weather", arguments: { city: "Paris" } }],
    content: "",
  },
  {
    name: "pythonic: triple-quoted code",
    text: '[python_run(code="""print("hi")\nprint(\'there\')""")]',
    calls: [{ name: "python_run", arguments: { code: "print(\"hi\")\nprint('there')" } }],
    content: "",
  },

  // Functionary
  {
    name: "functionary v3.2: recipient line",
    text: 'all\nHello, world!\nnono\nWhat\'s up?\n>>>special_function\n{"arg1": 1}\n',
    calls: special,
    content: "all\nHello, world!\nnono\nWhat's up?\n\n",
  },
  { name: "functionary v3.2: >>>all is text", text: ">>>all\nHello there", calls: [], content: ">>>all\nHello there" },

  // Granite
  { name: "granite 3.0", text: '<|tool_call|> [{"name": "get_weather", "arguments": {"city": "Tokyo"}}]', calls: [weatherTokyo], content: "" },
  { name: "granite 3.1", text: '<tool_call> [{"name": "get_weather", "arguments": {"city": "Tokyo"}}]', calls: [weatherTokyo], content: "" },
  {
    name: "granite: arguments before name",
    text: '<|tool_call|> [{"arguments": {"city": "Tokyo"}, "name": "get_weather"}, {"arguments": {"timezone": "Asia/Tokyo"}, "name": "get_time"}]',
    calls: [weatherTokyo, { name: "get_time", arguments: { timezone: "Asia/Tokyo" } }],
    content: "",
  },
  {
    name: "granite: cut off",
    text: '<|tool_call|> [{"name": "func", "arguments": {',
    calls: [],
    content: '<|tool_call|> [{"name": "func", "arguments": {',
  },
  {
    name: "granite: an object instead of an array is accepted",
    text: '<|tool_call|> {"name": "func", "arguments": {}}',
    calls: [{ name: "func", arguments: {} }],
    content: "",
  },
  { name: "granite: prose with a name-only list", text: 'Some text [{"name": "func"}]', calls: [], content: 'Some text [{"name": "func"}]' },

  // Phi-4-mini functools
  { name: "functools: one call", text: 'functools[{"name": "get_weather", "arguments": {"city": "Tokyo"}}]', calls: [weatherTokyo], content: "" },
  {
    name: "functools: parallel",
    text: 'functools[\n  {"name": "get_weather", "arguments": {"city": "Tokyo"}},\n  {"name": "get_time", "arguments": {"timezone": "Asia/Tokyo"}}\n]',
    calls: [weatherTokyo, { name: "get_time", arguments: { timezone: "Asia/Tokyo" } }],
    content: "",
  },
  {
    name: "functools: prose around",
    text: 'Let me check the weather for you.\nfunctools[{"name": "get_weather", "arguments": {"city": "Tokyo"}}]\nWould you like to know more?',
    calls: [weatherTokyo],
    content: "Let me check the weather for you.\n\nWould you like to know more?",
  },
  { name: "functools: cut off", text: 'functools[{"name": "func", "arguments": {', calls: [], content: 'functools[{"name": "func", "arguments": {' },
  {
    name: "functools: arguments not a dict",
    text: 'functools[{"name": "func", "arguments": "not a dict"}]',
    calls: [],
    content: 'functools[{"name": "func", "arguments": "not a dict"}]',
  },
  { name: "functools: object, no brackets", text: 'functools{"name": "func"}', calls: [], content: 'functools{"name": "func"}' },
  { name: "functools: empty", text: "functools[] This is just text", calls: [], content: "functools[] This is just text" },
  { name: "functools: prose in brackets", text: "functools[ This is just text ]", calls: [], content: "functools[ This is just text ]" },

  // Bare and fenced JSON (xLAM)
  {
    name: "xlam: bare array",
    text: '[{"name": "get_current_weather", "arguments": {"city": "Dallas", "state": "TX", "unit": "fahrenheit"}}, {"name": "get_current_weather", "arguments": {"city": "Orlando", "state": "FL", "unit": "fahrenheit"}}]',
    calls: [
      { name: "get_current_weather", arguments: { city: "Dallas", state: "TX", unit: "fahrenheit" } },
      { name: "get_current_weather", arguments: { city: "Orlando", state: "FL", unit: "fahrenheit" } },
    ],
    content: "",
  },
  {
    name: "xlam: thinking then an array",
    text: '<think>I\'ll help you with that.</think>[{"name": "get_current_weather", "arguments": {"city": "Dallas"}}]',
    calls: [{ name: "get_current_weather", arguments: { city: "Dallas" } }],
    content: "",
    reasoning: "I'll help you with that.",
  },
  {
    name: "xlam: fenced array after prose",
    text: 'I\'ll help you with that.\n```json\n[{"name": "get_current_weather", "arguments": {"city": "Dallas", "state": "TX", "unit": "fahrenheit"}}]\n```',
    calls: [{ name: "get_current_weather", arguments: { city: "Dallas", state: "TX", unit: "fahrenheit" } }],
    content: "I'll help you with that.\n",
  },
  {
    name: "openai-shaped tool_calls object",
    text: '{"tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\\"city\\": \\"Tokyo\\"}"}}]}',
    calls: [weatherTokyo],
    content: "",
  },

  // DeepSeek, gpt-oss
  {
    name: "deepseek-r1",
    text: '<think>I\'m\nthinking</think>\n\n<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>special_function\n```json\n{"arg1": 1}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>',
    calls: special,
    content: "",
    reasoning: "I'm\nthinking",
  },
  {
    name: "deepseek v3.1: two calls",
    text: 'Checking.<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>{"city": "Tokyo"}<｜tool▁call▁end｜><｜tool▁call▁begin｜>get_time<｜tool▁sep｜>{"zone": "JST"}<｜tool▁call▁end｜><｜tool▁calls▁end｜>',
    calls: [weatherTokyo, { name: "get_time", arguments: { zone: "JST" } }],
    content: "Checking.",
  },
  {
    name: "deepseek: degenerate marker in prose stays text",
    text: "It starts with <｜tool▁calls▁begin｜> and ends with",
    calls: [],
    content: "It starts with <｜tool▁calls▁begin｜> and ends with",
  },
  {
    name: "gpt-oss harmony",
    text: '<|channel|>analysis<|message|>I\'m\nthinking<|end|><|start|>assistant<|channel|>commentary to=functions.special_function <|constrain|>json<|message|>{"arg1": 1}',
    calls: special,
    content: "",
    reasoning: "I'm\nthinking",
  },

  // Reasoning
  {
    name: "think block then text",
    text: "<think>This is a reasoning section</think>This is the rest",
    calls: [],
    content: "This is the rest",
    reasoning: "This is a reasoning section",
  },
  {
    name: "thought opened in the prompt",
    text: "This is a reasoning section</think>This is the rest",
    calls: [],
    content: "This is the rest",
    reasoning: "This is a reasoning section",
  },
  {
    name: "unclosed think runs to the end",
    text: "<think>This is a reasoning section",
    calls: [],
    content: "",
    reasoning: "This is a reasoning section",
  },
  { name: "empty qwen3 think prefix", text: "<think>\n\n</think>\n\nHello!", calls: [], content: "Hello!", reasoning: "" },
  { name: "seed-oss think", text: "<seed:think>hmm</seed:think>Answer", calls: [], content: "Answer", reasoning: "hmm" },
  {
    name: "a think block in the middle keeps the text around it",
    text: "First. <think>wait</think> Second.",
    calls: [],
    content: "First.  Second.",
    reasoning: "wait",
  },
];

describe("extractToolCalls: the formats local models write calls in", () => {
  for (const item of formats) {
    test(item.name, () => {
      const result = extractToolCalls(item.text, item.toolNames ? { toolNames: item.toolNames } : {});
      expect(result.toolCalls).toEqual(item.calls);
      expect(result.content).toBe(item.content);
      expect(result.reasoning).toBe(item.reasoning ?? "");
    });
  }
});

const echo = (text: string): ExtractedToolCall => ({ name: "echo", arguments: { text } });
const hermesCall = (name: string, args: unknown) => `<tool_call>${JSON.stringify({ name, arguments: args })}</tool_call>`;

describe("extractToolCalls: toolNames", () => {
  test("a call to a declared tool counts", () => {
    const result = extractToolCalls(`Echoing.${hermesCall("echo", { text: "hi" })}`, { toolNames: ["echo"] });
    expect(result.toolCalls).toEqual([echo("hi")]);
    expect(result.content).toBe("Echoing.");
  });

  test("a call to an undeclared tool stays text, word for word", () => {
    const text = `Let me try.\n${hermesCall("rm_everything", { path: "/" })}\nDone.`;
    expect(extractToolCalls(text, { toolNames: ["echo"] })).toEqual({ content: text, reasoning: "", toolCalls: [] });
  });

  test("a block calling one declared and one undeclared tool stays text whole", () => {
    const text = '[TOOL_CALLS][{"name": "echo", "arguments": {"text": "a"}}, {"name": "nope", "arguments": {}}]';
    expect(extractToolCalls(text, { toolNames: ["echo"] })).toEqual({ content: text, reasoning: "", toolCalls: [] });
  });

  test("separate blocks are judged one by one", () => {
    const unknown = hermesCall("nope", {});
    const result = extractToolCalls(`${unknown}${hermesCall("echo", { text: "b" })}`, { toolNames: ["echo"] });
    expect(result.toolCalls).toEqual([echo("b")]);
    expect(result.content).toBe(unknown);
  });

  test("an empty list means no call counts", () => {
    const text = hermesCall("echo", { text: "x" });
    expect(extractToolCalls(text, { toolNames: [] }).toolCalls).toEqual([]);
  });

  test('{"<toolname>": {…}} inside a marker is a call to a declared tool (Ollama\'s template parser)', () => {
    const result = extractToolCalls('<tool_call>{"echo": {"text": "hey"}}</tool_call>', { toolNames: ["echo"] });
    expect(result.toolCalls).toEqual([echo("hey")]);
    expect(extractToolCalls('<tool_call>{"echo": {"text": "hey"}}</tool_call>').toolCalls).toEqual([]);
  });

  test("__proto__ and other Object.prototype names are not declared tools", () => {
    for (const name of ["__proto__", "constructor", "toString", "hasOwnProperty"]) {
      expect(extractToolCalls(hermesCall(name, {}), { toolNames: ["echo"] }).toolCalls).toEqual([]);
    }
  });
});

describe("extractToolCalls: edge cases", () => {
  test("braces, brackets, quotes and tags inside strings do not end the call", () => {
    const args = { command: 'echo \'}{\' "{\\"a\\": [1, 2]}" ]]> </tool_call> ```', note: "a\\b\u00e9\u{1F600}" };
    const result = extractToolCalls(`Run:${hermesCall("sh", args)} ok`);
    expect(result.toolCalls).toEqual([{ name: "sh", arguments: args }]);
    expect(result.content).toBe("Run: ok");
  });

  test("several calls mixed with prose keep the prose in order", () => {
    const text = `First ${hermesCall("echo", { text: "1" })} then [TOOL_CALLS]echo{"text": "2"} and {"name": "echo", "parameters": {"text": "3"}} last.`;
    const result = extractToolCalls(text);
    expect(result.toolCalls).toEqual([echo("1"), echo("2"), echo("3")]);
    expect(result.content).toBe("First  then  and  last.");
  });

  test("separators between two calls are not content, elsewhere they are", () => {
    const call = '{"name": "echo", "parameters": {"text": "x"}}';
    expect(extractToolCalls(`${call};\n ${call}`).content).toBe("");
    expect(extractToolCalls(`a; ${call}; b`).content).toBe("a; ; b");
  });

  test("an unclosed tag ends at its last call; prose after it stays", () => {
    const result = extractToolCalls('<tool_call>{"name": "echo", "arguments": {"text": "x"}}\nI will wait for the result.');
    expect(result.toolCalls).toEqual([echo("x")]);
    expect(result.content).toBe("\nI will wait for the result.");
  });

  test("a lone or empty tag is text", () => {
    for (const text of [
      "<tool_call>",
      "<tool_call></tool_call>",
      "<tool_call>\n\n",
      "</tool_call>",
      "[TOOL_CALLS]",
      "<|python_tag|>",
      "functools[]",
    ]) {
      expect(extractToolCalls(text)).toEqual({ content: text, reasoning: "", toolCalls: [] });
    }
  });

  test("a marker call may leave out its arguments; a bare object may not", () => {
    expect(extractToolCalls('<tool_call>{"name": "list_files"}</tool_call>').toolCalls).toEqual([{ name: "list_files", arguments: {} }]);
    expect(extractToolCalls('{"name": "list_files"}').toolCalls).toEqual([]);
    expect(extractToolCalls('<tool_call>{"name": "x", "arguments": null}</tool_call>').toolCalls).toEqual([{ name: "x", arguments: {} }]);
    expect(extractToolCalls('<tool_call>{"name": "x", "arguments": ""}</tool_call>').toolCalls).toEqual([{ name: "x", arguments: {} }]);
  });

  test("a name that could not be a tool name makes no call", () => {
    for (const name of ["John Smith", "", "a/b", "x".repeat(129)]) {
      expect(extractToolCalls(`{"name": ${JSON.stringify(name)}, "arguments": {}}`).toolCalls).toEqual([]);
    }
  });

  test("data that merely contains a call-shaped object is not a call", () => {
    const text = 'The API returned {"result": {"name": "echo", "arguments": {"text": "x"}}, "ok": true}.';
    expect(extractToolCalls(text)).toEqual({ content: text, reasoning: "", toolCalls: [] });
  });

  test("code fences in other languages are code, whatever they contain", () => {
    const text = '```python\nprint({"name": "echo", "arguments": {"text": "x"}})\n[f(a=1)]\n```\nThat prints a dict.';
    expect(extractToolCalls(text)).toEqual({ content: text, reasoning: "", toolCalls: [] });
  });

  test("a call quoted in an inline code span is an example, not a call", () => {
    const text = 'Call it as `{"name": "echo", "arguments": {"text": "x"}}` or `[echo(text=\'x\')]`.';
    expect(extractToolCalls(text)).toEqual({ content: text, reasoning: "", toolCalls: [] });
  });

  test("a fence opens only at the start of a line", () => {
    const text = 'Run ```ls```\nthen <tool_call>{"name": "echo", "arguments": {"text": "x"}}</tool_call>';
    expect(extractToolCalls(text)).toEqual({ content: "Run ```ls```\nthen ", reasoning: "", toolCalls: [echo("x")] });
    const indented = '  ```json\n  {"name": "echo", "arguments": {"text": "y"}}\n  ```';
    expect(extractToolCalls(indented).toolCalls).toEqual([echo("y")]);
  });

  test("gemma's ```tool_code fence with a pythonic call", () => {
    expect(extractToolCalls('```tool_code\necho(text="x")\n```').toolCalls).toEqual([echo("x")]);
  });

  test("a json fence holding more than calls is left alone whole", () => {
    const text = '```json\n{"name": "echo", "arguments": {"text": "x"}}\n{"other": 1}\n```';
    expect(extractToolCalls(text)).toEqual({ content: text, reasoning: "", toolCalls: [] });
  });

  test("__proto__ in arguments is an own key, not a prototype", () => {
    const [call] = extractToolCalls('<tool_call>{"name": "x", "arguments": {"__proto__": {"polluted": true}}}</tool_call>').toolCalls;
    expect(Object.hasOwn(call?.arguments ?? {}, "__proto__")).toBe(true);
    expect(Object.getPrototypeOf(call?.arguments)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test("python literals: tuples, trailing commas, unicode escapes, numbers", () => {
    const result = extractToolCalls(
      "<tool_call>{'name': 'f', 'arguments': {'t': (1, 2,), 'u': '\\u00e9\\x41', 'n': -1.5e3, 'big': 1_000,},}</tool_call>",
    );
    expect(result.toolCalls).toEqual([{ name: "f", arguments: { t: [1, 2], u: "éA", n: -1500, big: 1000 } }]);
  });

  test("qwen3-coder CRLF and named parameters", () => {
    const text = '<tool_call>\r\n<function name="sh">\r\n<parameter name="command">\r\nls\r\n</parameter>\r\n</function>\r\n</tool_call>';
    expect(extractToolCalls(text).toolCalls).toEqual([{ name: "sh", arguments: { command: "ls" } }]);
  });

  test("a bare <function=x> in prose is not a call", () => {
    const text = "Use <function=name> tags to call tools.";
    expect(extractToolCalls(text)).toEqual({ content: text, reasoning: "", toolCalls: [] });
  });

  test("calls after an unclosed <think> are thoughts", () => {
    const text = `Answer first. <think>maybe ${hermesCall("echo", { text: "x" })}`;
    expect(extractToolCalls(text)).toEqual({ content: "Answer first. ", reasoning: `maybe ${hermesCall("echo", { text: "x" })}`, toolCalls: [] });
  });

  test("think tags inside a call's arguments belong to the call", () => {
    const args = { path: "notes.md", content: "Models write <think>…</think> first; a stray </think> too." };
    expect(extractToolCalls(hermesCall("write_file", args))).toEqual({
      content: "",
      reasoning: "",
      toolCalls: [{ name: "write_file", arguments: args }],
    });
  });

  test("think tags in a code fence are code", () => {
    const text = '```ts\nconst open = "<think>";\n```\nThat is the tag.';
    expect(extractToolCalls(text)).toEqual({ content: text, reasoning: "", toolCalls: [] });
  });

  test("a closing tag after content was thought is text", () => {
    expect(extractToolCalls("<think>a</think>Use </think> to close.")).toEqual({ content: "Use </think> to close.", reasoning: "a", toolCalls: [] });
  });

  test("several think blocks are joined, the text between them kept", () => {
    const result = extractToolCalls(`<think>one</think>A${hermesCall("echo", { text: "x" })}<think>two</think>B`);
    expect(result).toEqual({ content: "AB", reasoning: "one\ntwo", toolCalls: [echo("x")] });
  });
});

const MEGABYTE = 1 << 20;

describe("extractToolCalls: hostile input (1 MB)", () => {
  for (const unit of ["<tool_call>", "{", "[", '{"', "[{", '{"a":[', "```\n", "[a(", "'", "[TOOL_CALLS]", "<|tool_call|>"]) {
    test(`${JSON.stringify(unit)} repeated is all text`, () => {
      const text = unit.repeat(Math.ceil(MEGABYTE / unit.length));
      expect(extractToolCalls(text)).toEqual({ content: text, reasoning: "", toolCalls: [] });
    });
  }

  test('"<think>" repeated is one unclosed thought', () => {
    const text = "<think>".repeat(MEGABYTE / 8);
    expect(extractToolCalls(text)).toEqual({ content: "", reasoning: text.slice("<think>".length), toolCalls: [] });
  });

  test("unterminated parameters repeated are that many calls", () => {
    const count = MEGABYTE / 32;
    const result = extractToolCalls("<function=a><parameter=x>".repeat(count));
    expect(result.toolCalls.length).toBe(count);
    expect(result.toolCalls[count - 1]).toEqual({ name: "a", arguments: { x: "" } });
    expect(result.content).toBe("");
  });

  test("a real call after a megabyte of junk is still found", () => {
    for (const junk of ["{", "[", '{"a":', "<tool_call>"]) {
      const prefix = junk.repeat(Math.ceil(MEGABYTE / junk.length));
      const result = extractToolCalls(`${prefix}\n${hermesCall("echo", { text: "end" })}`);
      expect(result.toolCalls).toEqual([echo("end")]);
    }
  });
});

// Properties. Prose here never contains a character any marker starts with, nor "(" (which would let a
// call list run on into it), so whatever the extractor removes must be the generated call.
const MARKER_CHARACTERS = /[<>[\]{}`(]/g;
const proseArbitrary = fc.string({ unit: "grapheme", maxLength: 40 }).map((text) => text.replace(MARKER_CHARACTERS, ""));
const markerFreeArbitrary = fc.string({ unit: "binary", maxLength: 200 }).map((text) => text.replace(/[<>[{`]/g, ""));
const identifierArbitrary = fc.stringMatching(/^[a-z_][a-z0-9_]{0,12}$/);
const jsonArgumentsArbitrary = fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 });
const pythonArgumentsArbitrary = fc.dictionary(identifierArbitrary, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 });
const stringArgumentsArbitrary = fc.dictionary(
  identifierArbitrary,
  fc.string({ unit: "grapheme", maxLength: 30 }).map((text) => text.replace(/[<\r]/g, "")),
  { maxKeys: 4 },
);

type Render = (name: string, args: Record<string, unknown>) => string;
const json = (value: unknown) => JSON.stringify(value);

function python(value: unknown): string {
  if (value === null) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "string") return `'${value.replaceAll("\\", "\\\\").replaceAll("'", "\\'").replaceAll("\n", "\\n").replaceAll("\r", "\\r")}'`;
  if (Array.isArray(value)) return `[${value.map(python).join(", ")}]`;
  if (typeof value === "object")
    return `{${Object.entries(value)
      .map(([key, item]) => `${python(key)}: ${python(item)}`)
      .join(", ")}}`;
  return JSON.stringify(value);
}

const jsonRenders: Record<string, Render> = {
  hermes: (name, args) => `<tool_call>\n${json({ name, arguments: args })}\n</tool_call>`,
  "hermes, arguments as a string": (name, args) => `<tool_call>${json({ name, arguments: json(args) })}</tool_call>`,
  "hermes, python dict": (name, args) => `<tool_call>\n{'name': '${name}', 'arguments': ${python(args)}}\n</tool_call>`,
  "qwen <tools> array": (name, args) => `<tools>\n[${json({ name, arguments: args })}]\n</tools>`,
  "mistral old": (name, args) => `[TOOL_CALLS] [${json({ arguments: args, name })}]`,
  "mistral v11": (name, args) => `[TOOL_CALLS]${name}${json(args)}`,
  "mistral v13": (name, args) => `[TOOL_CALLS]${name}[ARGS]${json(args)}`,
  "llama bare JSON": (name, args) => json({ name, parameters: args }),
  "llama python_tag": (name, args) => `<|python_tag|>${json({ name, parameters: args })}<|eom_id|>`,
  granite: (name, args) => `<|tool_call|>[${json({ name, arguments: args })}]`,
  functools: (name, args) => `functools[${json({ name, arguments: args })}]`,
  "fenced json": (name, args) => `\`\`\`json\n${json({ name, arguments: args })}\n\`\`\``,
  "tool_calls object": (name, args) => json({ tool_calls: [{ id: "call_1", type: "function", function: { name, arguments: json(args) } }] }),
  deepseek: (name, args) =>
    `<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>${name}\n\`\`\`json\n${json(args)}\n\`\`\`<｜tool▁call▁end｜><｜tool▁calls▁end｜>`,
  "gpt-oss": (name, args) => `<|start|>assistant<|channel|>commentary to=functions.${name} <|constrain|>json<|message|>${json(args)}<|call|>`,
};
const pythonRenders: Record<string, Render> = {
  pythonic: (name, args) =>
    `[${name}(${Object.entries(args)
      .map(([key, value]) => `${key}=${python(value)}`)
      .join(", ")})]`,
};
const stringRenders: Record<string, Render> = {
  "qwen3-coder": (name, args) =>
    `<tool_call>\n<function=${name}>\n${Object.entries(args)
      .map(([key, value]) => `<parameter=${key}>\n${value}\n</parameter>\n`)
      .join("")}</function>\n</tool_call>`,
};

const renderCases = [
  ...Object.entries(jsonRenders).map(([format, render]) => ({ format, render, args: jsonArgumentsArbitrary })),
  ...Object.entries(pythonRenders).map(([format, render]) => ({ format, render, args: pythonArgumentsArbitrary })),
  ...Object.entries(stringRenders).map(([format, render]) => ({ format, render, args: stringArgumentsArbitrary })),
];
const embeddedArbitrary = fc.record({
  before: proseArbitrary,
  after: proseArbitrary,
  name: identifierArbitrary,
  index: fc.nat(renderCases.length - 1),
});

// A fence opens at the start of a line, so the prose before one ends with a newline.
function embedded(value: { before: string; after: string; name: string; index: number }, args: Record<string, unknown>) {
  const { format, render } = renderCases[value.index] as (typeof renderCases)[number];
  const before = format === "fenced json" ? `${value.before}\n` : value.before;
  return { format, text: `${before}${render(value.name, args)}${value.after}`, prose: before + value.after };
}

describe("extractToolCalls: properties", () => {
  test("never throws, and text without extracted calls or thinking comes back unchanged", () => {
    const soup = fc
      .array(
        fc.constantFrom(
          "<tool_call>",
          "</tool_call>",
          "{",
          "}",
          "[",
          "]",
          '"',
          "'",
          '"name"',
          ":",
          ",",
          '"arguments"',
          "<think>",
          "</think>",
          "[TOOL_CALLS]",
          "```",
          "(",
          ")",
          "=",
          "<function=f>",
          "<parameter=p>",
          "a",
          " ",
          "\\",
          "1e999",
          "True",
        ),
        { maxLength: 40 },
      )
      .map((parts) => parts.join(""));
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: "binary", maxLength: 300 }), soup), (text) => {
        const result = extractToolCalls(text);
        expect(typeof result.content).toBe("string");
        expect(typeof result.reasoning).toBe("string");
        for (const call of result.toolCalls) {
          expect(typeof call.name).toBe("string");
          expect(typeof call.arguments).toBe("object");
        }
        const thinking = /<think>|<\/think>|<seed:think>|<\/seed:think>|<\|channel\|>analysis/.test(text);
        if (!thinking && result.toolCalls.length === 0) expect(result.content).toBe(text);
      }),
      { numRuns: 400 },
    );
  });

  test("text with no marker characters comes back exactly as content", () => {
    fc.assert(
      fc.property(markerFreeArbitrary, (text) => {
        expect(extractToolCalls(text)).toEqual({ content: text, reasoning: "", toolCalls: [] });
      }),
      { numRuns: 300 },
    );
  });

  test("a generated call embedded in prose is recovered and the prose left as it was", () => {
    for (const [index, { format, args }] of renderCases.entries()) {
      try {
        fc.assert(
          fc.property(embeddedArbitrary, args, (value, generated) => {
            const { text, prose } = embedded({ ...value, index }, generated);
            const result = extractToolCalls(text, { toolNames: [value.name] });
            expect(result.toolCalls).toEqual([{ name: value.name, arguments: JSON.parse(JSON.stringify(generated)) }]);
            expect(result.content).toBe(/\S/.test(prose) ? prose : "");
            expect(result.reasoning).toBe("");
          }),
          { numRuns: 40 },
        );
      } catch (error) {
        throw new Error(`${format}: ${String(error)}`);
      }
    }
  });

  test("a call to an undeclared tool leaves the whole text as content", () => {
    fc.assert(
      fc.property(embeddedArbitrary, stringArgumentsArbitrary, (value, args) => {
        const { text } = embedded(value, args);
        expect(extractToolCalls(text, { toolNames: [`${value.name}_other`] })).toEqual({ content: text, reasoning: "", toolCalls: [] });
      }),
      { numRuns: 200 },
    );
  });

  test("a call inside thinking is reasoning, not a call", () => {
    fc.assert(
      fc.property(embeddedArbitrary, stringArgumentsArbitrary, (value, args) => {
        const { text } = embedded(value, args);
        const result = extractToolCalls(`<think>${text}</think>\n${value.after}`);
        expect(result.toolCalls).toEqual([]);
        expect(result.reasoning).toBe(text.trim());
        expect(result.content).toBe(`\n${value.after}`.trimStart());
      }),
      { numRuns: 200 },
    );
  });
});
