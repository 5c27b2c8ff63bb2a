import { join } from "node:path";
import { z } from "zod";
import { GENERATED_TOOLS_DIR, generatedToolPath, linkedFolderProblem, TOOL_NAME_PATTERN, WORKFLOWS_DIR } from "../config/workspace-paths.ts";
import { linkOnTheWay } from "../config/link-on-the-way.ts";
import { isObjectId } from "../git/ref-names.ts";
import type { RepoGit } from "../git/repo-git.ts";
import type { SandboxAccess } from "../sandbox/run-sandboxed.ts";
import { scratchDirFor } from "../sandbox/scratch-dir.ts";
import { readSandboxFile, SandboxFileError } from "../sandbox/read-sandbox-file.ts";
import { redact } from "../security/redact.ts";
import { changedFileProblem, promotedToolsIn, runToolCopy } from "../generated-tools/promoted-tools.ts";
import { verifiedToolCode } from "../generated-tools/read-promoted-tool.ts";
import { MAX_METADATA_BYTES, parseToolMetadata, sha256Hex, type ToolMetadata } from "../generated-tools/tool-metadata.ts";
import { generatedToolCaller } from "../workflows/generated-tool-caller.ts";
import { loadWorkflowGraph } from "../workflows/load-workflow.ts";
import { workflowFiles, workflowsFolder } from "../workflows/workflow-files.ts";
import { runWorkflow } from "../workflows/run-workflow.ts";
import { WorkflowError } from "../workflows/workflow-file.ts";

/** What one call of a catalog tool gave: its output, or why there is none (for the client's model to read). */
export type McpToolRun = { ok: true; output: unknown } | { ok: false; error: string };

/** MCP's tool annotations (hints for a client; org's own checks never rely on them). */
export type McpToolAnnotations = {
  title?: string;
  readOnlyHint: boolean;
  destructiveHint: boolean;
  idempotentHint: boolean;
  openWorldHint: boolean;
};

/** The texts a tool's resources show: a generated tool's spec, source, tests and metadata, or a workflow's JSON. */
export type McpToolDocuments =
  | { ok: true; documents: { spec: string; source: string; tests: string; metadata: string } | { workflow: string } }
  | { ok: false; error: string };

/** The files a generated tool's sources are read from: at most this many bytes each (metadata.json has its own cap). */
const MAX_SOURCE_BYTES = 400_000;

/** One tool as MCP offers it; `signature` changes whenever what a client sees or runs changes. */
export type McpToolEntry = {
  name: string;
  kind: "generated" | "workflow";
  description: string;
  inputSchema: Record<string, unknown>;
  /** An object schema (MCP allows no other); a generated tool's non-object output is published as `{ result }`. */
  outputSchema?: Record<string, unknown>;
  wrapsOutput: boolean;
  annotations: McpToolAnnotations;
  signature: string;
  /** The checkout whose fitness reports judged this tool (a generated tool's). */
  repoDir?: string;
  /** Its texts for `resources/read`, read again and checked against the recorded hashes at each call. */
  documents(): Promise<McpToolDocuments>;
  /** `onStep` hears each finished workflow step (progress for the client). */
  run(input: unknown, signal?: AbortSignal, onStep?: (step: string) => void): Promise<McpToolRun>;
};

/** MCP tool names: letters, digits, `_`, `-` and `.`, 1 to 64 of them. */
const MCP_TOOL_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

function inputProblem(schema: Record<string, unknown>, input: unknown): string | undefined {
  const checked = z.fromJSONSchema(schema).safeParse(input);
  if (checked.success) return undefined;
  return checked.error.issues.map((issue) => `${issue.path.map(String).join(".") || "(input)"}: ${issue.message}`).join("; ");
}

