/**
 * An image of the flowctl-sdk v1 fixture for container mode (FROM scratch): this machine's node
 * with the libraries it links, tests/fixtures/sdk_component.cjs, the grpc-js packages of
 * tests/interop and the protos, laid out as in the checkout under /app.
 */
import { DockerClient } from "../src/docker/docker_client.ts";
import { buildImage } from "../src/docker/image_api.ts";
import { createTar, type TarEntry } from "../src/docker/tar.ts";
import { ROOT } from "./_helpers.ts";

export const SDK_IMAGE = "flowctl-test/sdk-node:1";

/** Builds SDK_IMAGE in the local engine, or in the engine at `dockerHost`. */
export async function buildSdkImage(dockerHost?: string): Promise<void> {
  const node = Deno.realPathSync((await output("sh", ["-c", "command -v node"])).trim());
  const libraries = (await output("ldd", [node])).split("\n")
    .map((line) => /(\/\S+) \(0x/.exec(line)?.[1])
    .filter((path): path is string => path !== undefined);
  const entries: TarEntry[] = [
    {
      path: "Dockerfile",
      data: new TextEncoder().encode(
        "FROM scratch\nCOPY root/ /\n" +
          'ENTRYPOINT ["/usr/bin/node", "/app/tests/fixtures/sdk_component.cjs"]\n',
      ),
    },
    { path: "root/usr/bin/node", data: await Deno.readFile(node), mode: 0o755 },
    ...await Promise.all(libraries.map(async (path) => ({
      path: `root${path}`,
      data: await Deno.readFile(Deno.realPathSync(path)),
      mode: 0o755,
    }))),
    {
      path: "root/app/tests/fixtures/sdk_component.cjs",
      data: await Deno.readFile(`${ROOT}tests/fixtures/sdk_component.cjs`),
    },
    {
      path: "root/app/tests/interop/package.json",
      data: await Deno.readFile(`${ROOT}tests/interop/package.json`),
    },
    ...await filesUnder(`${ROOT}tests/interop/node_modules`, "root/app/tests/interop/node_modules"),
    ...await filesUnder(`${ROOT}proto`, "root/app/proto"),
    { path: "root/tmp" },
  ];
  using docker = await DockerClient.connect(dockerHost);
  await buildImage(docker, createTar(entries), SDK_IMAGE);
}

async function filesUnder(dir: string, as: string): Promise<TarEntry[]> {
  const entries: TarEntry[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) entries.push(...await filesUnder(path, `${as}/${entry.name}`));
    else if (entry.isFile) {
      entries.push({ path: `${as}/${entry.name}`, data: await Deno.readFile(path) });
    } else if (entry.isSymlink) {
      const target = Deno.realPathSync(path);
      if (Deno.statSync(target).isFile) {
        entries.push({
          path: `${as}/${entry.name}`,
          data: await Deno.readFile(target),
          mode: 0o755,
        });
      }
    }
  }
  return entries;
}

async function output(program: string, args: string[]): Promise<string> {
  const { stdout } = await new Deno.Command(program, { args, stdout: "piped", stderr: "null" })
    .output();
  return new TextDecoder().decode(stdout);
}
