/** The Engine API's images: present, pullable, pulled, built; progress read as JSON lines. */
import * as v from "valibot";
import type { DockerClient } from "./docker_client.ts";
import { DockerApiError } from "./docker_errors.ts";
import { safeJson } from "../safe_json.ts";

/** Whether the engine has the image `reference`. */
export async function imageExists(docker: DockerClient, reference: string): Promise<boolean> {
  const response = await docker.request("GET", `/images/${encodeURIComponent(reference)}/json`, {
    accept: [404],
  });
  await response.body?.cancel();
  return response.status !== 404;
}

/**
 * Asks the image's registry, through the engine, whether it can be pulled, without pulling.
 * @throws {DockerApiError} with the engine's message when it cannot.
 */
export async function checkPullable(
  docker: DockerClient,
  reference: string,
  signal?: AbortSignal,
): Promise<void> {
  const response = await docker.request(
    "GET",
    `/distribution/${encodeURIComponent(reference)}/json`,
    signal ? { signal } : {},
  );
  await response.body?.cancel();
}

/**
 * Pulls an image, reporting progress lines.
 * @throws {DockerApiError} with the engine's message when the pull fails.
 */
export async function pullImage(
  docker: DockerClient,
  reference: string,
  options: { onProgress?: (line: string) => void; signal?: AbortSignal } = {},
): Promise<void> {
  const { onProgress, signal } = options;
  const [name, tag] = splitReference(reference);
  const response = await docker.request("POST", "/images/create", {
    query: { fromImage: name, tag },
    ...(signal ? { signal } : {}),
  });
  await readJsonLines(response, "POST", "/images/create", onProgress);
}

/** Builds an image from a tar build context. */
export async function buildImage(
  docker: DockerClient,
  context: Uint8Array<ArrayBuffer>,
  tag: string,
  onProgress?: (line: string) => void,
): Promise<void> {
  const response = await docker.request("POST", "/build", {
    query: { t: tag, rm: true, forcerm: true },
    headers: { "content-type": "application/x-tar" },
    body: context,
  });
  await readJsonLines(response, "POST", "/build", onProgress);
}

/** A line of the engine's pull or build progress; other fields (ids, details) are not shown. */
const ProgressLineSchema = v.object({
  error: v.optional(v.string()),
  status: v.optional(v.string()),
  stream: v.optional(v.string()),
  progress: v.optional(v.string()),
});

/**
 * Reads a progress stream of JSON lines, giving each one's text to `onProgress` (a line that is
 * not such JSON as it came); an `error` line becomes a DockerApiError once the stream ends.
 */
export async function readJsonLines(
  response: Response,
  method: string,
  path: string,
  onProgress?: (line: string) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  let buffer = "";
  let failure: string | undefined;
  for await (const chunk of response.body ?? []) {
    buffer += decoder.decode(chunk, { stream: true });
    let newline;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, newline).trim();
      buffer = buffer.slice(newline + 1);
      if (!line) continue;
      const parsed = v.safeParse(ProgressLineSchema, safeJson(line));
      if (!parsed.success) {
        onProgress?.(line);
        continue;
      }
      const event = parsed.output;
      if (event.error) failure = event.error;
      const text = event.stream ?? [event.status, event.progress].filter(Boolean).join(" ");
      if (text.trim()) onProgress?.(text.trimEnd());
    }
  }
  if (failure) throw new DockerApiError(response.status, method, path, failure);
}

function splitReference(reference: string): [string, string] {
  const at = reference.lastIndexOf(":");
  if (at > reference.lastIndexOf("/") && at > 0) {
    return [reference.slice(0, at), reference.slice(at + 1)];
  }
  return [reference, "latest"];
}