/** The entry of a generated tool whose code was checked against `metadata`; `code()` re-reads and re-checks it at each call. */
function generatedEntry(
  metadata: ToolMetadata,
  origin: string,
  runDir: string,
  code: () => Promise<{ ok: true; code: string } | { ok: false; error: string }>,
  access: SandboxAccess,
  files: () => Promise<{ ok: true; source: string; tests: string; metadata: string } | { ok: false; error: string }>,
): McpToolEntry {
  const { spec } = metadata;
  const objectOutput = spec.output_schema.type === "object";
  return {
    name: spec.name,
    kind: "generated",
    description: `${spec.description} (a generated tool${origin}, run in org's sandbox: no network)`,
    inputSchema: spec.input_schema,
    outputSchema: objectOutput ? spec.output_schema : { type: "object", properties: { result: spec.output_schema }, required: ["result"] },
    wrapsOutput: !objectOutput,
    annotations: {
      title: spec.name,
      // The sandbox gives a tool no network and at most a scratch folder of its own: it changes nothing outside.
      readOnlyHint: true,
      destructiveHint: false,
      idempotentHint: spec.deterministic,
      openWorldHint: spec.capabilities.network,
    },
    signature: `${spec.name}:${metadata.files["tool.ts"]}:${metadata.files["tool.test.ts"]}:${sha256Hex(JSON.stringify(spec))}`,
    repoDir: runDir,
    async documents() {
      const read = await files();
      if (!read.ok) return read;
      return { ok: true, documents: { spec: `${JSON.stringify(spec, null, 2)}\n`, source: read.source, tests: read.tests, metadata: read.metadata } };
    },
    async run(input, signal) {
      const problem = inputProblem(spec.input_schema, input);
      if (problem) return { ok: false, error: `the input does not match ${spec.name}'s input schema: ${redact(problem)}` };
      const loaded = await code();
      if (!loaded.ok) return { ok: false, error: loaded.error };
      const result = await runToolCopy({ repoDir: runDir, code: loaded.code, metadata, input, ...access, ...(signal ? { signal } : {}) });
      return result.ok ? { ok: true, output: result.output } : { ok: false, error: `${spec.name} failed (${result.reason}): ${result.error}` };
    },
  };
}

/**
 * The promoted tools of a checkout's working tree (`tools/generated/`), hash-checked now and again at each call,
 * run in `access`'s sandbox under its policy.
 */
export function promotedEntries(repoDir: string, access: SandboxAccess, onSkip: (name: string, problem: string) => void = () => {}): McpToolEntry[] {
  return promotedToolsIn(repoDir, onSkip).map((tool) =>
    generatedEntry(
      tool.metadata,
      "",
      repoDir,
      async () => {
        const verified = verifiedToolCode(tool);
        return verified.ok ? verified : { ok: false, error: changedFileProblem(tool.name, verified.file) };
      },
      access,
      async () => promotedFiles(repoDir, tool.name, tool.metadata),
    ),
  );
}

/** A promoted tool's three files as they are now, when they still match the metadata it was listed with. */
function promotedFiles(
  repoDir: string,
  name: string,
  listed: ToolMetadata,
): { ok: true; source: string; tests: string; metadata: string } | { ok: false; error: string } {
  const folder = join(GENERATED_TOOLS_DIR, name);
  try {
    // From the root, following no link (`tools/` included), not blocking, bounded: the folder is a model's work.
    const metadata = readSandboxFile(repoDir, join(folder, "metadata.json"), MAX_METADATA_BYTES)?.toString("utf8");
    const source = readSandboxFile(repoDir, join(folder, "tool.ts"), MAX_SOURCE_BYTES)?.toString("utf8");
    const tests = readSandboxFile(repoDir, join(folder, "tool.test.ts"), MAX_SOURCE_BYTES)?.toString("utf8");
    if (metadata === undefined || source === undefined || tests === undefined) {
      return { ok: false, error: `${GENERATED_TOOLS_DIR}/${name}/ lacks one of its files now (a rollback?); list the resources again` };
    }
    if (sha256Hex(source) !== listed.files["tool.ts"] || sha256Hex(tests) !== listed.files["tool.test.ts"]) {
      return { ok: false, error: `${GENERATED_TOOLS_DIR}/${name}/ changed since it was listed; list the resources again` };
    }
    return { ok: true, source, tests, metadata };
  } catch (error) {
    if (error instanceof SandboxFileError) return { ok: false, error: error.message };
    throw error;
  }
}

