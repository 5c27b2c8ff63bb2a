import { withoutUserinfo } from "../llm/server-url.ts";
import { ModelListError } from "../llm/list-models.ts";
import type { Persona } from "../personas/persona.ts";
import type { RoomEvent } from "./room-event.ts";
import { OrgError } from "../errors/org-error.ts";

/** The server does not have the model asked for; the message lists what it has. */
export class ModelNotAvailableError extends OrgError {
  override name = "ModelNotAvailableError";
  constructor(
    message: string,
    readonly available: string[],
  ) {
    super(withoutUserinfo(message));
  }
}

/**
 * Switches a persona to `modelId` after checking its server's /v1/models (`name` finds `name:latest`).
 * A server that answers without a model list gets the switch anyway, with a notice; one that has the
 * list but not the model throws ModelNotAvailableError; one that does not answer throws ModelListError.
 */
export async function switchModel(
  model: Persona,
  modelId: string,
  options: { signal?: AbortSignal | undefined; emit(event: RoomEvent): void },
): Promise<void> {
  const { emit } = options;
  const persona = model.name;
  let available: string[];
  try {
    available = await model.languageModel.listModels(options.signal);
  } catch (error) {
    if (!(error instanceof ModelListError) || error.reason !== "no-list") throw error;
    // Chat may work on a server that lists no models (some proxies and gateways): switch, and say it was not checked.
    model.languageModel = model.languageModel.withModelId(modelId, "/use");
    emit({
      type: "notice",
      persona,
      reason: "model-list",
      message: `${persona} now uses "${modelId}", unchecked: ${error.message} If the server lacks it, ${persona}'s next reply will say so.`,
    });
    emit({ type: "model-changed", persona, model: modelId });
    return;
  }
  const match = available.find((id) => id === modelId) ?? available.find((id) => id === `${modelId}:latest`);
  if (!match) {
    throw new ModelNotAvailableError(
      `model "${modelId}" is not on ${model.languageModel.server}. It has: ${
        available.join(", ") || "no " + "models"
      }. Pull it first (ollama pull ${modelId}) or pick one of those.`,
      available,
    );
  }
  model.languageModel = model.languageModel.withModelId(match, "/use");
  emit({ type: "model-changed", persona, model: match });
}
