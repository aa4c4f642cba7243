/** The commands' help texts and the README agree: every option a help text names is documented. */
import { assertEquals } from "./assert.ts";
import { commands } from "../src/cli/commands.ts";
import { ROOT } from "./_helpers.ts";

/** `--log-dir`, `-f`: options as help texts write them (not `--` alone, not words like `e-mail`). */
const OPTION = /(?<![\w-])(--[a-z][a-z0-9-]*|-[a-zA-Z])(?![\w-])/g;

Deno.test("every option in a command's --help appears in the README", async () => {
  const readme = await Deno.readTextFile(`${ROOT}README.md`);
  const missing: string[] = [];
  for (const command of commands.filter((c) => !c.hidden)) {
    const { help } = await command.load();
    for (const [option] of help.matchAll(OPTION)) {
      const documented = new RegExp(`(?<![\\w-])${option}(?![\\w-])`).test(readme);
      if (!documented) missing.push(`flowctl ${command.name} ${option}`);
    }
  }
  assertEquals([...new Set(missing)], []);
});

Deno.test("every command's --help ends with its exit codes", async () => {
  const without: string[] = [];
  for (const command of commands.filter((c) => !c.hidden)) {
    const { help } = await command.load();
    if (!/\nExit codes: [^\n]+(\n[^\n]+)*$/.test(help.trimEnd())) without.push(command.name);
  }
  assertEquals(without, []);
});
