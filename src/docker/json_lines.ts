/** The Engine API's progress streams: one JSON object per line (pull, build). */
import { DockerApiError } from "./docker_errors.ts";

/** Reads a progress stream of JSON lines; an `error` line becomes a DockerApiError. */
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
      try {
        const event = JSON.parse(line) as {
          error?: string;
          status?: string;
          stream?: string;
          progress?: string;
        };
        if (event.error) failure = event.error;
        const text = event.stream ?? [event.status, event.progress].filter(Boolean).join(" ");
        if (text.trim()) onProgress?.(text.trimEnd());
      } catch {
        onProgress?.(line);
      }
    }
  }
  if (failure) throw new DockerApiError(response.status, method, path, failure);
}
