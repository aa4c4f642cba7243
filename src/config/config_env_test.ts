import { assertEquals } from "../../tests/assert.ts";
import { configEnv, upperSnakeCase } from "./config_env.ts";

Deno.test("upperSnakeCase() names variables as the Go flowctl does", () => {
  const cases: [string, string][] = [
    ["network_passphrase", "NETWORK_PASSPHRASE"],
    ["startLedger", "START_LEDGER"],
    ["rpc-endpoint", "RPC_ENDPOINT"],
    ["HTTPServer", "HTTP_SERVER"],
    ["already_UPPER", "ALREADY_UPPER"],
    ["v2Api", "V2_API"],
  ];
  for (const [key, name] of cases) assertEquals(upperSnakeCase(key), name, key);
});

Deno.test("configEnv() takes env_mapping, then config_schema, then UPPER_SNAKE_CASE", () => {
  const config = { network_passphrase: "Test", startLedger: "5", db: "x.duckdb" };
  assertEquals(configEnv(config), {
    NETWORK_PASSPHRASE: "Test",
    START_LEDGER: "5",
    DB: "x.duckdb",
  });
  assertEquals(
    configEnv(config, {
      envMapping: { network_passphrase: "STELLAR_NETWORK" },
      configSchema: { network_passphrase: { env: "IGNORED" }, db: { env: "DATABASE_PATH" } },
    }),
    { STELLAR_NETWORK: "Test", START_LEDGER: "5", DATABASE_PATH: "x.duckdb" },
  );
});
