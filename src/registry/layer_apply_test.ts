import { packTar, type TarEntry } from "modern-tar";
import { assert, assertEquals } from "../../tests/assert.ts";
import { applyLayer, resolveInRoot } from "./layer_apply.ts";

const file = (name: string, text: string, mode = 0o644): TarEntry => ({
  header: { name, type: "file", size: new TextEncoder().encode(text).length, mode },
  body: text,
});

async function apply(root: string, entries: TarEntry[]): Promise<void> {
  const tar = await packTar(entries);
  await applyLayer(root, new Blob([tar]).stream());
}

Deno.test("applyLayer() keeps every write inside the root, following the image's own symlinks", async () => {
  const root = await Deno.makeTempDir();
  const outside = await Deno.makeTempDir();
  try {
    await apply(root, [
      { header: { name: "usr/bin/", type: "directory", size: 0 } },
      // Absolute and escaping links name paths of the image, not of the host.
      { header: { name: "bin", type: "symlink", size: 0, linkname: "/usr/bin" } },
      { header: { name: "up", type: "symlink", size: 0, linkname: `../../../..${outside}` } },
    ]);
    await apply(root, [file("bin/tool", "#!/bin/sh\n", 0o755), file("up/escaped", "x")]);
    assertEquals(await Deno.readTextFile(`${root}/usr/bin/tool`), "#!/bin/sh\n");
    assertEquals((await Deno.stat(`${root}/usr/bin/tool`)).mode! & 0o777, 0o755);
    assertEquals(await resolveInRoot(root, "bin/tool"), `${root}/usr/bin/tool`);
    assertEquals([...Deno.readDirSync(outside)].length, 0, "nothing written outside the root");
    assert(await resolveInRoot(root, `${outside.slice(1)}/escaped`));
  } finally {
    await Deno.remove(root, { recursive: true });
    await Deno.remove(outside, { recursive: true });
  }
});

Deno.test("applyLayer() honours whiteouts and opaque folders, and replaces hard-linked files", async () => {
  const root = await Deno.makeTempDir();
  try {
    await apply(root, [
      file("etc/a.conf", "a"),
      file("etc/keep.conf", "k"),
      file("var/lib/x", "x"),
      file("var/lib/sub/y", "y"),
      { header: { name: "etc/hard", type: "link", size: 0, linkname: "etc/keep.conf" } },
    ]);
    await apply(root, [
      file("etc/.wh.a.conf", ""),
      file("var/lib/new", "n"),
      file("var/lib/.wh..wh..opq", ""),
      file("etc/hard", "replaced"),
    ]);
    assertEquals(await resolveInRoot(root, "etc/a.conf"), undefined);
    assertEquals(await Deno.readTextFile(`${root}/etc/keep.conf`), "k");
    assertEquals(await Deno.readTextFile(`${root}/etc/hard`), "replaced");
    assertEquals([...Deno.readDirSync(`${root}/var/lib`)].map((e) => e.name), ["new"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
