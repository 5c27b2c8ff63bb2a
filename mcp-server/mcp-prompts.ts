import type { PersonaKind } from "../config/persona-entry.ts";
import { PERSONA_ROLES } from "../personas/persona-roles.ts";
import type { McpToolEntry } from "./mcp-tool-catalog.ts";

// org's MCP prompts: one per persona of the room (its role, the user's message as the argument) and one per
// workflow (`workflow.<name>`, its inputs as arguments). A persona name never holds a dot, so the two never meet.

/** What a persona prompt needs of a persona of the config. */
export type PromptPersona = { name: string; kind: PersonaKind; instructions?: string };

export type OrgPrompt = {
  name: string;
  title: string;
  description: string;
  arguments: { name: string; description: string; required: boolean }[];
};

export type PromptMessage = { role: "user"; content: { type: "text"; text: string } };

const WORKFLOW_PREFIX = "workflow.";

const TOOLSMITH_ROLE =
  "the toolsmith of this room. When someone asks for a new tool, write its spec, code and tests; org " +
  "validates it in the sandbox, lands it on a candidate branch, and a fitness gate decides whether it is " +
  "promoted. Never claim a tool exists that was not promoted.";

function roleOf(persona: PromptPersona): string {
  return persona.kind === "toolsmith" ? TOOLSMITH_ROLE : PERSONA_ROLES[persona.kind];
}

type Property = { type?: unknown; description?: unknown; enum?: unknown };

function properties(entry: McpToolEntry): [string, Property][] {
  const props = entry.inputSchema.properties;
  if (typeof props !== "object" || props === null) return [];
  return Object.entries(props).map(([name, value]: [string, unknown]): [string, Property] => [
    name,
    typeof value === "object" && value !== null ? value : {},
  ]);
}

function required(entry: McpToolEntry): Set<string> {
  const list = entry.inputSchema.required;
  return new Set(Array.isArray(list) ? list.filter((item): item is string => typeof item === "string") : []);
}

/** Every prompt: the personas', then one per workflow of `entries`. */
export function listPrompts(personas: readonly PromptPersona[], entries: readonly McpToolEntry[]): OrgPrompt[] {
  return [
    ...personas.map((persona) => ({
      name: persona.name,
      title: `${persona.name} (${persona.kind})`,
      description: `org's ${persona.name} persona: you are ${roleOf(persona).split(". ")[0]}.`,
      arguments: [{ name: "message", description: `What the user says to ${persona.name}.`, required: true }],
    })),
    ...entries
      .filter((entry) => entry.kind === "workflow")
      .map((entry) => {
        const needed = required(entry);
        return {
          name: `${WORKFLOW_PREFIX}${entry.name}`,
          title: `Run the workflow ${entry.annotations.title ?? entry.name}`,
          description: `Asks to run the workflow ${entry.name} with these inputs: ${entry.description}`,
          arguments: properties(entry).map(([name, property]) => ({
            name,
            description:
              typeof property.description === "string" ? property.description.slice(0, 500) : `the input ${name} (${String(property.type ?? "any")})`,
            required: needed.has(name),
          })),
        };
      }),
  ];
}

export type PromptGet = { ok: true; description: string; messages: PromptMessage[] } | { ok: false; missing: boolean; error: string };

/** A prompt filled with `args`; a missing required argument or an unknown prompt says which. */
export function getPrompt(
  name: string,
  args: Record<string, string>,
  personas: readonly PromptPersona[],
  entries: readonly McpToolEntry[],
): PromptGet {
  const persona = personas.find((candidate) => candidate.name === name);
  if (persona) {
    const message = args.message;
    if (message === undefined || message === "")
      return { ok: false, missing: false, error: `the prompt ${name} needs the argument "message": what the user says to ${name}` };
    const text = [
      `You are ${persona.name}, ${roleOf(persona)}`,
      ...(persona.instructions ? [persona.instructions] : []),
      `The user says:\n${message}`,
    ].join("\n\n");
    return {
      ok: true,
      description: `org's ${persona.name} persona, answering the user's message`,
      messages: [{ role: "user", content: { type: "text", text } }],
    };
  }
  const workflow = name.startsWith(WORKFLOW_PREFIX)
    ? entries.find((entry) => entry.kind === "workflow" && entry.name === name.slice(WORKFLOW_PREFIX.length))
    : undefined;
  if (!workflow) {
    const names = listPrompts(personas, entries).map((prompt) => prompt.name);
    return {
      ok: false,
      missing: true,
      error: `unknown prompt ${JSON.stringify(name.slice(0, 100))}; the prompts are: ${names.join(", ") || "(none)"}`,
    };
  }
  const inputs: Record<string, unknown> = {};
  for (const [input, property] of properties(workflow)) {
    const value = args[input];
    if (value === undefined) {
      if (required(workflow).has(input)) return { ok: false, missing: false, error: `the prompt ${name} needs the argument "${input}"` };
      continue;
    }
    inputs[input] = property.type === "string" ? value : parsedOr(value);
  }
  const text =
    `Run org's workflow "${workflow.name}" (the tool ${workflow.name} of this MCP server) with ` +
    `these inputs, then report what it returned:\n${JSON.stringify(inputs, null, 2)}`;
  return { ok: true, description: `Run the workflow ${workflow.name}`, messages: [{ role: "user", content: { type: "text", text } }] };
}

function parsedOr(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

/** Values for a prompt's argument that start with `value` (a workflow input's enum); undefined when there is no such prompt. */
export function completePromptArgument(
  name: string,
  argument: string,
  value: string,
  personas: readonly PromptPersona[],
  entries: readonly McpToolEntry[],
): string[] | undefined {
  if (personas.some((persona) => persona.name === name)) return [];
  const workflow = name.startsWith(WORKFLOW_PREFIX)
    ? entries.find((entry) => entry.kind === "workflow" && entry.name === name.slice(WORKFLOW_PREFIX.length))
    : undefined;
  if (!workflow) return undefined;
  const property = properties(workflow).find(([input]) => input === argument)?.[1];
  if (!Array.isArray(property?.enum)) return [];
  return property.enum.map((item) => (typeof item === "string" ? item : JSON.stringify(item))).filter((item) => item.startsWith(value));
}
