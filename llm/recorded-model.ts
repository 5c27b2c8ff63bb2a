import { z } from "zod";
import type { LanguageModel } from "./language-model.ts";
import { displayUrl } from "./server-url.ts";

/** A server URL as a record keeps it: no user name or password (see `recordableServerUrl`). */
export const RecordedServerUrl = z.url().refine((text) => {
  const url = new URL(text);
  return url.username === "" && url.password === "";
}, "must not carry credentials");

/** Which model, at which server, made something: the fields a record (a tool's metadata.json) keeps. */
export const RecordedModelFields = { model: z.string().min(1).max(200), baseUrl: RecordedServerUrl } as const;
export type RecordedModel = { model: string; baseUrl: string };

/** A server URL fit to record: user name, password, query and fragment removed. */
export function recordableServerUrl(server: string): string {
  const url = new URL(displayUrl(server));
  url.search = "";
  url.hash = "";
  return url.toString().replace(/\/+$/, "");
}

/** The record of the model a port talks to. */
export function recordedModel(model: LanguageModel): RecordedModel {
  return { model: model.modelId, baseUrl: recordableServerUrl(model.server) };
}

/** `model at server`, as org shows a record's model in trailers and summaries. */
export function describeRecordedModel(record: RecordedModel): string {
  return `${record.model} at ${record.baseUrl}`;
}