/**
 * Every generated tool at a commit, read through git (nothing checked out): metadata validated, tool.ts and
 * tool.test.ts hashed against it. Runs copy the checked code; the commit is fixed, so it cannot change after.
 */
export async function entriesAtCommit(
  git: RepoGit,
  commit: string,
  label: string,
  access: SandboxAccess,
  onSkip: (name: string, problem: string) => void = () => {},
  signal?: AbortSignal,
): Promise<McpToolEntry[]> {
  if (!isObjectId(commit)) throw new Error(`not a commit id: ${commit}`);
  const blobs = new Map<string, { blob: string; size: number }>();
  for (const { mode, type, id, size, path } of await git.treeEntries(commit, {
    recursive: true,
    sizes: true,
    paths: [`${GENERATED_TOOLS_DIR}/`],
    signal,
  })) {
    if (mode === "100644" && type === "blob") blobs.set(path, { blob: id, size: size ?? 0 });
  }
  const names = [...new Set([...blobs.keys()].map((path) => path.split("/")[2] ?? ""))].filter((name) => TOOL_NAME_PATTERN.test(name)).sort();
  const entries: McpToolEntry[] = [];
  for (const name of names) {
    const file = (which: "tool.ts" | "tool.test.ts" | "metadata.json") => blobs.get(generatedToolPath(name, which));
    const meta = file("metadata.json");
    const tool = file("tool.ts");
    const tests = file("tool.test.ts");
    if (!meta || !tool || !tests) {
      onSkip(name, `${label}: ${GENERATED_TOOLS_DIR}/${name}/ lacks metadata.json, tool.ts or tool.test.ts as regular files`);
      continue;
    }
    try {
      if (meta.size > MAX_METADATA_BYTES) throw new Error(`metadata.json has ${meta.size} bytes, more than ${MAX_METADATA_BYTES}`);
      const metadataText = await git.readBlob(meta.blob, signal);
      const metadata = parseToolMetadata(metadataText, `${label}:${generatedToolPath(name, "metadata.json")}`);
      if (metadata.spec.name !== name) throw new Error(`metadata.json names ${metadata.spec.name}, not ${name}`);
      const code = await git.readBlob(tool.blob, signal);
      const testCode = await git.readBlob(tests.blob, signal);
      if (sha256Hex(code) !== metadata.files["tool.ts"] || sha256Hex(testCode) !== metadata.files["tool.test.ts"]) {
        throw new Error("its files do not match the hashes recorded at validation");
      }
      const files = { ok: true as const, source: code, tests: testCode, metadata: metadataText };
      entries.push(
        generatedEntry(
          metadata,
          ` from ${label}`,
          git.repoDir,
          async () => ({ ok: true, code }),
          access,
          async () => files,
        ),
      );
    } catch (error) {
      onSkip(name, error instanceof Error ? error.message : String(error));
    }
  }
  return entries;
}

/**
 * Every workflow file in `<workspaceDir>/workflows/`, then in each of `toolRoots`' (the checkout whose promoted tools
 * and workflows are offered), as a tool named after the file (without `.json`; the first folder to have a name wins);
 * it runs like `workflow_run`: checked first, each step's tool in the sandbox, tools from the workspace, then `toolRoots`.
 */
export function workflowEntries(
  workspaceDir: string,
  toolRoots: readonly string[],
  access: SandboxAccess,
  onSkip: (name: string, problem: string) => void = () => {},
): McpToolEntry[] {
  const roots = [...new Set([workspaceDir, ...toolRoots])];
  const seen = new Set<string>();
  return roots.flatMap((root) => {
    const entries = workflowEntriesIn(root, { scratchOf: workspaceDir, roots }, access, onSkip).filter((entry) => !seen.has(entry.name));
    for (const entry of entries) seen.add(entry.name);
    return entries;
  });
}

