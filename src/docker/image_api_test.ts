import { assert, assertEquals, assertRejects } from "../../tests/assert.ts";
import { DockerApiError } from "./docker_errors.ts";
import { readJsonLines } from "./image_api.ts";

/** A progress stream as the engine sends it: lines split across chunks. */
function progress(text: string, chunk = 7): Response {
  const bytes = new TextEncoder().encode(text);
  return new Response(
    new ReadableStream({
      start(controller) {
        for (let at = 0; at < bytes.length; at += chunk) {
          controller.enqueue(bytes.subarray(at, at + chunk));
        }
        controller.close();
      },
    }),
  );
}

Deno.test("readJsonLines() shows each progress line's text, and a line that is not such JSON as it is", async () => {
  const shown: string[] = [];
  await readJsonLines(
    progress(
      [
        '{"status":"Pulling from library/busybox","id":"latest"}',
        '{"status":"Downloading","progress":"[=>   ] 1MB/4MB","progressDetail":{"current":1}}',
        '{"stream":"Step 1/2 : FROM scratch\\n"}',
        "not json at all",
        '{"status":42}',
        "",
        '{"aux":{"ID":"sha256:abc"}}',
      ].join("\n") + "\n",
    ),
    "POST",
    "/images/create",
    (line) => shown.push(line),
  );
  assertEquals(shown, [
    "Pulling from library/busybox",
    "Downloading [=>   ] 1MB/4MB",
    "Step 1/2 : FROM scratch",
    "not json at all",
    '{"status":42}',
  ]);
});

Deno.test("readJsonLines() fails with the engine's error once the stream ends", async () => {
  const shown: string[] = [];
  const error = await assertRejects(
    () =>
      readJsonLines(
        progress(
          '{"status":"Pulling"}\n{"errorDetail":{"message":"denied"},"error":"denied: no access"}\n',
        ),
        "POST",
        "/images/create",
        (line) => shown.push(line),
      ),
    DockerApiError,
  );
  assert(error instanceof DockerApiError);
  assertEquals(error.engineMessage, "denied: no access");
  assertEquals(shown, ["Pulling"]);
});
