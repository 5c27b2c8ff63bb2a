import type { McpToolEntry } from "./mcp-tool-catalog.ts";
import { readRegularFile } from "../fitness/gate-key.ts";
import type { ReportsByTool } from "./tool-reports.ts";

// org's MCP resources: each generated tool's spec, source, tests, metadata and fitness reports, each workflow's
// JSON. A URI names a tool or workflow the set offers now, by its exact name: no part of it becomes a path.

const TOOL_DOCUMENTS = {
  spec: { mimeType: "application/json", what: "its spec (name, description, input and output JSON Schema, examples, capabilities)" },
  source: { mimeType: "text/x-typescript", what: "its source, tool.ts" },
  tests: { mimeType: "text/x-typescript", what: "its tests, tool.test.ts" },
  metadata: { mimeType: "application/json", what: "its metadata.json (spec, file hashes, sandbox limits, validation)" },
} as const;
type ToolDocument = keyof typeof TOOL_DOCUMENTS;

/** What a resource read sends at most; a larger file is refused, never cut (a cut JSON would not parse). */
export const MAX_RESOURCE_BYTES = 1_000_000;
const MAX_REPORT_FILE_BYTES = 4 * 1024 * 1024;

/** The URI templates (RFC 6570, level 1) of every resource this server has. */
export const RESOURCE_TEMPLATES = [
  ...Object.entries(TOOL_DOCUMENTS).map(([document, { mimeType, what }]) => ({
    uriTemplate: `org://tools/{name}/${document}`,
    name: `tool-${document}`,
    title: `A generated tool's ${document}`,
    description: `A promoted generated tool's ${what}.`,
    mimeType,
  })),
  {
    uriTemplate: "org://tools/{name}/reports/{n}",
    name: "tool-report",
    title: "A generated tool's fitness report",
    description: "The n-th fitness report (1 = oldest) this checkout's gate signed for a commit that changed the tool.",
    mimeType: "application/json",
  },
  {
    uriTemplate: "org://workflows/{name}",
    name: "workflow",
    title: "A workflow",
    description: "A workflow of the workspace's workflows/ folder, as checked: name, inputs, steps, output.",
    mimeType: "application/json",
  },
];

export type OrgResource = { uri: string; name: string; title: string; description: string; mimeType: string };

/** Every resource of `entries`: four per generated tool and one per report of it, one per workflow. */
export function listResources(entries: readonly McpToolEntry[], reports: ReportsByTool): OrgResource[] {
  const resources: OrgResource[] = [];
  for (const entry of entries) {
    if (entry.kind === "workflow") {
      resources.push({
        uri: `org://workflows/${entry.name}`,
        name: `workflow ${entry.name}`,
        title: entry.annotations.title ?? entry.name,
        description: entry.description,
        mimeType: "application/json",
      });
      continue;
    }
    for (const [document, { mimeType, what }] of Object.entries(TOOL_DOCUMENTS)) {
      resources.push({
        uri: `org://tools/${entry.name}/${document}`,
        name: `${entry.name} ${document}`,
        title: `${entry.name}: ${document}`,
        description: `${entry.name}: ${what}.`,
        mimeType,
      });
    }
    for (const [index, { report }] of (reports.get(entry.name) ?? []).entries()) {
      resources.push({
        uri: `org://tools/${entry.name}/reports/${index + 1}`,
        name: `${entry.name} report ${index + 1}`,
        title: `${entry.name}: fitness report ${index + 1}`,
        description: `The fitness gate's ${report.verdict} verdict on ${report.commit.slice(0, 12)} (${report.startedAt}).`,
        mimeType: "application/json",
      });
    }
  }
  return resources;
}

/** What a read gave: the text, or why there is none (`missing`: no such resource, JSON-RPC -32002). */
export type ResourceRead = { ok: true; text: string; mimeType: string } | { ok: false; missing: boolean; error: string };

type ParsedUri =
  | { kind: "tool"; name: string; document: ToolDocument }
  | { kind: "report"; name: string; n: number }
  | { kind: "workflow"; name: string };

function isToolDocument(value: string | undefined): value is ToolDocument {
  return value !== undefined && Object.hasOwn(TOOL_DOCUMENTS, value);
}

function parseUri(uri: string): ParsedUri | undefined {
  const tool = /^org:\/\/tools\/([^/]{1,64})\/(spec|source|tests|metadata)$/.exec(uri);
  const document = tool?.[2];
  if (tool?.[1] && isToolDocument(document)) return { kind: "tool", name: tool[1], document };
  const report = /^org:\/\/tools\/([^/]{1,64})\/reports\/([1-9][0-9]{0,5})$/.exec(uri);
  if (report?.[1] && report[2]) return { kind: "report", name: report[1], n: Number(report[2]) };
  const workflow = /^org:\/\/workflows\/([^/]{1,64})$/.exec(uri);
  if (workflow?.[1]) return { kind: "workflow", name: workflow[1] };
  return undefined;
}