/** The workflows of one folder's `workflows/`, read within that folder, their tools looked up in `roots`, run with the workspace's scratch. */
function workflowEntriesIn(
  workspaceDir: string,
  { scratchOf, roots }: { scratchOf: string; roots: readonly string[] },
  access: SandboxAccess,
  onSkip: (name: string, problem: string) => void,
): McpToolEntry[] {
  const folder = workflowsFolder(workspaceDir);
  // Served only from a real folder: `workflows -> wf` would serve what no check saw as workflows/*.json.
  const linked = linkOnTheWay(workspaceDir, WORKFLOWS_DIR);
  if (linked !== undefined) {
    onSkip(WORKFLOWS_DIR, linkedFolderProblem(WORKFLOWS_DIR, linked));
    return [];
  }
  const scratchDir = scratchDirFor({ workspaceDir: scratchOf, sessionId: "mcp" });
  const tools = generatedToolCaller({ roots, scratchDir, ...access });
  const entries: McpToolEntry[] = [];
  for (const file of workflowFiles(workspaceDir)) {
    const name = file.replace(/\.json$/, "");
    const path = join(folder, file);
    if (!MCP_TOOL_NAME.test(name)) {
      onSkip(file, "its name is not a valid MCP tool name (letters, digits, _ - . only, at most 64)");
      continue;
    }
    try {
      // One read for the listing; every call reads and checks the file again.
      const graph = loadWorkflowGraph(path, { within: workspaceDir, checkTool: tools.checkTool });
      const workflow = graph.workflows.get(graph.root);
      if (!workflow) continue;
      entries.push({
        name,
        kind: "workflow",
        description:
          `${workflow.description ?? workflow.name} (a workflow, workflows/${file}: ` +
          `${workflow.steps.length} step(s), each tool run in org's sandbox)`,
        inputSchema: workflow.inputs,
        wrapsOutput: false,
        annotations: { title: workflow.name, readOnlyHint: true, destructiveHint: false, idempotentHint: false, openWorldHint: false },
        signature: `workflow:${name}:${sha256Hex(JSON.stringify(workflow))}`,
        async documents() {
          return { ok: true, documents: { workflow: `${JSON.stringify(workflow, null, 2)}\n` } };
        },
        async run(input, signal, onStep) {
          const fresh = generatedToolCaller({ roots, scratchDir, ...access });
          // Read again as listed: through real folders, the file itself no link.
          const link = linkOnTheWay(workspaceDir, `${WORKFLOWS_DIR}/${file}`);
          if (link !== undefined) return { ok: false, error: linkedFolderProblem(WORKFLOWS_DIR, link) };
          try {
            const checkedGraph = loadWorkflowGraph(path, { within: workspaceDir, checkTool: fresh.checkTool });
            const output = await runWorkflow(checkedGraph, input, {
              callTool: fresh.callTool,
              ...(signal ? { signal } : {}),
              ...(onStep ? { onStep: (event) => onStep(`step ${event.step} ${event.status}`) } : {}),
            });
            const text = redact(JSON.stringify(output ?? null));
            try {
              const output: unknown = JSON.parse(text);
              return { ok: true, output };
            } catch {
              return { ok: true, output: text };
            }
          } catch (error) {
            if (error instanceof WorkflowError) return { ok: false, error: redact(error.message) };
            throw error;
          }
        },
      });
    } catch (error) {
      onSkip(file, error instanceof Error ? error.message : String(error));
    }
  }
  return entries;
}

/** The entries with one per name: the first wins (generated tools before workflows); a later one is reported. */
export function uniqueEntries(entries: McpToolEntry[], onSkip: (name: string, problem: string) => void = () => {}): McpToolEntry[] {
  const seen = new Map<string, McpToolEntry>();
  for (const entry of entries) {
    const earlier = seen.get(entry.name);
    if (earlier) onSkip(entry.name, `a ${earlier.kind} tool already has this name`);
    else seen.set(entry.name, entry);
  }
  return [...seen.values()];
}
