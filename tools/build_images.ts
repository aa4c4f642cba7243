/**
 * `deno task images`: builds the example's container images locally, without any registry,
 * through the engine's /build endpoint. Each image is FROM scratch: the host's `deno` or `node`
 * binary with the shared libraries it links, and the component's code (Deno components as one
 * bundled file).
 */
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { DockerClient } from "../src/docker/docker_client.ts";
import { buildImage } from "../src/docker/image_api.ts";
import { createTar, type TarEntry } from "../src/docker/tar.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const EXAMPLE = join(ROOT, "examples/ttp");
const encoder = new TextEncoder();

async function run(command: string, args: string[], cwd = ROOT): Promise<string> {
  const { code, stdout, stderr } = await new Deno.Command(command, {
    args,
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    throw new Error(`${command} ${args.join(" ")} failed: ${new TextDecoder().decode(stderr)}`);
  }
  return new TextDecoder().decode(stdout);
}

/** A binary and every shared library `ldd` says it loads, at their paths. */
async function binaryWithLibraries(binary: string, imagePath: string): Promise<TarEntry[]> {
  const entries: TarEntry[] = [{
    path: imagePath.slice(1),
    data: await Deno.readFile(binary),
    mode: 0o755,
  }];
  for (const line of (await run("ldd", [binary])).split("\n")) {
    const path = /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line)?.[1];
    if (path) entries.push({ path: path.slice(1), data: await Deno.readFile(path), mode: 0o755 });
  }
  return entries;
}

async function folder(source: string, target: string): Promise<TarEntry[]> {
  const entries: TarEntry[] = [];
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(dir)) {
      const full = join(dir, entry.name);
      const inImage = join(target, relative(source, full));
      if (entry.isDirectory) {
        entries.push({ path: inImage });
        await walk(full);
      } else if (entry.isFile) {
        const mode = (await Deno.stat(full)).mode ?? 0o644;
        entries.push({ path: inImage, data: await Deno.readFile(full), mode: mode & 0o777 });
      }
    }
  };
  entries.push({ path: target });
  await walk(source);
  return entries;
}

async function build(
  docker: DockerClient,
  tag: string,
  dockerfile: string,
  files: TarEntry[],
): Promise<void> {
  const started = performance.now();
  const context = createTar([{ path: "Dockerfile", data: encoder.encode(dockerfile) }, ...files]);
  await buildImage(docker, context, tag);
  console.log(
    `built ${tag} (${(context.length / 1024 / 1024).toFixed(0)} MB context, ${
      ((performance.now() - started) / 1000).toFixed(1)
    }s)`,
  );
}

async function bundle(entry: string): Promise<Uint8Array> {
  const out = await Deno.makeTempFile({ suffix: ".js" });
  await run(Deno.execPath(), ["bundle", "--quiet", "--platform", "deno", "-o", out, entry]);
  const data = await Deno.readFile(out);
  await Deno.remove(out);
  return data;
}

const denoBinary = await Deno.realPath(Deno.execPath());
const nodeBinary = await Deno.realPath((await run("sh", ["-c", "command -v node"])).trim());
await run("bash", ["tools/prepare.sh"]);

using docker = await DockerClient.connect();
await build(
  docker,
  "flowctl-example/deno-runtime:latest",
  "FROM scratch\nCOPY rootfs/ /\nENV DENO_DIR=/tmp/deno HOME=/tmp NO_COLOR=1\n",
  [
    { path: "rootfs/tmp", mode: 0o1777 },
    ...(await binaryWithLibraries(denoBinary, "/usr/bin/deno")).map((e) => ({
      ...e,
      path: `rootfs/${e.path}`,
    })),
  ],
);
await build(
  docker,
  "flowctl-example/stellar-live-source-datalake:latest",
  'FROM flowctl-example/deno-runtime:latest\nCOPY app/ /app/\nWORKDIR /app\nENTRYPOINT ["/usr/bin/deno", "run", "-A", "--quiet", "/app/main.js"]\n',
  [
    { path: "app/main.js", data: await bundle("examples/ttp/components/source/main.ts") },
    ...await folder(join(EXAMPLE, "datalake"), "app/datalake"),
  ],
);
await build(
  docker,
  "flowctl-example/ttp-processor:latest",
  'FROM flowctl-example/deno-runtime:latest\nCOPY app/ /app/\nWORKDIR /app\nENTRYPOINT ["/usr/bin/deno", "run", "-A", "--quiet", "/app/main.js"]\n',
  [{ path: "app/main.js", data: await bundle("examples/ttp/components/processor/main.ts") }],
);
const consumer = join(EXAMPLE, "consumer_app/node");
await build(
  docker,
  "flowctl-example/consumer-app:latest",
  'FROM scratch\nCOPY rootfs/ /\nENV HOME=/tmp\nWORKDIR /app/consumer_app/node\nENTRYPOINT ["/usr/bin/node", "index.js", "1", "0"]\n',
  [
    { path: "rootfs/tmp", mode: 0o1777 },
    ...(await binaryWithLibraries(nodeBinary, "/usr/bin/node")).map((e) => ({
      ...e,
      path: `rootfs/${e.path}`,
    })),
    ...await folder(consumer, "rootfs/app/consumer_app/node"),
    // The consumer loads the event service's .proto files from ../../proto, as in the checkout.
    ...await folder(join(EXAMPLE, "proto"), "rootfs/app/proto"),
  ],
);
