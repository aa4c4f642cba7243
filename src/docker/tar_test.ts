import { assertEquals } from "../../tests/assert.ts";
import { createTar } from "./tar.ts";

Deno.test("createTar() writes archives that tar reads back", async () => {
  const long = `${"deep/".repeat(30)}file.txt`;
  const archive = createTar([
    { path: "app" },
    { path: "app/run.sh", data: new TextEncoder().encode("echo hi\n"), mode: 0o755 },
    { path: long, data: new TextEncoder().encode("x") },
  ]);
  const dir = await Deno.makeTempDir();
  await Deno.writeFile(`${dir}/a.tar`, archive);
  const { code } = await new Deno.Command("tar", { args: ["-xf", "a.tar"], cwd: dir }).output();
  assertEquals(code, 0);
  assertEquals(await Deno.readTextFile(`${dir}/app/run.sh`), "echo hi\n");
  assertEquals(((await Deno.stat(`${dir}/app/run.sh`)).mode ?? 0) & 0o777, 0o755);
  assertEquals(await Deno.readTextFile(`${dir}/${long}`), "x");
  await Deno.remove(dir, { recursive: true });
});