function shown(uri: string): string {
  return JSON.stringify(uri.length > 200 ? `${uri.slice(0, 200)}…` : uri);
}

function capped(uri: string, text: string, mimeType: string): ResourceRead {
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_RESOURCE_BYTES) {
    return {
      ok: false,
      missing: false,
      error: `${shown(uri)} has ${bytes} bytes, more than the ${MAX_RESOURCE_BYTES} this server sends; read it in the checkout`,
    };
  }
  return { ok: true, text, mimeType };
}

/** Reads one resource of `entries` (the set offered now); a URI of no such tool, workflow or report is `missing`. */
export async function readResource(uri: string, entries: readonly McpToolEntry[], reports: () => Promise<ReportsByTool>): Promise<ResourceRead> {
  const parsed = parseUri(uri);
  const missing = (why: string): ResourceRead => ({
    ok: false,
    missing: true,
    error: `no resource ${shown(uri)}: ${why}; resources/list and resources/templates/list name them`,
  });
  if (!parsed)
    return missing("org's resources are org://tools/<name>/{spec,source,tests,metadata}, org://tools/<name>/reports/<n> and org://workflows/<name>");
  const entry = entries.find(
    (candidate) => candidate.name === parsed.name && candidate.kind === (parsed.kind === "workflow" ? "workflow" : "generated"),
  );
  if (!entry) return missing(parsed.kind === "workflow" ? "no such workflow is offered" : "no such generated tool is offered");
  if (parsed.kind === "report") {
    const ofTool = (await reports()).get(parsed.name) ?? [];
    const report = ofTool[parsed.n - 1];
    if (!report) return missing(`${parsed.name} has ${ofTool.length} fitness report(s)`);
    // Read again, as a regular file (no link followed), bounded: it was signed when listed, and is shown as it is now.
    const read = readRegularFile(report.path, MAX_REPORT_FILE_BYTES);
    if (!read.ok) return { ok: false, missing: false, error: `the report behind ${shown(uri)} cannot be read any more; list the resources again` };
    return capped(uri, read.text, "application/json");
  }
  const documents = await entry.documents();
  if (!documents.ok) return { ok: false, missing: false, error: documents.error };
  if (parsed.kind === "workflow") {
    if (!("workflow" in documents.documents)) return missing("no such workflow is offered");
    return capped(uri, documents.documents.workflow, "application/json");
  }
  if (!("spec" in documents.documents)) return missing("no such generated tool is offered");
  return capped(uri, documents.documents[parsed.document], TOOL_DOCUMENTS[parsed.document].mimeType);
}

/** A version per resource URI: a subscriber is told when its URI's version changes or the URI goes. */
export function resourceVersions(entries: readonly McpToolEntry[], reports: ReportsByTool): Map<string, string> {
  const versions = new Map<string, string>();
  for (const entry of entries) {
    if (entry.kind === "workflow") versions.set(`org://workflows/${entry.name}`, entry.signature);
    else for (const document of Object.keys(TOOL_DOCUMENTS)) versions.set(`org://tools/${entry.name}/${document}`, entry.signature);
    for (const [index, report] of (reports.get(entry.name) ?? []).entries())
      versions.set(`org://tools/${entry.name}/reports/${index + 1}`, report.path);
  }
  return versions;
}

/** Whether `uri` is one this server could ever have (a subscription to anything else is refused). */
export function isOrgResourceUri(uri: string): boolean {
  return parseUri(uri) !== undefined;
}

/** Values for a template variable that start with `value`: tool or workflow names, or a tool's report numbers (`reports` read only for those). */
export async function completeTemplateVariable(
  uriTemplate: string,
  variable: string,
  value: string,
  context: Record<string, string> | undefined,
  entries: readonly McpToolEntry[],
  reports: () => Promise<ReportsByTool>,
): Promise<string[] | undefined> {
  const template = RESOURCE_TEMPLATES.find((candidate) => candidate.uriTemplate === uriTemplate);
  if (!template) return undefined;
  if (variable === "name") {
    const kind = template.name === "workflow" ? "workflow" : "generated";
    return entries.filter((entry) => entry.kind === kind && entry.name.startsWith(value)).map((entry) => entry.name);
  }
  if (variable === "n" && template.name === "tool-report") {
    const count = (await reports()).get(context?.name ?? "")?.length ?? 0;
    return Array.from({ length: count }, (_, index) => String(index + 1)).filter((n) => n.startsWith(value));
  }
  return [];
}
